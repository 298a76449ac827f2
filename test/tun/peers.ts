/**
 * Shared pieces of the real-peer suites (test/tun/peers-*.test.ts): a Stack
 * on a TUN device in the suite's namespace, driven by `pollAsync` while
 * kernel tools (curl, socat, nc, nmap) run as children, and small virtual
 * servers (HTTP/1.1, sink, source, UDP echo) that react to the Poll's events.
 *
 * Layout of every suite: the kernel's side of tsmio0 is 10.7.0.1/24 +
 * fd07::1/64, the Stack's 10.7.0.2/24 + fd07::2/64.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach } from "vitest";
import { Events, Interest, Poll, Stack, Token, TunDevice, WOULD_BLOCK, type Device, type Event, type Source } from "../../src/index.js";
import type { TcpListener, TcpStream, UdpSocket } from "../../src/net/network.js";
import { Random } from "../../src/random.js";
import { DeviceWrapper } from "../../src/stack/iface/wrapper.js";
import type { ChildResult } from "../support/netns.js";

import { KERNEL4, KERNEL6, STACK4, STACK6 } from "../support/netns.js";
export { KERNEL4, KERNEL6, STACK4, STACK6 };

/** `"ip:port"` for either family. */
export function hostPort(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The test's view of one Stack on tsmio0, renewed for every test. */
export interface World {
  readonly tun: TunDevice;
  readonly poll: Poll;
  readonly stack: Stack;
  /** Closes `x` after the test (in reverse order of `own`). */
  own<T extends { close(): void }>(x: T): T;
  /** Registers `source` under a fresh token; `fn` gets each of its events. */
  watch(source: Source, interest: Interest, fn: (ev: Event) => void): Token;
  /** Forgets `source` (deregisters it). */
  unwatch(source: Source): void;
  /** Polls (without blocking Node) until `done()` holds; throws with `what()` after `limitMs`. */
  until(done: () => boolean, limitMs: number, what: () => string): Promise<void>;
  /** Polls until `child` exits, then returns its result; throws after `limitMs`. */
  whileChild<T = ChildResult>(child: Promise<T>, limitMs: number): Promise<T>;
}

/** Options of {@link peersWorld}. */
export interface WorldOptions {
  /** MTU of tsmio0 (default 1500). */
  mtu?: number;
  /** Middleware between the Stack and the TUN device (default none). */
  wrap?: (tun: TunDevice) => Device;
}

/**
 * Declares `beforeEach`/`afterEach` hooks (call it inside a `netnsSuite`)
 * that make tsmio0, a real-clock Poll and a Stack for every test, and close
 * them and whatever the test `own`ed afterwards.
 */
export function peersWorld(options: WorldOptions = {}): World {
  let tun: TunDevice | null = null;
  let poll: Poll | null = null;
  let stack: Stack | null = null;
  const events = new Events(256);
  const owned: Array<{ close(): void }> = [];
  const handlers = new Map<Token, (ev: Event) => void>();
  const tokens = new Map<Source, Token>();
  let nextToken = 1;

  beforeEach(() => {
    const mtu = options.mtu ?? 1500;
    tun = new TunDevice({ name: "tsmio0", mtu });
    tun.configure({ addresses: [`${KERNEL4}/24`, `${KERNEL6}/64`], up: true });
    poll = new Poll();
    const device = options.wrap ? options.wrap(tun) : tun;
    stack = new Stack({ poll, device, addresses: [`${STACK4}/24`, `${STACK6}/64`], seed: 1 });
  });

  afterEach(() => {
    // close everything even when something fails to close; report the first failure
    let failure: { error: unknown } | null = null;
    const attempt = (fn: () => void): void => {
      try {
        fn();
      } catch (error) {
        failure ??= { error };
      }
    };
    for (const x of owned.splice(0).reverse()) attempt(() => x.close());
    handlers.clear();
    tokens.clear();
    attempt(() => stack?.close());
    attempt(() => tun?.close());
    attempt(() => poll?.close());
    stack = null;
    tun = null;
    poll = null;
    if (failure !== null) throw (failure as { error: unknown }).error;
  });

  const live = <T>(x: T | null, name: string): T => {
    if (x === null) throw new Error(`${name} exists only while a test runs`);
    return x;
  };

  // tokens deregistered while the current batch of events is handled: their later events in it are stale
  const retired = new Set<Token>();
  const dispatch = (): void => {
    retired.clear();
    for (const ev of events) {
      const fn = handlers.get(ev.token());
      if (fn !== undefined) fn(ev);
      else if (!retired.has(ev.token())) throw new Error(`event for token ${ev.token()}, which no source of this test has`);
    }
  };

  const world: World = {
    get tun() {
      return live(tun, "tun");
    },
    get poll() {
      return live(poll, "poll");
    },
    get stack() {
      return live(stack, "stack");
    },
    own(x) {
      owned.push(x);
      return x;
    },
    watch(source, interest, fn) {
      const token = Token(nextToken++);
      world.poll.registry().register(source, token, interest);
      handlers.set(token, fn);
      tokens.set(source, token);
      return token;
    },
    unwatch(source) {
      const token = tokens.get(source);
      if (token === undefined) return;
      world.poll.registry().deregister(source);
      retired.add(token);
      handlers.delete(token);
      tokens.delete(source);
    },
    async until(done, limitMs, what) {
      const end = Date.now() + limitMs;
      while (!done()) {
        if (Date.now() > end) throw new Error(`not done after ${limitMs} ms: ${what()}`);
        await world.poll.pollAsync(events, 20);
        dispatch();
      }
    },
    async whileChild<T>(child: Promise<T>, limitMs: number): Promise<T> {
      let result: { value: T } | null = null;
      let failure: { error: unknown } | null = null;
      child.then(
        (value) => (result = { value }),
        (error: unknown) => (failure = { error }),
      );
      await world.until(() => result !== null || failure !== null, limitMs, () => "child still running");
      if (failure !== null) throw (failure as { error: unknown }).error;
      return (result as unknown as { value: T }).value;
    },
  };
  return world;
}

/** A temp directory for one test; `remove()` deletes it and what it holds. */
export function scratchDir(): { dir: string; file(name: string): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "tsmio-peers-"));
  return { dir, file: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `n` pseudo-random bytes drawn from `seed` (no period short enough to hide a misplaced segment). */
export function seededBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  const words = new Uint32Array(out.buffer, 0, n >>> 2);
  const rng = new Random(seed, "peers-bytes");
  for (let i = 0; i < words.length; i++) words[i] = rng.u32();
  for (let i = words.length * 4; i < n; i++) out[i] = rng.u32() & 0xff;
  return out;
}

