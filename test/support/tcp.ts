/**
 * Scenario helpers for the TCP suites (ports of mio's tests/tcp*.rs).
 *
 * mio's tests run their peers (echo servers, writers, readers) on threads. Here
 * a peer is a {@link Peer}: sockets of the same `Backend`, driven by an async
 * task that waits on its own Poll with `pollAsync`. A test that runs a peer
 * concurrently therefore waits with `pollAsync` too (`expectEventsAsync`,
 * {@link expectNoEventsAsync}), which lets the peer's task run in between.
 * Tasks of one Peer run one after another, like the statements of a thread.
 */
import { expect, onTestFinished } from "vitest";
import {
  Events,
  Interest,
  IoError,
  Poll,
  Token,
  WOULD_BLOCK,
  type Event,
  type SocketAddr,
  type Source,
  type TcpListener,
  type TcpStream,
  type WouldBlock,
} from "../../src/index.js";
import type { Backend } from "./backends.js";

/** How long a peer or a test loop waits for one step before failing. */
export const STEP_TIMEOUT_MS = 5000;

/** Anything with a `close()`: sockets, polls. */
interface Closable {
  close(): void;
}

/** Closes `x` when the current test finishes, passed or failed. */
export function own<T extends Closable>(x: T): T {
  onTestFinished(() => x.close());
  return x;
}

/** A listener on the backend's server side (port 0), closed after the test. */
export function listen(b: Backend, family: 4 | 6 = 4): TcpListener {
  return own(b.server.tcpBind(b.addr(0, family)));
}

/** A non-blocking connect from the backend's client side, closed after the test. */
export function connect(b: Backend, addr: SocketAddr): TcpStream {
  return own(b.client.tcpConnect(addr));
}

/** The token and flags of one event, kept after the Events buffer is reused. */
export interface Seen {
  token: Token;
  readable: boolean;
  writable: boolean;
  error: boolean;
  readClosed: boolean;
  writeClosed: boolean;
  text: string;
}

function snapshot(ev: Event): Seen {
  return {
    token: ev.token(),
    readable: ev.isReadable(),
    writable: ev.isWritable(),
    error: ev.isError(),
    readClosed: ev.isReadClosed(),
    writeClosed: ev.isWriteClosed(),
    text: ev.toString(),
  };
}

/**
 * Polls until a poll returns at least one event and gives that batch (mio's
 * `while events.is_empty() { poll.poll(&mut events, None) }`, bounded).
 */
export function nextBatch(poll: Poll, events: Events, timeoutMs = STEP_TIMEOUT_MS): Seen[] {
  const deadline = Date.now() + timeoutMs;
  do {
    poll.poll(events, Math.max(1, Math.min(100, deadline - Date.now())));
    if (!events.isEmpty()) return [...events].map(snapshot);
  } while (Date.now() < deadline);
  throw new Error(`no events within ${timeoutMs} ms`);
}

/** Async {@link nextBatch}: lets peer tasks run while waiting. */
export async function nextBatchAsync(poll: Poll, events: Events, timeoutMs = STEP_TIMEOUT_MS): Promise<Seen[]> {
  const deadline = Date.now() + timeoutMs;
  do {
    await poll.pollAsync(events, Math.max(1, Math.min(100, deadline - Date.now())));
    if (!events.isEmpty()) return [...events].map(snapshot);
  } while (Date.now() < deadline);
  throw new Error(`no events within ${timeoutMs} ms`);
}

/** Waits `timeoutMs` with `pollAsync` and fails if any event arrives. */
export async function expectNoEventsAsync(poll: Poll, events: Events, timeoutMs = 50): Promise<void> {
  await poll.pollAsync(events, timeoutMs);
  expect([...events].map(String)).toEqual([]);
}

/** mio's `checked_write!`: the whole buffer is written at once. */
export function checkedWrite(stream: TcpStream, data: Uint8Array): void {
  expect(stream.write(data)).toBe(data.length);
}

/** mio's `expect_read!`: a read (or peek) that returns exactly `expected`. */
export function expectRead(stream: TcpStream, op: "read" | "peek", expected: Uint8Array): void {
  const buf = new Uint8Array(expected.length + 16);
  const n = stream[op](buf);
  expect(n).toBe(expected.length);
  expect(buf.subarray(0, expected.length)).toEqual(expected);
}

/** Runs `fn` and returns the `code` of the `IoError` it throws (fails if it does not). */
export function ioErrorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(IoError);
    return (e as IoError).code;
  }
  throw new Error("expected an IoError, but nothing was thrown");
}

