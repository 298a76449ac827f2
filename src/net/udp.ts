/** Kernel UDP sockets (mio's `UdpSocket` on Linux). */
import { endianness } from "node:os";
import { sys, C } from "../native.js";
import { check, checkIo, WOULD_BLOCK, type WouldBlock } from "../error.js";
import { parseIp, toSocketAddr, type SocketAddr, type SocketAddrLike } from "./socket-addr.js";
import { decodeInet, encodeInet, scratch } from "./sockaddr.js";
import { InetSocket, openBound } from "./inet.js";
import { checkBuf } from "./arg-checks.js";
import type { UdpSocket } from "./network.js";

/**
 * A kernel UDP socket. Besides the {@link UdpSocket} contract it has mio's
 * multicast options, which only the kernel implements.
 */
export class KernelUdpSocket extends InetSocket implements UdpSocket {
  /** Opens a socket bound to `addr` (no SO_REUSEADDR: a second bind is `EADDRINUSE`). */
  static open(addr: SocketAddr): KernelUdpSocket {
    return new KernelUdpSocket(openBound(addr, C.SOCK_DGRAM), addr.family);
  }

  /** Sends one datagram to `addr` (also allowed on a connected socket, as on Linux). */
  sendTo(buf: Uint8Array, addr: SocketAddrLike): number | WouldBlock {
    checkBuf(buf);
    const to = toSocketAddr(addr);
    return checkIo(sys.sendto(this.fd, buf, 0, encodeInet(to, scratch)), "sendto");
  }

  /** Receives one datagram, truncated to `buf`; the rest of a longer one is lost. */
  recvFrom(buf: Uint8Array): [number, SocketAddr] | WouldBlock {
    return this.receiveFrom(buf, 0);
  }

  /** Like {@link recvFrom}, but the datagram stays queued. */
  peekFrom(buf: Uint8Array): [number, SocketAddr] | WouldBlock {
    return this.receiveFrom(buf, C.MSG_PEEK);
  }

  private receiveFrom(buf: Uint8Array, flags: number): [number, SocketAddr] | WouldBlock {
    checkBuf(buf);
    const n = checkIo(sys.recvfrom(this.fd, buf, flags, scratch), "recvfrom");
    if (n === WOULD_BLOCK) return n;
    return [n, decodeInet(scratch)];
  }

  connect(addr: SocketAddrLike): void {
    check(sys.connect(this.fd, encodeInet(toSocketAddr(addr), scratch)), "connect");
  }

  /** Sends to the connected peer; `EDESTADDRREQ` when not connected. */
  send(buf: Uint8Array): number | WouldBlock {
    checkBuf(buf);
    return checkIo(sys.send(this.fd, buf, 0), "send");
  }

  recv(buf: Uint8Array): number | WouldBlock {
    checkBuf(buf);
    return checkIo(sys.recv(this.fd, buf, 0), "recv");
  }

  peek(buf: Uint8Array): number | WouldBlock {
    checkBuf(buf);
    return checkIo(sys.recv(this.fd, buf, C.MSG_PEEK), "recv");
  }

  setBroadcast(on: boolean): void {
    this.setOpt(C.SOL_SOCKET, C.SO_BROADCAST, on ? 1 : 0);
  }

  broadcast(): boolean {
    return this.getOpt(C.SOL_SOCKET, C.SO_BROADCAST) !== 0;
  }

  /** Kernel only: whether IPv4 multicast datagrams sent by this socket loop back to local members. */
  setMulticastLoopV4(on: boolean): void {
    this.setOpt(C.IPPROTO_IP, C.IP_MULTICAST_LOOP, on ? 1 : 0);
  }

  /** Kernel only: see {@link setMulticastLoopV4}. Default true. */
  multicastLoopV4(): boolean {
    return this.getOpt(C.IPPROTO_IP, C.IP_MULTICAST_LOOP) !== 0;
  }

