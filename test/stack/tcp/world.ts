/**
 * Two Stacks talking TCP over a Link in virtual time, for the transfer and
 * lifecycle tests: a connected pair of streams, a bulk-transfer driver that
 * checks every byte, and logs of the stacks' "tcp-state" and
 * "tcp-retransmit" events.
 */
import { WOULD_BLOCK } from "../../../src/error.js";
import { Interest } from "../../../src/poll/interest.js";
import { Token } from "../../../src/poll/token.js";
import type { Device, LinkOptions } from "../../../src/stack/iface/index.js";
import type { StackOptions, TcpRetransmitEvent, TcpStateEvent } from "../../../src/stack/stack.js";
import type { VirtualTcpListener } from "../../../src/stack/tcp/listener.js";
import type { VirtualTcpStream } from "../../../src/stack/tcp/socket.js";
import { PEER4, PEER6, US4, US6, pair, type Pair } from "../helpers.js";

/** A Pair (a = 10.0.0.1 / fd00::1, b = 10.0.0.2 / fd00::2) with its TCP events recorded. */
export interface TcpWorld extends Pair {
  states: TcpStateEvent[];
  retransmits: TcpRetransmitEvent[];
  /** b's address and `port`, in `family` */
  addrB(port: number, family: 4 | 6): string;
  /** a's address and `port`, in `family` */
  addrA(port: number, family: 4 | 6): string;
}

export function tcpWorld(
  link: LinkOptions = {},
  wrap: { a?: (d: Device) => Device; b?: (d: Device) => Device } = {},
  stacks: { a?: Partial<StackOptions>; b?: Partial<StackOptions> } = {},
): TcpWorld {
  const p = pair({ link, wrapA: wrap.a, wrapB: wrap.b, a: stacks.a, b: stacks.b });
  const states: TcpStateEvent[] = [];
  const retransmits: TcpRetransmitEvent[] = [];
  for (const s of [p.a, p.b]) {
    s.on("tcp-state", (e) => states.push(e));
    s.on("tcp-retransmit", (e) => retransmits.push(e));
  }
  return {
    ...p,
    states,
    retransmits,
    addrB: (port, family) => (family === 4 ? `${US4}:${port}` : `[${US6}]:${port}`),
    addrA: (port, family) => (family === 4 ? `${PEER4}:${port}` : `[${PEER6}]:${port}`),
  };
}

/** The states one connection (named by its local address string) went through, in order. */
export function path(w: TcpWorld, local: string): string[] {
  const out: string[] = [];
  for (const e of w.states) {
    if (e.local !== local) continue;
    if (out.length === 0) out.push(e.from);
    out.push(e.to);
  }
  return out;
}

/**
 * a connects to a listener on b; runs until the handshake completes and b
 * accepted. Returns the client (on a), the accepted stream (on b) and the listener.
 */
export function connectPair(
  w: TcpWorld,
  family: 4 | 6,
  port = 5000,
  maxMs = 120_000,
): { client: VirtualTcpStream; server: VirtualTcpStream; listener: VirtualTcpListener } {
  const listener = w.b.tcpBind(w.addrB(port, family));
  const client = w.a.tcpConnect(w.addrB(port, family));
  const end = w.clock.now() + maxMs;
  while (w.clock.now() < end) {
    w.run(1);
    const r = listener.accept();
    if (r !== WOULD_BLOCK) {
      // the client side may still be waiting for the SYN-ACK's ACK to matter; run until it is established too
      for (let i = 0; i < 10_000 && client.conn.state === "SYN-SENT"; i++) w.run(1);
      return { client, server: r[0], listener };
    }
  }
  throw new Error(`no connection within ${maxMs} ms virtual (client state ${client.conn.state})`);
}

/** Byte `i` of the test pattern with tag `tag` (not periodic at 256 or any power of two below 2^24). */
export function patternByte(i: number, tag: number): number {
  return (Math.imul(i + tag * 977, 0x9e3779b1) >>> 24) ^ ((i >>> 16) & 0xff);
}

