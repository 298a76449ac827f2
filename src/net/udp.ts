/** Kernel UDP sockets (mio's `UdpSocket` on Linux). */
import { sys, C } from "../native.js";
import { check, checkIo, WOULD_BLOCK, type WouldBlock } from "../error.js";
import { toSocketAddr, type SocketAddr, type SocketAddrLike } from "./socket-addr.js";
import { decodeInet, encodeInet } from "./sockaddr.js";
import { InetSocket, openBound, scratch } from "./inet.js";
import { checkBuf } from "./fd-source.js";
import type { UdpSocket } from "./network.js";

/** A kernel UDP socket. */
export class KernelUdpSocket extends InetSocket implements UdpSocket {
  static open(addr: SocketAddr): KernelUdpSocket {
    return new KernelUdpSocket(openBound(addr, C.SOCK_DGRAM), addr.family);
  }

  sendTo(buf: Uint8Array, addr: SocketAddrLike): number | WouldBlock {
    const to = toSocketAddr(addr);
    return checkIo(sys.sendto(this.fd, buf, 0, encodeInet(to, scratch)), "sendto");
  }

  recvFrom(buf: Uint8Array): [number, SocketAddr] | WouldBlock {
    return this.receiveFrom(buf, 0);
  }

  peekFrom(buf: Uint8Array): [number, SocketAddr] | WouldBlock {
    return this.receiveFrom(buf, C.MSG_PEEK);
  }

  private receiveFrom(buf: Uint8Array, flags: number): [number, SocketAddr] | WouldBlock {
    const n = checkIo(sys.recvfrom(this.fd, buf, flags, scratch), "recvfrom");
    if (n === WOULD_BLOCK) return n;
    return [n, decodeInet(scratch)];
  }

  connect(addr: SocketAddrLike): void {
    check(sys.connect(this.fd, encodeInet(toSocketAddr(addr), scratch)), "connect");
  }

  send(buf: Uint8Array): number | WouldBlock {
    return checkIo(sys.send(this.fd, buf, 0), "send");
  }

  recv(buf: Uint8Array): number | WouldBlock {
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
}
