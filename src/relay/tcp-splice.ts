/**
 * One relayed TCP connection: two connected streams (the command's side, a
 * virtual stream of the relay's stack, and the host's side, a kernel
 * socket) with bytes copied between them as each can take them.
 *
 * - Backpressure: bytes read from one side that the other cannot take yet
 *   are held (at most one read's worth per direction) and nothing more is
 *   read from that side until they are written; the held bytes are what one
 *   slow side can cost, never more.
 * - Half-close: the end of one side's stream is passed on as a shutdown of
 *   the other's writing side, once what came before is written.
 * - Reset: an error on one side (ECONNRESET, ETIMEDOUT, EPIPE...) resets the
 *   other (SO_LINGER 0, then close).
 *
 * The splice starts copying once both sides are connected; until then the
 * connected side's bytes wait in its socket.
 */
import { IoError, WOULD_BLOCK } from "../error.js";
import type { TcpStream } from "../net/network.js";

/** One direction of a splice: what was read but not yet written, and how far the stream got. */
class Direction {
  /** bytes read and not yet written (null: none) */
  held: Uint8Array | null = null;
  heldAt = 0;
  /** the source's stream ended */
  ended = false;
  /** the end was passed on (the sink's writing side is shut) */
  passed = false;
  /** bytes written to the sink */
  bytes = 0;
}

/** How a splice ended. */
export type SpliceEnd = "closed" | "reset" | "refused";

export class TcpSplice {
  private readonly up = new Direction();
  private readonly down = new Direction();
  private ready = false;
  private ended: SpliceEnd | null = null;

  /**
   * `inner` and `outer`: the two streams, registered by the caller; the one
   * still connecting (if any) is named by `connecting`. `scratch` is a
   * buffer shared by all splices (each pump is synchronous). `onEnd` runs
   * once, after both streams are closed.
   */
  constructor(
    readonly inner: TcpStream,
    readonly outer: TcpStream,
    private readonly connecting: TcpStream | null,
    private readonly scratch: Uint8Array,
    private readonly onEnd: (splice: TcpSplice, how: SpliceEnd) => void,
  ) {
    this.ready = connecting === null;
  }

  /** Bytes relayed from the command (inner) to the host side (outer). */
  get bytesUp(): number {
    return this.up.bytes;
  }

  /** Bytes relayed from the host side to the command. */
  get bytesDown(): number {
    return this.down.bytes;
  }

  /**
   * Whether everything the command sent has been passed to the host side,
   * its end included (or the splice ended): nothing acknowledged to the
   * command is left to deliver.
   */
  get upstreamDone(): boolean {
    return this.ended !== null || this.up.passed;
  }

  /** How it ended, or null while it runs. */
  get end(): SpliceEnd | null {
    return this.ended;
  }

  /** A readiness event on either stream: finish connecting, then move what can be moved. */
  pump(): void {
    if (this.ended !== null) return;
    if (!this.ready && !this.connected()) return;
    if (!this.move(this.inner, this.outer, this.up)) return;
    if (!this.move(this.outer, this.inner, this.down)) return;
    if (this.up.passed && this.down.passed) this.finish("closed");
  }

  /**
   * Ends the splice as the relay stops: gracefully once everything from the
   * command went out (what the host side was still sending is read and
   * dropped, so that closing its socket sends the queued bytes and a FIN,
   * not a RST: the kernel delivers them after the relay is gone), with a
   * reset otherwise.
   */
  stop(): void {
    if (this.ended !== null) return;
    if (!this.upstreamDone) return this.reset();
    const sink = this.scratch;
    try {
      for (let n = this.outer.read(sink); n !== WOULD_BLOCK && n > 0; n = this.outer.read(sink));
    } catch (e) {
      if (!(e instanceof IoError)) throw e;
    }
    this.finish("closed");
  }

  /** Resets both sides (a side is gone, or the relay stops before the command's bytes went out). */
  reset(): void {
    if (this.ended !== null) return;
    this.abort(this.inner);
    this.abort(this.outer);
    this.finish("reset");
  }

  /** Whether the connecting side has connected; a failed connect resets the other side. */
  private connected(): boolean {
    const c = this.connecting!;
    let error: IoError | null;
    try {
      error = c.takeError();
      if (error === null) c.peerAddr();
    } catch (e) {
      if (!(e instanceof IoError)) throw e;
      // ENOTCONN: still connecting
      if (e.code === "ENOTCONN") return false;
      error = e;
    }
    if (error !== null) {
      this.abort(c === this.inner ? this.outer : this.inner);
      c.close();
      this.finish("refused");
      return false;
    }
    this.ready = true;
    return true;
  }

  /**
   * Moves bytes from `src` to `dst` until `src` has none or `dst` takes no
   * more; passes the end of `src` on. False when the splice ended (an error
   * on either side).
   */
  private move(src: TcpStream, dst: TcpStream, d: Direction): boolean {
    if (d.held !== null && !this.write(src, dst, d, d.held.subarray(d.heldAt))) return this.ended === null;
    const buf = this.scratch;
    while (!d.ended) {
      let n: number | typeof WOULD_BLOCK;
      try {
        n = src.read(buf);
      } catch (e) {
        return this.failed(e, src, dst);
      }
      if (n === WOULD_BLOCK) break;
      if (n === 0) {
        d.ended = true;
        break;
      }
      if (!this.write(src, dst, d, buf.subarray(0, n))) return this.ended === null;
    }
    if (d.ended && !d.passed && d.held === null) {
      try {
        dst.shutdown("write");
      } catch (e) {
        return this.failed(e, dst, src);
      }
      d.passed = true;
    }
    return true;
  }

  /** Writes `bytes` to `dst`; what it does not take is held. True when all was written. */
  private write(src: TcpStream, dst: TcpStream, d: Direction, bytes: Uint8Array): boolean {
    let w: number | typeof WOULD_BLOCK;
    try {
      w = dst.write(bytes);
    } catch (e) {
      this.failed(e, dst, src);
      return false;
    }
    const n = w === WOULD_BLOCK ? 0 : w;
    d.bytes += n;
    if (n === bytes.length) {
      d.held = null;
      return true;
    }
    if (d.held !== null && bytes.buffer === d.held.buffer) d.heldAt += n;
    else {
      // a copy: the scratch buffer is the next read's
      d.held = bytes.slice(n);
      d.heldAt = 0;
    }
    return false;
  }

  /** `broken` failed with `e`: close it and reset `other`. Always false. */
  private failed(e: unknown, broken: TcpStream, other: TcpStream): false {
    if (!(e instanceof IoError)) throw e;
    broken.close();
    this.abort(other);
    this.finish("reset");
    return false;
  }

  /** Closes `s` with a RST. */
  private abort(s: TcpStream): void {
    try {
      s.setLinger(0);
    } catch {
      // already closed
    }
    s.close();
  }

  private finish(how: SpliceEnd): void {
    if (this.ended !== null) return;
    this.ended = how;
    this.inner.close();
    this.outer.close();
    this.onEnd(this, how);
  }
}
