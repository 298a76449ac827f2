/**
 * The two worlds the adapter suites run every scenario in: kernel sockets
 * on 127.0.0.1, and two Stacks over a Link on a real-time Poll (which the
 * adapters' driver polls).
 */
import { Link, Poll, Stack, kernel, type Network } from "../../src/index.js";

export interface World {
  name: string;
  server: Network;
  client: Network;
  /** the server side's address */
  host: string;
  /** `"host:port"` on the server side */
  addr(port?: number): string;
}

export function kernelWorld(): World {
  return { name: "kernel", server: kernel, client: kernel, host: "127.0.0.1", addr: (port = 0) => `127.0.0.1:${port}` };
}

/** Client 10.0.0.1, server 10.0.0.2; `cleanups` gets what closes them. */
export function virtualWorld(cleanups: Array<() => void>): World {
  const poll = new Poll();
  const link = new Link({ mtu: 1500 });
  const client = new Stack({ poll, device: link.a, addresses: ["10.0.0.1/24"] });
  const server = new Stack({ poll, device: link.b, addresses: ["10.0.0.2/24"] });
  cleanups.push(() => {
    client.close();
    server.close();
    poll.close();
  });
  return { name: "virtual", server, client, host: "10.0.0.2", addr: (port = 0) => `10.0.0.2:${port}` };
}
