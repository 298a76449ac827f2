/**
 * Two stacks on one Link in virtual time, drawn as a sequence diagram and
 * captured: the bench of labs 4 and 6, stepped synchronously.
 */
import { SimClock } from "../poll/clock.js";
import { Events } from "../poll/event.js";
import { Poll } from "../poll/poll.js";
import { Link, type LinkOptions, PcapTap, Tracer } from "../stack/iface/index.js";
import { Stack } from "../stack/stack.js";
import type { TcpConfig } from "../stack/tcp/connection.js";
import { SequenceDiagram } from "./diagram.js";

/** Options of {@link twoHosts}. */
export interface TwoHostsOptions {
  /** Impairments and MTU of the link between the hosts (default: 1 ms each way, MTU 1500). */
  link?: LinkOptions;
  /** TCP settings of both stacks. */
  tcp?: Partial<TcpConfig>;
  /** Print each stack's TCP state changes and retransmissions (default true). */
  tcpEvents?: boolean;
}

/** Host `a` (10.0.0.1) and host `b` (10.0.0.2) on one link in virtual time, drawn and captured at `a`. */
export interface TwoHosts {
  readonly clock: SimClock;
  readonly poll: Poll;
  readonly link: Link;
  readonly a: Stack;
  readonly b: Stack;
  /** The pcap file of everything through `a`'s device. */
  readonly pcapPath: string;
  /** Runs the network for `ms` of virtual time. */
  run(ms: number): void;
  /** Runs until `done()` holds, at most `maxMs` of virtual time; returns whether it held. */
  until(done: () => boolean, maxMs?: number): boolean;
  /** Closes both stacks and the capture. */
  close(): void;
}

/** The address of host `a` in {@link twoHosts}. */
export const A_ADDR = "10.0.0.1";
/** The address of host `b` in {@link twoHosts}. */
export const B_ADDR = "10.0.0.2";

/**
 * Builds two stacks on a {@link Link} over a {@link SimClock}; every packet
 * through `a`'s device is drawn with a {@link SequenceDiagram} on `line` and
 * written to `pcapPath`.
 */
export function twoHosts(line: (text: string) => void, pcapPath: string, options: TwoHostsOptions = {}): TwoHosts {
  const clock = new SimClock();
  const poll = new Poll({ clock });
  const link = new Link({ delayMs: 1, mtu: 1500, ...options.link });
  const tap = new PcapTap(link.a, pcapPath);
  const diagram = new SequenceDiagram("a", "b", line);
  const tcp = options.tcp;
  const a = new Stack({ poll, device: new Tracer(tap, diagram.trace), addresses: [`${A_ADDR}/24`], seed: 1, ...(tcp ? { tcp } : {}) });
  const b = new Stack({ poll, device: link.b, addresses: [`${B_ADDR}/24`], seed: 2, ...(tcp ? { tcp } : {}) });
  if (options.tcpEvents !== false) {
    const stamp = (): string => `${clock.now().toFixed(3).padStart(10)} ms`;
    for (const [name, s] of [["a", a], ["b", b]] as const) {
      s.on("tcp-state", (e) => line(`${stamp()}  ${name}: ${e.from} → ${e.to}  (${e.local} ↔ ${e.remote})`));
      s.on("tcp-retransmit", (e) => line(`${stamp()}  ${name}: retransmission timer fired, resending ${e.length} bytes`));
    }
  }
  const events = new Events(64);
  const step = (end: number): void => {
    poll.poll(events, Math.max(0, end - clock.now()));
  };
  return {
    clock,
    poll,
    link,
    a,
    b,
    pcapPath,
    run(ms) {
      const end = clock.now() + ms;
      for (let i = 0; i < 100_000 && clock.now() < end; i++) step(end);
      if (ms === 0) step(end);
    },
    until(done, maxMs = 10_000) {
      const end = clock.now() + maxMs;
      for (let i = 0; i < 100_000; i++) {
        if (done()) return true;
        if (clock.now() >= end) return false;
        step(Math.min(end, clock.now() + 1));
      }
      return done();
    },
    close() {
      a.close();
      b.close();
      tap.close();
    },
  };
}
