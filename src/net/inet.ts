/** Internet-socket plumbing shared by the kernel TCP and UDP sockets. @internal */
import { sys, C } from "../native.js";
import { check } from "../error.js";
import type { Family, SocketAddr } from "./socket-addr.js";
import { decodeInet, encodeInet, scratch } from "./sockaddr.js";
import { SocketSource } from "./fd-source.js";
import { checkTtl } from "./arg-checks.js";

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

/** The option that holds the TTL (IPv4) or unicast hop limit (IPv6). */
function ttlOption(family: Family): [number, number] {
  return family === 6 ? [C.IPPROTO_IPV6, C.IPV6_UNICAST_HOPS] : [C.IPPROTO_IP, C.IP_TTL];
}

/** Sets the TTL / hop limit of `fd`'s packets. */
export function setInetTtl(fd: number, family: Family, ttl: number): void {
  checkTtl(ttl);
  const [level, name] = ttlOption(family);
  check(sys.setsockopt(fd, level, name, ttl), "setsockopt");
}

/** The TTL / hop limit of `fd`'s packets. */
export function inetTtl(fd: number, family: Family): number {
  const [level, name] = ttlOption(family);
  return check(sys.getsockopt(fd, level, name), "getsockopt");
}

/** A listening or datagram socket on an internet address: names, TTL. */
export abstract class InetSocket extends SocketSource<SocketAddr> {
  protected constructor(
    fd: number,
    protected readonly family: Family,
  ) {
    super(fd);
  }

  protected decodeAddr(buf: Uint8Array): SocketAddr {
    return decodeInet(buf);
  }

  setTtl(ttl: number): void {
    setInetTtl(this.fd, this.family, ttl);
  }

  ttl(): number {
    return inetTtl(this.fd, this.family);
  }
}