  /** Kernel only: the TTL (0..255) of IPv4 multicast datagrams sent by this socket. */
  setMulticastTtlV4(ttl: number): void {
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > 255) {
      throw new TypeError(`multicast ttl must be an integer in 0..255, got ${String(ttl)}`);
    }
    this.setOpt(C.IPPROTO_IP, C.IP_MULTICAST_TTL, ttl);
  }

  /** Kernel only: see {@link setMulticastTtlV4}. Default 1. */
  multicastTtlV4(): number {
    return this.getOpt(C.IPPROTO_IP, C.IP_MULTICAST_TTL);
  }

  /** Kernel only: whether IPv6 multicast datagrams sent by this socket loop back to local members. */
  setMulticastLoopV6(on: boolean): void {
    this.setOpt(C.IPPROTO_IPV6, C.IPV6_MULTICAST_LOOP, on ? 1 : 0);
  }

  /** Kernel only: see {@link setMulticastLoopV6}. Default true. */
  multicastLoopV6(): boolean {
    return this.getOpt(C.IPPROTO_IPV6, C.IPV6_MULTICAST_LOOP) !== 0;
  }

  /**
   * Kernel only: joins the IPv4 multicast `group` on the interface that has the
   * address `iface` (`"0.0.0.0"` lets the kernel choose by route). `EINVAL` if
   * `group` is not a multicast address, `EADDRINUSE` if already joined.
   */
  joinMulticastV4(group: string, iface: string): void {
    this.membershipV4(C.IP_ADD_MEMBERSHIP, group, iface);
  }

  /** Kernel only: leaves a group joined with {@link joinMulticastV4}; `EADDRNOTAVAIL` if not joined. */
  leaveMulticastV4(group: string, iface: string): void {
    this.membershipV4(C.IP_DROP_MEMBERSHIP, group, iface);
  }

  /**
   * Kernel only: joins the IPv6 multicast `group` on the interface with index
   * `ifindex` (0 lets the kernel choose by route; the loopback is 1).
   */
  joinMulticastV6(group: string, ifindex: number): void {
    this.membershipV6(C.IPV6_ADD_MEMBERSHIP, group, ifindex);
  }

  /** Kernel only: leaves a group joined with {@link joinMulticastV6}; `EADDRNOTAVAIL` if not joined. */
  leaveMulticastV6(group: string, ifindex: number): void {
    this.membershipV6(C.IPV6_DROP_MEMBERSHIP, group, ifindex);
  }

  /** Kernel only: whether an IPv6 socket is restricted to IPv6 (`IPV6_V6ONLY`). */
  onlyV6(): boolean {
    return this.getOpt(C.IPPROTO_IPV6, C.IPV6_V6ONLY) !== 0;
  }

  private membershipV4(name: number, group: string, iface: string): void {
    const mreq = new Uint8Array(8); // struct ip_mreq: imr_multiaddr, imr_interface
    mreq.set(ipBytes(group, 4, "multicast group"), 0);
    mreq.set(ipBytes(iface, 4, "interface address"), 4);
    check(sys.setsockoptBytes(this.fd, C.IPPROTO_IP, name, mreq), "setsockopt");
  }

  private membershipV6(name: number, group: string, ifindex: number): void {
    if (!Number.isInteger(ifindex) || ifindex < 0 || ifindex > 0xffffffff) {
      throw new TypeError(`interface index must be a non-negative 32-bit integer, got ${String(ifindex)}`);
    }
    const mreq = new Uint8Array(20); // struct ipv6_mreq: ipv6mr_multiaddr, ipv6mr_interface
    mreq.set(ipBytes(group, 16, "multicast group"), 0);
    new DataView(mreq.buffer).setUint32(16, ifindex, endianness() === "LE");
    check(sys.setsockoptBytes(this.fd, C.IPPROTO_IPV6, name, mreq), "setsockopt");
  }
}

/** The bytes of an IP address of the given length; `TypeError` otherwise. */
function ipBytes(ip: string, length: 4 | 16, what: string): Uint8Array {
  const bytes = parseIp(ip);
  if (bytes?.length !== length) {
    throw new TypeError(`${what} must be an IPv${length === 4 ? 4 : 6} address, got ${JSON.stringify(ip)}`);
  }
  return bytes;
}
