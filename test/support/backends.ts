/**
 * The backends the TCP/UDP scenarios run against. Today: the kernel over
 * loopback. The userspace stack (virtual↔virtual over a Link) and the TUN
 * (kernel↔virtual) join this list in later issues; scenarios written against
 * `Backend` run on all of them unchanged.
 */
import { Poll, kernel, type Network } from "../../src/index.js";

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

export const backends: Backend[] = [kernelBackend];
