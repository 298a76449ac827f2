/** Kernel TCP sockets (mio's `TcpListener` and `TcpStream` on Linux). */
import { sys, C } from "../native.js";
import { check, checkIo, WOULD_BLOCK, type WouldBlock } from "../error.js";
import type { SocketAddr } from "./socket-addr.js";
import { decodeInet, encodeInet } from "./sockaddr.js";
import { InetSocket, openBound, openSocket, scratch } from "./inet.js";
import { checkBuf, checkBufs, shutdownHow } from "./fd-source.js";
import type { TcpListener, TcpStream } from "./network.js";

const EINPROGRESS = -sys.errno.EINPROGRESS!;
/** mio's listen backlog */
const BACKLOG = 1024;

/** A kernel TCP listener. */
export class KernelTcpListener extends InetSocket implements TcpListener {
  /** Binds (with SO_REUSEADDR, as mio does) and listens. */
  static listen(addr: SocketAddr): KernelTcpListener {
    const fd = openBound(addr, C.SOCK_STREAM, (s) => check(sys.setsockopt(s, C.SOL_SOCKET, C.SO_REUSEADDR, 1), "setsockopt"));
    const l = new KernelTcpListener(fd, addr.family);
    try {
      check(sys.listen(fd, BACKLOG), "listen");
    } catch (e) {
      l.close();
      throw e;
    }
    return l;
  }

  accept(): [KernelTcpStream, SocketAddr] | WouldBlock {
    const r = checkIo(sys.accept(this.fd, scratch), "accept");
    if (r === WOULD_BLOCK) return r;
    return [new KernelTcpStream(r, this.family), decodeInet(scratch)];
  }
}

/** A kernel TCP connection. */
export class KernelTcpStream extends InetSocket implements TcpStream {
  /** Starts a non-blocking connect to `addr`. */
  static connect(addr: SocketAddr): KernelTcpStream {
    const fd = openSocket(addr, C.SOCK_STREAM);
    const s = new KernelTcpStream(fd, addr.family);
    const r = sys.connect(fd, encodeInet(addr, scratch));
    if (r < 0 && r !== EINPROGRESS) {
      s.close();
      check(r, "connect");
    }
    return s;
  }

  read(buf: Uint8Array): number | WouldBlock {
    checkBuf(buf);
    return checkIo(sys.read(this.fd, buf), "read");
  }

  write(buf: Uint8Array): number | WouldBlock {
    checkBuf(buf);
    return checkIo(sys.send(this.fd, buf, 0), "write");
  }

  readv(bufs: Uint8Array[]): number | WouldBlock {
    checkBufs(bufs);
    return checkIo(sys.readv(this.fd, bufs), "readv");
  }

  writev(bufs: Uint8Array[]): number | WouldBlock {
    checkBufs(bufs);
    return checkIo(sys.sendv(this.fd, bufs), "writev");
  }

  peek(buf: Uint8Array): number | WouldBlock {
    checkBuf(buf);
    return checkIo(sys.recv(this.fd, buf, C.MSG_PEEK), "recv");
  }

  shutdown(how: "read" | "write" | "both"): void {
    check(sys.shutdown(this.fd, shutdownHow(how)), "shutdown");
  }

  setNoDelay(noDelay: boolean): void {
    if (typeof noDelay !== "boolean") throw new TypeError(`noDelay must be a boolean, got ${typeof noDelay}`);
    this.setOpt(C.IPPROTO_TCP, C.TCP_NODELAY, noDelay ? 1 : 0);
  }

  noDelay(): boolean {
    return this.getOpt(C.IPPROTO_TCP, C.TCP_NODELAY) !== 0;
  }
}
