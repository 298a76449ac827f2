/**
 * The backends the TCP/UDP scenarios run against: the kernel over loopback,
 * the userspace stack (two Stacks over a Link, in virtual time), and the
 * kernel and a Stack talking through a TUN device in a private network
 * namespace (real time), in both directions. Scenarios written against
 * `Backend` run on all of them unchanged.
 */
import { afterAll, onTestFinished } from "vitest";
import { Link, Poll, SimClock, Stack, TunDevice, enterFreshNetns, kernel, type Network } from "../../src/index.js";
import { selectorOf } from "../../src/poll/registry.js";
import { currentNetns, netnsUnavailable } from "./netns.js";

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

/** The kernel's side of the TUN interface and the Stack's side. */
const TUN_KERNEL = { ip4: "10.7.0.1", ip6: "fd07::1" };
const TUN_STACK = { ip4: "10.7.0.2", ip6: "fd07::2" };

/** `"ip:port"` for either family. */
function hostPort(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** A TUN device and the Stack on it. */
interface TunWorld {
  tun: TunDevice;
  stack: Stack;
}

/**
 * The TUN worlds of one test file (one process): the first use enters a
 * private network namespace, left again in the file's `afterAll` (registered
 * here, when the backends are made). Each test gets a fresh world: the TUN
 * device `tsmio0` (kernel side 10.7.0.1/24, fd07::1/64) and a real-time
 * Stack on it (10.7.0.2/24, fd07::2/64); both end with the test.
 */
function tunWorlds(): () => TunWorld {
  let restore: (() => void) | null = null;
  let w: TunWorld | null = null;
  const end = (): void => {
    if (w === null) return;
    w.stack.close();
    w.tun.close();
    w = null;
  };
  afterAll(() => {
    end();
    restore?.();
    restore = null;
  });
  return () => {
    if (w !== null) return w;
    if (restore === null) {
      const why = netnsUnavailable();
      if (why !== null) throw new Error(`${why} (CI is set, so the TUN backend must run)`);
      const host = currentNetns();
      restore = enterFreshNetns();
      // safety: never configure interfaces in the namespace we started in
      if (currentNetns() === host) throw new Error("entering a fresh network namespace left us in the host's");
    }
    const tun = new TunDevice({ name: "tsmio0" });
    try {
      tun.configure({ addresses: [`${TUN_KERNEL.ip4}/24`, `${TUN_KERNEL.ip6}/64`], up: true });
    } catch (e) {
      tun.close();
      throw e;
    }
    const stack = new Stack({ device: tun, addresses: [`${TUN_STACK.ip4}/24`, `${TUN_STACK.ip6}/64`] });
    onTestFinished(end);
    return (w = { tun, stack });
  };
}

/**
 * kernel↔virtual through a TUN device: `"tun"` has kernel clients and a
 * Stack server; `"tun-reverse"` a Stack client and kernel servers. Every
 * `newPoll()` is a real-clock Poll that watches the TUN descriptor and
 * drives the Stack, so whichever Poll a test or its peer waits on moves the
 * packets. Where namespaces or TUN devices are unavailable the backends are
 * left out with one line of explanation, or (with `CI` set) kept, so that
 * their tests fail.
 */
function tunBackends(): Backend[] {
  const why = netnsUnavailable();
  if (why !== null && !process.env.CI) {
    console.warn(`[tsmio] skipping the TUN backends: ${why}`);
    return [];
  }
  const world = tunWorlds();
  const make = (name: string, serverIsStack: boolean): Backend => {
    const serverIps = serverIsStack ? TUN_STACK : TUN_KERNEL;
    const clientIps = serverIsStack ? TUN_KERNEL : TUN_STACK;
    return {
      name,
      // the kernel's side too needs the world: its addresses are on the TUN
      get server(): Network {
        const { stack } = world();
        return serverIsStack ? stack : kernel;
      },
      get client(): Network {
        const { stack } = world();
        return serverIsStack ? kernel : stack;
      },
      ip4: serverIps.ip4,
      ip6: serverIps.ip6,
      newPoll() {
        const { tun, stack } = world();
        const poll = new Poll();
        selectorOf(poll.registry()).driveFd(tun.fd!, stack);
        return poll;
      },
      addr(port = 0, family = 4) {
        return hostPort(family === 4 ? serverIps.ip4 : serverIps.ip6, port);
      },
      clientAddr(port = 0, family = 4) {
        return hostPort(family === 4 ? clientIps.ip4 : clientIps.ip6, port);
      },
    };
  };
  return [make("tun", true), make("tun-reverse", false)];
}

const tun = tunBackends();

/** Backends for the TCP scenarios. */
export const backends: Backend[] = [kernelBackend, virtualBackend(), ...tun];

/** Backends for the UDP scenarios. */
export const udpBackends: Backend[] = [kernelBackend, virtualBackend(), ...tun];