/** Hex sha256 of `bytes`. */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

const scratch = new Uint8Array(256 * 1024);

/** Reads `stream` until WOULD_BLOCK; `onData` gets each chunk (valid during the call). Returns true at end of stream. */
function drainStream(stream: TcpStream, onData: (chunk: Uint8Array) => void, limit = 100_000): boolean {
  for (let i = 0; i < limit; i++) {
    const n = stream.read(scratch);
    if (n === WOULD_BLOCK) return false;
    if (n === 0) return true;
    onData(scratch.subarray(0, n));
  }
  throw new Error(`more than ${limit} reads without WOULD_BLOCK`);
}

/** Writes `data` from `offset` until WOULD_BLOCK or the end; returns the new offset. */
function writeSome(stream: TcpStream, data: Uint8Array, offset: number, limit = 100_000): number {
  for (let i = 0; i < limit && offset < data.length; i++) {
    const n = stream.write(data.subarray(offset, Math.min(data.length, offset + 256 * 1024)));
    if (n === WOULD_BLOCK) return offset;
    offset += n;
  }
  return offset;
}

const READ_WRITE = Interest.READABLE.add(Interest.WRITABLE);

/**
 * Accepts every connection on `listener` (until the test ends) and hands
 * each to `serve`, which is called again on every event of that stream.
 * `serve` returns true once it is finished with the stream, which is then
 * closed. Returns the peers' addresses as accepted.
 */
function acceptAll(w: World, listener: TcpListener, serve: () => (stream: TcpStream, ev: Event | null) => boolean): { peers: string[]; open: number } {
  const state = { peers: [] as string[], open: 0 };
  w.own(listener);
  w.watch(listener, Interest.READABLE, () => {
    for (let i = 0; i < 10_000; i++) {
      const r = listener.accept();
      if (r === WOULD_BLOCK) return;
      const [stream, from] = r;
      state.peers.push(from.toString());
      state.open++;
      const step = serve();
      let closed = false;
      const run = (ev: Event | null): void => {
        if (closed || !step(stream, ev)) return;
        closed = true;
        state.open--;
        w.unwatch(stream);
        stream.close();
      };
      w.own({ close: () => closed || stream.close() });
      w.watch(stream, READ_WRITE, run);
      run(null);
    }
    throw new Error("more than 10000 connections at once");
  });
  return state;
}

/** What {@link httpServer} saw. */
export interface HttpLog {
  /** Request lines, in order of arrival. */
  requests: string[];
  /** Whole request heads (up to the blank line), in order of arrival. */
  heads: string[];
  /** Responses fully written and followed by the peer's end of stream. */
  completed: number;
  /** Connections accepted, by peer address. */
  peers: string[];
}

