/**
 * The backends the TCP/UDP scenarios run against: the kernel over loopback,
 * and the userspace stack (two Stacks over a Link, in virtual time). The TUN
 * (kernel↔virtual) joins in a later issue; scenarios written against
 * `Backend` run on all of them unchanged.
 */
import { onTestFinished } from "vitest";
import { Link, Poll, SimClock, Stack, kernel, type Network } from "../../src/index.js";
import { selectorOf } from "../../src/poll/registry.js";

export interface Backend {
  /** name shown in test titles */
  name: string;
  /** where servers bind and clients connect from */
  server: Network;
  client: Network;
  /** IPv4 and IPv6 addresses of the server side (port to be appended) */
  ip4: string;
  ip6: string;
  /** a fresh Poll suitable for this backend */
  newPoll(): Poll;
  /** `"ip:port"` on the server side; port 0 picks a free port */
  addr(port?: number, family?: 4 | 6): string;
  /** `"ip:port"` on the client side, for sockets the client binds (UDP) */
  clientAddr(port?: number, family?: 4 | 6): string;
}

export const kernelBackend: Backend = {
  name: "kernel",
  server: kernel,
  client: kernel,
  ip4: "127.0.0.1",
  ip6: "::1",
  newPoll: () => new Poll(),
  addr(port = 0, family = 4) {
    return family === 4 ? `${this.ip4}:${port}` : `[${this.ip6}]:${port}`;
  },
  clientAddr(port = 0, family = 4) {
    return this.addr(port, family);
  },
};

/**
 * virtual↔virtual: a client Stack (10.0.0.1, fd00::1) and a server Stack
 * (10.0.0.2, fd00::2) over a fault-free Link, in virtual time. A test's
 * first use builds the world; every `newPoll()` (the test's, its peer's) is
 * a Poll on the world's SimClock that drives both stacks. The world ends
 * with the test.
 */
export function virtualBackend(): Backend {
  let w: { clock: SimClock; server: Stack; client: Stack } | null = null;
  const world = (): { clock: SimClock; server: Stack; client: Stack } => {
    if (w !== null) return w;
    const clock = new SimClock();
    const link = new Link({ mtu: 1500 });
    const client = new Stack({ clock, device: link.a, addresses: ["10.0.0.1/24", "fd00::1/64"] });
    const server = new Stack({ clock, device: link.b, addresses: ["10.0.0.2/24", "fd00::2/64"] });
    onTestFinished(() => {
      w = null;
    });
    return (w = { clock, server, client });
  };
  return {
    name: "virtual",
    get server(): Network {
      return world().server;
    },
    get client(): Network {
      return world().client;
    },
    ip4: "10.0.0.2",
    ip6: "fd00::2",
    newPoll() {
      const { clock, client, server } = world();
      const poll = new Poll({ clock });
      selectorOf(poll.registry()).drive(client);
      selectorOf(poll.registry()).drive(server);
      return poll;
    },
    addr(port = 0, family = 4) {
      return family === 4 ? `10.0.0.2:${port}` : `[fd00::2]:${port}`;
    },
    clientAddr(port = 0, family = 4) {
      return family === 4 ? `10.0.0.1:${port}` : `[fd00::1]:${port}`;
    },
  };
}

/** Backends for the TCP scenarios (the stack's TCP arrives in a later issue). */
export const backends: Backend[] = [kernelBackend, virtualBackend()];

/** Backends for the UDP scenarios. */
export const udpBackends: Backend[] = [kernelBackend, virtualBackend()];
