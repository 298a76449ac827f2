/**
 * Kernel Unix domain sockets (mio's `UnixListener`, `UnixStream` and
 * `UnixDatagram`). Addresses are filesystem paths or, on Linux, abstract
 * names: see {@link UnixSocketAddr}.
 */
import { sys, C } from "../native.js";
import { check, checkIo, WOULD_BLOCK, type WouldBlock } from "../error.js";
import { scratch, decodeUnix, encodeUnix, toUnixSocketAddr, type UnixSocketAddr, type UnixSocketAddrLike } from "./sockaddr.js";
import { SocketSource, StreamSocket } from "./fd-source.js";
import { checkBuf, shutdownHow } from "./arg-checks.js";

const EINPROGRESS = -sys.errno.EINPROGRESS!;
/** As mio and Rust's std on Linux: the kernel caps -1 at `net.core.somaxconn`. */
const BACKLOG = -1;

function openUnix(type: number): number {
  return check(sys.socket(C.AF_UNIX, type, 0), "socket");
}

/** A connected pair of non-blocking descriptors of `type`. */
function socketPair(type: number): [number, number] {
  const fds = new Int32Array(2);
  check(sys.socketpair(C.AF_UNIX, type, fds), "socketpair");
  return [fds[0]!, fds[1]!];
}

/** Listening and datagram Unix sockets: addresses, binding. */
abstract class UnixSocket extends SocketSource<UnixSocketAddr> {
  protected decodeAddr(buf: Uint8Array): UnixSocketAddr {
    return decodeUnix(buf);
  }

  /** Binds to `addr`; closes the socket if that fails. */
  protected bindTo(addr: UnixSocketAddrLike): void {
    try {
      check(sys.bind(this.fd, encodeUnix(toUnixSocketAddr(addr), scratch)), "bind");
    } catch (e) {
      this.close();
      throw e;
    }
  }
}

/** A Unix stream socket listening for connections. */
export class UnixListener extends UnixSocket {
  /**
   * Binds to a path (the socket file must not exist yet) or an abstract
   * name, and listens. (`override`: it shadows `Function.prototype.bind`,
   * which TypeScript counts as inherited by the class's static side.)
   */
  static override bind(addr: UnixSocketAddrLike): UnixListener {
    const l = new UnixListener(openUnix(C.SOCK_STREAM));
    l.bindTo(addr);
    try {
      check(sys.listen(l.fd, BACKLOG), "listen");
    } catch (e) {
      l.close();
      throw e;
    }
    return l;
  }

  /** The next pending connection and its peer's address (usually unnamed), or `WOULD_BLOCK`. */
  accept(): [UnixStream, UnixSocketAddr] | WouldBlock {
    const fd = checkIo(sys.accept(this.fd, scratch), "accept");
    if (fd === WOULD_BLOCK) return fd;
    return [new UnixStream(fd), decodeUnix(scratch)];
  }
}

/** A Unix stream connection. */
export class UnixStream extends StreamSocket<UnixSocketAddr> {
  protected decodeAddr(buf: Uint8Array): UnixSocketAddr {
    return decodeUnix(buf);
  }

  /**
   * Connects to a listening socket. A Unix connect completes at once, or
   * throws: `ENOENT` (no such path), `ECONNREFUSED` (nobody listening),
   * `EAGAIN` (the listener's backlog is full). As with TCP, WRITABLE
   * signals the connection is usable.
   */
  static connect(addr: UnixSocketAddrLike): UnixStream {
    const to = encodeUnix(toUnixSocketAddr(addr), scratch);
    const s = new UnixStream(openUnix(C.SOCK_STREAM));
    const r = sys.connect(s.fd, to);
    if (r < 0 && r !== EINPROGRESS) {
      s.close();
      check(r, "connect");
    }
    return s;
  }

  /** Two connected, unnamed streams (`socketpair`). */
  static pair(): [UnixStream, UnixStream] {
    const [a, b] = socketPair(C.SOCK_STREAM);
    return [new UnixStream(a), new UnixStream(b)];
  }
}

/** A Unix datagram socket. */
export class UnixDatagram extends UnixSocket {
  /** A datagram socket bound to a path or an abstract name (`override`: see `UnixListener.bind`). */
  static override bind(addr: UnixSocketAddrLike): UnixDatagram {
    const d = UnixDatagram.unbound();
    d.bindTo(addr);
    return d;
  }

  /** A datagram socket bound to no address: it can send, and receive once connected to. */
  static unbound(): UnixDatagram {
    return new UnixDatagram(openUnix(C.SOCK_DGRAM));
  }

  /** Two connected, unnamed datagram sockets (`socketpair`). */
  static pair(): [UnixDatagram, UnixDatagram] {
    const [a, b] = socketPair(C.SOCK_DGRAM);
    return [new UnixDatagram(a), new UnixDatagram(b)];
  }

  /** Sets the default peer for `send` and accepts datagrams from it only. */
  connect(addr: UnixSocketAddrLike): void {
    check(sys.connect(this.fd, encodeUnix(toUnixSocketAddr(addr), scratch)), "connect");
  }

  /** Sends one datagram to `addr`: its length, or `WOULD_BLOCK`. */
  sendTo(buf: Uint8Array, addr: UnixSocketAddrLike): number | WouldBlock {
    const to = encodeUnix(toUnixSocketAddr(addr), scratch);
    return checkIo(sys.sendto(this.fd, buf, 0, to), "sendto");
  }

  /** Receives one datagram (truncated to `buf`): its length and sender, or `WOULD_BLOCK`. */
  recvFrom(buf: Uint8Array): [number, UnixSocketAddr] | WouldBlock {
    return this.receiveFrom(buf, 0);
  }

  /** Like `recvFrom`, but leaves the datagram in the socket. */
  peekFrom(buf: Uint8Array): [number, UnixSocketAddr] | WouldBlock {
    return this.receiveFrom(buf, C.MSG_PEEK);
  }

  /** Sends one datagram to the connected peer. */
  send(buf: Uint8Array): number | WouldBlock {
    return checkIo(sys.send(this.fd, buf, 0), "send");
  }

  /** Receives one datagram (truncated to `buf`): its length, or `WOULD_BLOCK`. */
  recv(buf: Uint8Array): number | WouldBlock {
    return checkIo(sys.recv(this.fd, buf, 0), "recv");
  }

  /** Like `recv`, but leaves the datagram in the socket. */
  peek(buf: Uint8Array): number | WouldBlock {
    checkBuf(buf);
    return checkIo(sys.recv(this.fd, buf, C.MSG_PEEK), "recv");
  }

  /** Shuts down the read half, the write half, or both. */
  shutdown(how: "read" | "write" | "both"): void {
    check(sys.shutdown(this.fd, shutdownHow(how)), "shutdown");
  }

  private receiveFrom(buf: Uint8Array, flags: number): [number, UnixSocketAddr] | WouldBlock {
    const n = checkIo(sys.recvfrom(this.fd, buf, flags, scratch), "recvfrom");
    if (n === WOULD_BLOCK) return n;
    return [n, decodeUnix(scratch)];
  }
}