/** Byte `i` of the test stream: a prime period, so a lost or doubled byte shows. */
function patternByte(i: number): number {
  return i % 251;
}

/** Fills `buf` with the stream pattern starting at stream offset `offset`. */
export function fillPattern(buf: Uint8Array, offset: number): Uint8Array {
  for (let i = 0; i < buf.length; i++) buf[i] = patternByte(offset + i);
  return buf;
}

/** Checks that `buf` holds the stream pattern from stream offset `offset`. */
export function expectPattern(buf: Uint8Array, offset: number): void {
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] !== patternByte(offset + i)) {
      throw new Error(`byte ${offset + i} is ${buf[i]}, expected ${patternByte(offset + i)}`);
    }
  }
}

/**
 * The other end of a scenario: sockets of the same backend driven by async
 * tasks on a Poll of their own (mio's helper threads).
 */
export class Peer {
  private readonly poll: Poll;
  private readonly events = new Events(64);
  private readonly registered = new WeakSet<Source>();
  private nextToken = 0;
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown = null;

  constructor(b: Backend) {
    this.poll = own(b.newPoll());
  }

  /**
   * Retries `op` until it gives something other than `WOULD_BLOCK`, waiting
   * on the peer's Poll (where `src` is registered for both directions).
   */
  async until<T>(src: Source, op: () => T | WouldBlock, timeoutMs = STEP_TIMEOUT_MS): Promise<T> {
    if (!this.registered.has(src)) {
      this.poll.registry().register(src, Token(this.nextToken++), Interest.READABLE.add(Interest.WRITABLE));
      this.registered.add(src);
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = op();
      if (r !== WOULD_BLOCK) return r;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("peer: operation stayed WOULD_BLOCK");
      await this.poll.pollAsync(this.events, Math.min(left, 100));
    }
  }

  /** Accepts one connection (closed after the test). */
  async accept(listener: TcpListener): Promise<[TcpStream, SocketAddr]> {
    const [stream, addr] = await this.until(listener, () => listener.accept());
    return [own(stream), addr];
  }

  /** Writes all of `data`. */
  async writeAll(stream: TcpStream, data: Uint8Array): Promise<void> {
    let off = 0;
    while (off < data.length) off += await this.until(stream, () => stream.write(data.subarray(off)));
  }

  /** Reads into `buf` once: the byte count, 0 at end of stream. */
  read(stream: TcpStream, buf: Uint8Array): Promise<number> {
    return this.until(stream, () => stream.read(buf));
  }

  /**
   * Schedules `task` after the peer's earlier tasks. Its failure is kept for
   * {@link Peer.join} (so it never goes unhandled).
   */
  spawn(task: () => Promise<void>): void {
    this.chain = this.chain.then(task).catch((e: unknown) => {
      this.failure ??= e;
    });
  }

  /** Waits for the peer's tasks and rethrows the first failure. */
  async join(): Promise<void> {
    await this.chain;
    if (this.failure !== null) throw this.failure;
  }
}

/**
 * mio's `echo_listener` (for one connection): a listener whose peer accepts a
 * connection and echoes it until end of stream (a reset counts as the end, as
 * in mio: Linux resets a connection whose reader shut down).
 */
export function echoListener(b: Backend, family: 4 | 6 = 4): { addr: SocketAddr; peer: Peer } {
  const listener = listen(b, family);
  const peer = new Peer(b);
  peer.spawn(async () => {
    const buf = new Uint8Array(128);
    const [stream] = await peer.accept(listener);
    for (;;) {
      let n: number;
      try {
        n = await peer.read(stream, buf);
      } catch (e) {
        if (e instanceof IoError && (e.code === "ECONNRESET" || e.code === "ECONNABORTED")) break;
        throw e;
      }
      if (n === 0) break;
      await peer.writeAll(stream, buf.subarray(0, n));
    }
    stream.close();
  });
  return { addr: listener.localAddr(), peer };
}

/**
 * A connected pair: `client` from the backend's client side and `server`, its
 * accepted end. Neither is registered with any Poll. An accepted connection
 * means the client is established (its ACK completed the handshake).
 */
export async function connectedPair(
  b: Backend,
  family: 4 | 6 = 4,
): Promise<{ listener: TcpListener; client: TcpStream; server: TcpStream; peer: Peer }> {
  const listener = listen(b, family);
  const client = connect(b, listener.localAddr());
  const peer = new Peer(b);
  const [server] = await peer.accept(listener);
  return { listener, client, server, peer };
}
