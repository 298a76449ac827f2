/** Kernel TCP sockets (mio's `TcpListener` and `TcpStream` on Linux). */
import { sys, C } from "../native.js";
import { check, checkIo, WOULD_BLOCK, type WouldBlock } from "../error.js";
import type { Family, SocketAddr } from "./socket-addr.js";
import { decodeInet, encodeInet, scratch } from "./sockaddr.js";
import { InetSocket, inetTtl, openBound, openSocket, setInetTtl } from "./inet.js";
import { StreamSocket } from "./fd-source.js";
import { checkLinger } from "./arg-checks.js";
import type { TcpListener, TcpStream } from "./network.js";
import { keepaliveSettings, type TcpKeepalive } from "./keepalive.js";

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
export class KernelTcpStream extends StreamSocket<SocketAddr> implements TcpStream {
  /** @internal made by `connect` and `KernelTcpListener.accept` */
  constructor(
    fd: number,
    private readonly family: Family,
  ) {
    super(fd);
  }

  protected decodeAddr(buf: Uint8Array): SocketAddr {
    return decodeInet(buf);
  }

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

  setTtl(ttl: number): void {
    setInetTtl(this.fd, this.family, ttl);
  }

  ttl(): number {
    return inetTtl(this.fd, this.family);
  }

  setNoDelay(noDelay: boolean): void {
    if (typeof noDelay !== "boolean") throw new TypeError(`noDelay must be a boolean, got ${typeof noDelay}`);
    this.setOpt(C.IPPROTO_TCP, C.TCP_NODELAY, noDelay ? 1 : 0);
  }

  noDelay(): boolean {
    return this.getOpt(C.IPPROTO_TCP, C.TCP_NODELAY) !== 0;
  }

  setKeepalive(keepalive: Partial<TcpKeepalive> | null): void {
    if (keepalive === null) return this.setOpt(C.SOL_SOCKET, C.SO_KEEPALIVE, 0);
    const now = this.keepaliveTimes();
    const k = keepaliveSettings(keepalive, now);
    if (k.idleMs !== now.idleMs) this.setOpt(C.IPPROTO_TCP, C.TCP_KEEPIDLE, Math.ceil(k.idleMs / 1000));
    if (k.intervalMs !== now.intervalMs) this.setOpt(C.IPPROTO_TCP, C.TCP_KEEPINTVL, Math.ceil(k.intervalMs / 1000));
    if (k.count !== now.count) this.setOpt(C.IPPROTO_TCP, C.TCP_KEEPCNT, k.count);
    this.setOpt(C.SOL_SOCKET, C.SO_KEEPALIVE, 1);
  }

  keepalive(): TcpKeepalive | null {
    return this.getOpt(C.SOL_SOCKET, C.SO_KEEPALIVE) === 0 ? null : this.keepaliveTimes();
  }

  setLinger(seconds: number | null): void {
    checkLinger(seconds);
    check(sys.setLinger(this.fd, seconds === null ? 0 : 1, seconds ?? 0), "setsockopt");
  }

  /** The kernel's TCP_KEEPIDLE, TCP_KEEPINTVL (seconds, as ms) and TCP_KEEPCNT. */
  private keepaliveTimes(): TcpKeepalive {
    return {
      idleMs: this.getOpt(C.IPPROTO_TCP, C.TCP_KEEPIDLE) * 1000,
      intervalMs: this.getOpt(C.IPPROTO_TCP, C.TCP_KEEPINTVL) * 1000,
      count: this.getOpt(C.IPPROTO_TCP, C.TCP_KEEPCNT),
    };
  }
}
