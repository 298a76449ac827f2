/**
 * The base of every kernel-descriptor source: owns the descriptor, registers
 * it with epoll, closes it once, and answers `EBADF` after `close()`.
 * @internal
 */
import { sys, C } from "../native.js";
import { IoError, check, checkIo, type WouldBlock } from "../error.js";
import { scratch } from "./sockaddr.js";
import { checkBuf, checkBufs, shutdownHow } from "./arg-checks.js";
import { closeFd, ownFd } from "../fd.js";
import type { Interest } from "../poll/interest.js";
import { selectorOf, type Registry } from "../poll/registry.js";
import type { Selector } from "../poll/selector.js";
import type { Source } from "../poll/source.js";
import type { Token } from "../poll/token.js";

export abstract class FdSource implements Source {
  private rawFd: number;
  /** the poll this source is registered with: one at a time, as in mio */
  private registeredWith: Selector | null = null;

  constructor(fd: number) {
    this.rawFd = fd;
    ownFd(this, fd);
  }

  /** The descriptor; throws `IoError` `EBADF` once closed. */
  protected get fd(): number {
    if (this.rawFd < 0) throw new IoError("EBADF", `${this.constructor.name} is closed`);
    return this.rawFd;
  }

  register(registry: Registry, token: Token, interest: Interest): void {
    const selector = selectorOf(registry);
    const fd = this.fd;
    const other = this.registeredWith;
    if (other !== null && other !== selector && !other.closed) {
      throw new IoError("EEXIST", "already registered with another Registry");
    }
    selector.registerFd(fd, token, interest);
    this.registeredWith = selector;
  }

  reregister(registry: Registry, token: Token, interest: Interest): void {
    selectorOf(registry).reregisterFd(this.fd, token, interest);
  }

  deregister(registry: Registry): void {
    selectorOf(registry).deregisterFd(this.fd);
    this.registeredWith = null;
  }

  /** Closes the descriptor (which also removes it from every poll). Idempotent. */
  close(): void {
    if (this.rawFd < 0) return;
    closeFd(this, this.rawFd);
    this.rawFd = -1;
  }
}

/**
 * Sockets: the descriptor, SO_ERROR, integer options, and their own and
 * their peer's address, decoded by the address family's `decodeAddr`.
 * @internal
 */
export abstract class SocketSource<A> extends FdSource {
  /** Reads an address of this socket's family from an address buffer. */
  protected abstract decodeAddr(buf: Uint8Array): A;

  /** The address this socket is bound to. */
  localAddr(): A {
    check(sys.getsockname(this.fd, scratch), "getsockname");
    return this.decodeAddr(scratch);
  }

  /** The peer's address; throws `ENOTCONN` if there is none. */
  peerAddr(): A {
    check(sys.getpeername(this.fd, scratch), "getpeername");
    return this.decodeAddr(scratch);
  }

  /** Takes and clears the pending socket error (`SO_ERROR`), or null if none. */
  takeError(): IoError | null {
    const e = this.getOpt(C.SOL_SOCKET, C.SO_ERROR, "getsockopt");
    return e === 0 ? null : IoError.fromErrno(e, "SO_ERROR");
  }

  protected getOpt(level: number, name: number, what = "getsockopt"): number {
    return check(sys.getsockopt(this.fd, level, name), what);
  }

  protected setOpt(level: number, name: number, value: number, what = "setsockopt"): void {
    check(sys.setsockopt(this.fd, level, name, value), what);
  }
}

/** Connected stream sockets (TCP, Unix): reads and writes straight between the kernel and the caller's buffers. @internal */
export abstract class StreamSocket<A> extends SocketSource<A> {
  /** Reads into `buf`: bytes read, 0 at end of stream, or `WOULD_BLOCK`. */
  read(buf: Uint8Array): number | WouldBlock {
    checkBuf(buf);
    return checkIo(sys.read(this.fd, buf), "read");
  }

  /** Writes from `buf`: bytes written (maybe fewer), or `WOULD_BLOCK`; `EPIPE` once the peer is gone. */
  write(buf: Uint8Array): number | WouldBlock {
    checkBuf(buf);
    return checkIo(sys.send(this.fd, buf, 0), "write");
  }

  /** Reads into several buffers in order (empty ones skipped, at most `MAX_IOV`). */
  readv(bufs: Uint8Array[]): number | WouldBlock {
    checkBufs(bufs);
    return checkIo(sys.readv(this.fd, bufs), "readv");
  }

  /** Writes several buffers in order (empty ones skipped, at most `MAX_IOV`). */
  writev(bufs: Uint8Array[]): number | WouldBlock {
    checkBufs(bufs);
    return checkIo(sys.sendv(this.fd, bufs), "writev");
  }

  /** Like `read`, but leaves the bytes in the socket. */
  peek(buf: Uint8Array): number | WouldBlock {
    checkBuf(buf);
    return checkIo(sys.recv(this.fd, buf, C.MSG_PEEK), "recv");
  }

  /** Shuts down the read half, the write half, or both. */
  shutdown(how: "read" | "write" | "both"): void {
    check(sys.shutdown(this.fd, shutdownHow(how)), "shutdown");
  }
}