/** `n` pattern bytes starting at offset `from`. */
export function patternSlice(from: number, n: number, tag: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = patternByte(from + i, tag);
  return b;
}

/** One direction of a transfer: what was written, what was read and checked. */
export interface Flow {
  written: number;
  read: number;
  /** first offset where the received byte differed from the pattern, or -1 */
  mismatchAt: number;
  eof: boolean;
}

export interface TransferResult {
  aToB: Flow;
  bToA: Flow;
  virtualMs: number;
  wallMs: number;
  polls: number;
}

/**
 * Sends `bytesAB` pattern bytes from `x` to `y` and `bytesBA` from `y` to
 * `x` at once, each side shutting down its write side once all is written,
 * and reads both until end of stream. Stops at `maxVirtualMs` or
 * `maxWallMs`; the result says how far each direction got.
 */
export function transfer(
  w: TcpWorld,
  x: VirtualTcpStream,
  y: VirtualTcpStream,
  bytesAB: number,
  bytesBA: number,
  limits: { maxVirtualMs?: number; maxWallMs?: number; chunk?: number } = {},
): TransferResult {
  const maxVirtual = limits.maxVirtualMs ?? 600_000;
  const maxWall = limits.maxWallMs ?? 20_000;
  const chunk = limits.chunk ?? 16 * 1024;
  const registry = w.poll.registry();
  registry.register(x, Token(1), Interest.READABLE.add(Interest.WRITABLE));
  registry.register(y, Token(2), Interest.READABLE.add(Interest.WRITABLE));
  const flows: Array<{ from: VirtualTcpStream; to: VirtualTcpStream; total: number; tag: number; f: Flow; shut: boolean }> = [
    { from: x, to: y, total: bytesAB, tag: 1, f: { written: 0, read: 0, mismatchAt: -1, eof: false }, shut: false },
    { from: y, to: x, total: bytesBA, tag: 2, f: { written: 0, read: 0, mismatchAt: -1, eof: false }, shut: false },
  ];
  const buf = new Uint8Array(64 * 1024);
  const start = w.clock.now();
  const wallStart = Date.now();
  let polls = 0;
  const pump = (): void => {
    for (const fl of flows) {
      // write as much as fits
      for (let i = 0; i < 1000 && fl.f.written < fl.total; i++) {
        const n = Math.min(chunk, fl.total - fl.f.written);
        const r = fl.from.write(patternSlice(fl.f.written, n, fl.tag));
        if (r === WOULD_BLOCK) break;
        fl.f.written += r;
      }
      if (fl.f.written === fl.total && !fl.shut) {
        fl.shut = true;
        fl.from.shutdown("write");
      }
      // read everything available, checking the pattern
      for (let i = 0; i < 1000 && !fl.f.eof; i++) {
        const r = fl.to.read(buf);
        if (r === WOULD_BLOCK) break;
        if (r === 0) {
          fl.f.eof = true;
          break;
        }
        if (fl.f.mismatchAt < 0) {
          for (let k = 0; k < r; k++) {
            if (buf[k] !== patternByte(fl.f.read + k, fl.tag)) {
              fl.f.mismatchAt = fl.f.read + k;
              break;
            }
          }
        }
        fl.f.read += r;
      }
    }
  };
  try {
    pump();
    while (!(flows[0]!.f.eof && flows[1]!.f.eof)) {
      if (w.clock.now() - start > maxVirtual || Date.now() - wallStart > maxWall) break;
      w.poll.poll(w.events, 1000);
      polls++;
      pump();
    }
  } finally {
    registry.deregister(x);
    registry.deregister(y);
  }
  return { aToB: flows[0]!.f, bToA: flows[1]!.f, virtualMs: w.clock.now() - start, wallMs: Date.now() - wallStart, polls };
}
