/**
 * Echo server on tsmio kernel sockets, written the way a careful mio user
 * writes one: one Poll, edge-triggered, every socket registered once for
 * READABLE | WRITABLE (as tokio does, so backpressure never costs an
 * epoll_ctl), reads drained until WOULD_BLOCK, and a per-connection pending
 * buffer for the bytes a partial write left behind. While bytes are pending
 * the connection stops reading (backpressure) until a WRITABLE event lets it
 * flush them.
 *
 * The drain shortcut (tokio's, on by default; `--no-shortcut` turns it off):
 * a read that returns fewer bytes than the buffer holds means the socket's
 * receive queue was emptied, so the loop stops there instead of spending one
 * more read() on the WOULD_BLOCK that would confirm it. Edge-triggered epoll
 * still reports any bytes that arrive after that read, because their arrival
 * is a new edge.
 *
 * Usage: node --import ./scripts/ts-loader.mjs bench/echo/tsmio-server.ts [--no-shortcut]
 * Prints `port <n>` once listening; runs until killed.
 */
import { Events, Interest, IoError, Poll, TcpListener, Token, WOULD_BLOCK, type TcpStream } from "../../src/index.js";

const LISTENER = Token(0);
const BUF_SIZE = 64 * 1024;
const shortcut = !process.argv.includes("--no-shortcut");

/** One accepted connection and the bytes it still owes its peer. */
interface Conn {
  stream: TcpStream;
  /** unsent echo bytes live in pending[pendingAt .. pendingEnd) */
  pending: Uint8Array | null;
  pendingAt: number;
  pendingEnd: number;
}

const poll = new Poll();
const events = new Events(1024);
const listener = TcpListener.bind("127.0.0.1:0");
poll.registry().register(listener, LISTENER, Interest.READABLE);
const both = Interest.READABLE.add(Interest.WRITABLE);
/** Shared read buffer: whatever is read is written back before the next read. */
const buf = new Uint8Array(BUF_SIZE);
const conns: (Conn | undefined)[] = [undefined];
const free: number[] = [];

process.stdout.write(`port ${listener.localAddr().port}\n`);

function acceptAll(): void {
  for (;;) {
    const r = listener.accept();
    if (r === WOULD_BLOCK) return;
    const stream = r[0];
    stream.setNoDelay(true);
    const slot = free.pop() ?? conns.length;
    conns[slot] = { stream, pending: null, pendingAt: 0, pendingEnd: 0 };
    poll.registry().register(stream, Token(slot), both);
  }
}

function drop(slot: number): void {
  conns[slot]!.stream.close();
  conns[slot] = undefined;
  free.push(slot);
}

/** Writes the pending bytes; true once none are left. */
function flush(c: Conn): boolean {
  while (c.pendingAt < c.pendingEnd) {
    const w = c.stream.write(c.pending!.subarray(c.pendingAt, c.pendingEnd));
    if (w === WOULD_BLOCK) return false;
    c.pendingAt += w;
  }
  c.pendingAt = c.pendingEnd = 0;
  return true;
}

/** Echoes everything readable now; false when the connection is finished. */
function pump(c: Conn): boolean {
  if (c.pendingEnd !== 0 && !flush(c)) return true;
  const s = c.stream;
  for (;;) {
    const n = s.read(buf);
    if (n === WOULD_BLOCK) return true;
    if (n === 0) return false;
    let at = 0;
    while (at < n) {
      const w = s.write(at === 0 && n === BUF_SIZE ? buf : buf.subarray(at, n));
      if (w === WOULD_BLOCK) break;
      at += w;
    }
    if (at < n) {
      // Keep the rest, stop reading until WRITABLE says it can go out.
      c.pending ??= new Uint8Array(BUF_SIZE);
      c.pending.set(buf.subarray(at, n));
      c.pendingAt = 0;
      c.pendingEnd = n - at;
      return true;
    }
    if (shortcut && n < BUF_SIZE) return true;
  }
}

for (;;) {
  poll.poll(events, null);
  for (const ev of events) {
    const slot = ev.token();
    if (slot === LISTENER) {
      acceptAll();
      continue;
    }
    const c = conns[slot];
    if (c === undefined) continue;
    let alive: boolean;
    try {
      alive = pump(c);
    } catch (e) {
      if (!(e instanceof IoError)) throw e;
      alive = false; // ECONNRESET / EPIPE from a departing client
    }
    if (!alive) drop(slot);
  }
}
