/**
 * Unix pipes (mio's `unix::pipe`): a one-way channel, both ends
 * non-blocking and close-on-exec.
 */
import { sys } from "../native.js";
import { check, checkIo, type WouldBlock } from "../error.js";
import { FdSource } from "./fd-source.js";
import { checkBufs } from "./arg-checks.js";

/** The writing end of a pipe. Register it for WRITABLE. */
export class Sender extends FdSource {
  /** Writes from `buf`: bytes written (maybe fewer), or `WOULD_BLOCK` when the pipe is full. `EPIPE` once the receiver is closed. */
  write(buf: Uint8Array): number | WouldBlock {
    return checkIo(sys.write(this.fd, buf), "write");
  }

  /** Writes several buffers in order (at most `MAX_IOV` of them). */
  writev(bufs: Uint8Array[]): number | WouldBlock {
    checkBufs(bufs);
    return checkIo(sys.writev(this.fd, bufs), "writev");
  }
}

/** The reading end of a pipe. Register it for READABLE. */
export class Receiver extends FdSource {
  /** Reads into `buf`: bytes read, 0 once every sender is closed and the pipe is empty, or `WOULD_BLOCK`. */
  read(buf: Uint8Array): number | WouldBlock {
    return checkIo(sys.read(this.fd, buf), "read");
  }

  /** Reads into several buffers in order (at most `MAX_IOV` of them). */
  readv(bufs: Uint8Array[]): number | WouldBlock {
    checkBufs(bufs);
    return checkIo(sys.readv(this.fd, bufs), "readv");
  }
}

/** Opens a pipe: what is written to the `Sender` is read from the `Receiver`. */
export function pipe(): [Sender, Receiver] {
  const fds = new Int32Array(2);
  check(sys.pipe(fds), "pipe");
  return [new Sender(fds[1]!), new Receiver(fds[0]!)];
}