/** The body {@link httpServer} sends for request line `requestLine`. */
export function httpBody(requestLine: string): string {
  return `hello from tsmio\nyou asked: ${requestLine}\n`;
}

/**
 * A minimal HTTP/1.1 server on a virtual listener: reads the request head,
 * answers `200 OK` with {@link httpBody}, Content-Length and
 * `Connection: close`, shuts down its sending side and closes once the peer
 * has closed too. Anything but a well-formed `GET` gets `400`.
 */
export function httpServer(w: World, listener: TcpListener): HttpLog {
  const log: HttpLog = { requests: [], heads: [], completed: 0, peers: [] };
  const accepted = acceptAll(w, listener, () => {
    let head = "";
    let response: Uint8Array | null = null;
    let sent = 0;
    let shut = false;
    return (stream) => {
      const eof = drainStream(stream, (chunk) => {
        if (response === null) head += Buffer.from(chunk).toString("latin1");
      });
      if (response === null) {
        const end = head.indexOf("\r\n\r\n");
        if (end < 0 && !eof) return false;
        const requestLine = head.slice(0, head.indexOf("\r\n"));
        log.requests.push(requestLine);
        log.heads.push(head.slice(0, Math.max(end, 0)));
        const ok = /^GET \S+ HTTP\/1\.[01]$/.test(requestLine);
        const body = ok ? httpBody(requestLine) : "bad request\n";
        const status = ok ? "200 OK" : "400 Bad Request";
        response = Buffer.from(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`, "latin1");
      }
      sent = writeSome(stream, response, sent);
      if (sent === response.length && !shut) {
        stream.shutdown("write");
        shut = true;
      }
      if (shut && eof) {
        log.completed++;
        return true;
      }
      return false;
    };
  });
  log.peers = accepted.peers;
  return log;
}

/** What {@link sinkServer} has read so far. */
export interface Sink {
  bytes: number;
  /** Hex sha256 of everything read, once the peer's end of stream arrived. */
  digest: string | null;
  /** The peer's address. */
  peer: string | null;
}

/** Accepts one connection and reads it to the end, hashing what it reads. */
export function sinkServer(w: World, listener: TcpListener): Sink {
  const sink: Sink = { bytes: 0, digest: null, peer: null };
  const accepted = acceptAll(w, listener, () => {
    if (sink.peer !== null) throw new Error(`a second connection to the sink (first from ${sink.peer})`);
    const hash = createHash("sha256");
    return (stream) => {
      sink.peer ??= accepted.peers[0] ?? null;
      const eof = drainStream(stream, (chunk) => {
        hash.update(chunk);
        sink.bytes += chunk.length;
      });
      if (!eof) return false;
      sink.digest = hash.digest("hex");
      return true;
    };
  });
  return sink;
}

/** What {@link sourceServer} has done so far. */
export interface SourceLog {
  sent: number;
  /** The data was all written, the sending side shut down and the peer's end of stream read. */
  done: boolean;
  /** Bytes the peer sent (it should send none). */
  received: number;
}

/** Accepts one connection, writes `data`, shuts down its sending side and closes once the peer closed. */
export function sourceServer(w: World, listener: TcpListener, data: Uint8Array): SourceLog {
  const log: SourceLog = { sent: 0, done: false, received: 0 };
  let connections = 0;
  acceptAll(w, listener, () => {
    if (connections++ > 0) throw new Error("a second connection to the source");
    let shut = false;
    return (stream) => {
      log.sent = writeSome(stream, data, log.sent);
      if (log.sent === data.length && !shut) {
        stream.shutdown("write");
        shut = true;
      }
      const eof = drainStream(stream, (chunk) => (log.received += chunk.length));
      if (!(shut && eof)) return false;
      log.done = true;
      return true;
    };
  });
  return log;
}

/** Datagrams a {@link udpEcho} server got, copied, with their senders. */
export interface EchoLog {
  datagrams: Array<{ data: Uint8Array; from: string }>;
}

/** Sends every datagram that reaches `sock` back to its sender. */
export function udpEcho(w: World, sock: UdpSocket): EchoLog {
  const log: EchoLog = { datagrams: [] };
  const buf = new Uint8Array(65536);
  w.own(sock);
  w.watch(sock, Interest.READABLE, () => {
    for (let i = 0; i < 10_000; i++) {
      const r = sock.recvFrom(buf);
      if (r === WOULD_BLOCK) return;
      const [n, from] = r;
      log.datagrams.push({ data: buf.slice(0, n), from: from.toString() });
      const sent = sock.sendTo(buf.subarray(0, n), from);
      if (sent !== n) throw new Error(`echo of ${n} bytes sent ${String(sent)}`);
    }
    throw new Error("more than 10000 datagrams in one event");
  });
  return log;
}

/** Options of an {@link Impairment}, netem's in spirit; every random choice is drawn from `seed`. */
export interface ImpairmentOptions {
  /** Probability that a packet is dropped. */
  loss: number;
  /** Base one-way delay, ms. */
  delayMs: number;
  /** The delay varies uniformly by up to ± this, ms. */
  jitterMs: number;
  /** Probability that a packet skips the delay (and so overtakes the ones waiting). */
  reorder: number;
  /** Which way packets suffer: toward the stack (`rx`), toward the kernel (`tx`), or both. */
  direction: "rx" | "tx" | "both";
  seed: number;
}

/** What an {@link Impairment} did to one direction. */
export interface ImpairmentStats {
  packets: number;
  dropped: number;
  /** Packets sent on at once, ahead of delayed ones. */
  reordered: number;
}

/** A packet held back until `due`. */
interface Held {
  due: number;
  packet: Uint8Array;
}

/** Packets of one direction waiting for their time, in order of `due`. */
class Delayed {
  readonly stats: ImpairmentStats = { packets: 0, dropped: 0, reordered: 0 };
  private readonly queue: Held[] = [];
  private readonly rng: Random;

  constructor(
    private readonly options: ImpairmentOptions,
    readonly enabled: boolean,
    label: string,
  ) {
    this.rng = new Random(options.seed, label);
  }

  /** Takes `packet` (copied); returns it when it goes on at once (null when dropped or held). */
  offer(packet: Uint8Array, now: number): Uint8Array | null {
    this.stats.packets++;
    if (!this.enabled) return packet;
    const { loss, delayMs, jitterMs, reorder } = this.options;
    if (this.rng.chance(loss)) {
      this.stats.dropped++;
      return null;
    }
    if (this.rng.chance(reorder)) {
      if (this.queue.length > 0) this.stats.reordered++;
      return packet;
    }
    const due = now + delayMs + (this.rng.float() * 2 - 1) * jitterMs;
    let i = this.queue.length;
    while (i > 0 && this.queue[i - 1]!.due > due) i--;
    this.queue.splice(i, 0, { due, packet: packet.slice() });
    return null;
  }

  /** The next packet whose time has come, or null. */
  take(now: number): Uint8Array | null {
    const head = this.queue[0];
    if (head === undefined || head.due > now) return null;
    this.queue.shift();
    return head.packet;
  }

  /** When the next held packet is due, or null. */
  next(): number | null {
    return this.queue[0]?.due ?? null;
  }
}

/**
 * Middleware that loses, delays and reorders packets between a Stack and its
 * device, in either or both directions, with seeded randomness: what
 * `tc qdisc … netem loss … delay … reorder …` does to the kernel's egress,
 * for kernels without sch_netem and for the stack's own direction. Packets
 * toward the kernel that are due go out whenever the stack polls its device.
 */
export class Impairment extends DeviceWrapper {
  private readonly rx: Delayed;
  private readonly tx: Delayed;

  constructor(device: Device, options: ImpairmentOptions) {
    super(device);
    this.rx = new Delayed(options, options.direction !== "tx", "impair:rx");
    this.tx = new Delayed(options, options.direction !== "rx", "impair:tx");
  }

  /** The next packet for the stack whose time has come; also sends due packets to the kernel. */
  receive(): Uint8Array | null {
    const now = this.clock.now();
    for (let p = this.tx.take(now); p !== null; p = this.tx.take(now)) this.inner.transmit(p);
    for (let i = 0; i < 100_000; i++) {
      const due = this.rx.take(now);
      if (due !== null) return due;
      const packet = this.inner.receive();
      if (packet === null) return null;
      const at = this.rx.offer(packet, now);
      if (at !== null) return at;
    }
    throw new Error("Impairment.receive: more than 100000 packets in one call");
  }

  /** Sends `packet` at once, later, or never. */
  transmit(packet: Uint8Array): void {
    const at = this.tx.offer(packet, this.clock.now());
    if (at !== null) this.inner.transmit(at);
  }

  /**
   * Always false: a held packet comes out after the device has moved on to
   * others, so the device's word on the last packet it returned (which may
   * be per packet) does not apply to it. The Stack checks every checksum.
   */
  override get checksumsVerified(): boolean {
    return false;
  }

  /** The earliest of the held packets' times and the device's own. */
  override pollAt(): number | null {
    let next = super.pollAt();
    for (const t of [this.rx.next(), this.tx.next()]) if (t !== null && (next === null || t < next)) next = t;
    return next;
  }

  /** Counters per direction. */
  stats(): { rx: ImpairmentStats; tx: ImpairmentStats } {
    return { rx: { ...this.rx.stats }, tx: { ...this.tx.stats } };
  }
}
