/** Internet-socket plumbing shared by the kernel TCP and UDP sockets. @internal */
import { sys, C } from "../native.js";
import { check } from "../error.js";
import type { Family, SocketAddr } from "./socket-addr.js";
import { addrBuf, decodeInet, encodeInet } from "./sockaddr.js";
import { SocketSource, checkTtl } from "./fd-source.js";

/** One scratch address buffer: every call using it is synchronous. */
export const scratch = addrBuf();

/** Opens a non-blocking socket for `addr`'s family. */
export function openSocket(addr: SocketAddr, type: number): number {
  return check(sys.socket(addr.family === 4 ? C.AF_INET : C.AF_INET6, type, 0), "socket");
}

/** Opens and binds; closes the descriptor again if binding fails. */
export function openBound(addr: SocketAddr, type: number, before?: (fd: number) => void): number {
  const fd = openSocket(addr, type);
  try {
    before?.(fd);
    check(sys.bind(fd, encodeInet(addr, scratch)), "bind");
  } catch (e) {
    sys.close(fd);
    throw e;
  }
  return fd;
}

/** A socket bound to an internet address: names, TTL. */
export abstract class InetSocket extends SocketSource {
  protected constructor(
    fd: number,
    protected readonly family: Family,
  ) {
    super(fd);
  }

  localAddr(): SocketAddr {
    check(sys.getsockname(this.fd, scratch), "getsockname");
    return decodeInet(scratch);
  }

  peerAddr(): SocketAddr {
    check(sys.getpeername(this.fd, scratch), "getpeername");
    return decodeInet(scratch);
  }

  private ttlOption(): [number, number] {
    return this.family === 6 ? [C.IPPROTO_IPV6, C.IPV6_UNICAST_HOPS] : [C.IPPROTO_IP, C.IP_TTL];
  }

  setTtl(ttl: number): void {
    checkTtl(ttl);
    const [level, name] = this.ttlOption();
    this.setOpt(level, name, ttl);
  }

  ttl(): number {
    const [level, name] = this.ttlOption();
    return this.getOpt(level, name);
  }
}
