/**
 * The virtual UDP socket: a kernel UdpSocket's behaviour on the userspace
 * stack. Received datagrams wait in a bounded queue (like SO_RCVBUF); errors
 * from ICMP (ECONNREFUSED on a connected socket) are pending until read,
 * sent or taken, exactly where Linux reports them.
 */
import { C } from "../../native.js";
import { IoError, WOULD_BLOCK, type WouldBlock } from "../../error.js";
import { SocketAddr, toSocketAddr, type SocketAddrLike } from "../../net/socket-addr.js";
import type { UdpSocket } from "../../net/network.js";
import { checkBuf, checkTtl } from "../../net/arg-checks.js";
import { VirtualSource } from "../virtual-source.js";

/** What a UDP socket needs from its stack. @internal */
export interface UdpHost {
  /** Sends one datagram; throws IoError (ENETUNREACH, EMSGSIZE, ...). */
  udpSend(sock: VirtualUdpSocket, payload: Uint8Array, dst: SocketAddr): void;
  /** The local address a connect to `dst` would use. */
  udpConnectLocal(sock: VirtualUdpSocket, dst: SocketAddr): SocketAddr;
  /** Releases the socket's port. */
  udpClose(sock: VirtualUdpSocket): void;
}

interface Datagram {
  data: Uint8Array;
  from: SocketAddr;
}

/** Linux's default net.core.rmem_default, counted as payload + 768 bytes overhead per datagram. */
const RCVBUF = 212992;
const OVERHEAD = 768;
const EPOLLIN = C.EPOLLIN;
const EPOLLOUT = C.EPOLLOUT;
const EPOLLERR = C.EPOLLERR;

/** A UDP socket of a userspace `Stack`. */
export class VirtualUdpSocket extends VirtualSource implements UdpSocket {
  private readonly rx: Datagram[] = [];
  private rxHead = 0;
  private rxBytes = 0;
  private peer: SocketAddr | null = null;
  private error: string | null = null;
  private ttlValue = 64;
  private broadcastOn = false;
  /** datagrams dropped because the receive queue was full */
  drops = 0;

  /** @internal made by `Stack.udpBind` */
  constructor(
    private readonly host: UdpHost,
    private local: SocketAddr,
  ) {
    super();
  }

  protected readiness(): number {
    return EPOLLOUT | (this.rxHead < this.rx.length ? EPOLLIN : 0) | (this.error !== null ? EPOLLERR : 0);
  }

  sendTo(buf: Uint8Array, addr: SocketAddrLike): number | WouldBlock {
    checkBuf(buf);
    const dst = toSocketAddr(addr);
    this.live();
    this.throwPending();
    this.host.udpSend(this, buf, dst);
    this.wake(EPOLLOUT);
    return buf.length;
  }

  recvFrom(buf: Uint8Array): [number, SocketAddr] | WouldBlock {
    return this.receive(buf, false);
  }

  peekFrom(buf: Uint8Array): [number, SocketAddr] | WouldBlock {
    return this.receive(buf, true);
  }

  private receive(buf: Uint8Array, peek: boolean): [number, SocketAddr] | WouldBlock {
    checkBuf(buf);
    this.live();
    this.throwPending();
    if (this.rxHead === this.rx.length) return WOULD_BLOCK;
    const d = this.rx[this.rxHead]!;
    const n = Math.min(buf.length, d.data.length);
    buf.set(d.data.subarray(0, n));
    if (!peek) {
      this.rx[this.rxHead++] = undefined as unknown as Datagram;
      this.rxBytes -= d.data.length + OVERHEAD;
      if (this.rxHead === this.rx.length) {
        this.rx.length = 0;
        this.rxHead = 0;
      }
    }
    return [n, d.from];
  }

  connect(addr: SocketAddrLike): void {
    const dst = toSocketAddr(addr);
    this.live();
    this.local = this.host.udpConnectLocal(this, dst);
    this.peer = dst;
  }

  send(buf: Uint8Array): number | WouldBlock {
    checkBuf(buf);
    this.live();
    if (this.peer === null) throw new IoError("EDESTADDRREQ", undefined, "send");
    return this.sendTo(buf, this.peer);
  }

  recv(buf: Uint8Array): number | WouldBlock {
    const r = this.recvFrom(buf);
    return r === WOULD_BLOCK ? r : r[0];
  }

  peek(buf: Uint8Array): number | WouldBlock {
    const r = this.peekFrom(buf);
    return r === WOULD_BLOCK ? r : r[0];
  }

  localAddr(): SocketAddr {
    this.live();
    return this.local;
  }

  peerAddr(): SocketAddr {
    this.live();
    if (this.peer === null) throw new IoError("ENOTCONN", undefined, "getpeername");
    return this.peer;
  }

  setBroadcast(on: boolean): void {
    if (typeof on !== "boolean") throw new TypeError("broadcast must be a boolean");
    this.live();
    this.broadcastOn = on;
  }

  broadcast(): boolean {
    this.live();
    return this.broadcastOn;
  }

  setTtl(ttl: number): void {
    checkTtl(ttl);
    this.live();
    this.ttlValue = ttl;
  }

  ttl(): number {
    this.live();
    return this.ttlValue;
  }

  takeError(): IoError | null {
    this.live();
    const e = this.error;
    this.error = null;
    return e === null ? null : new IoError(e, undefined, "SO_ERROR");
  }

  override close(): void {
    if (this.isClosed()) return;
    this.host.udpClose(this);
    this.rx.length = 0;
    this.rxHead = 0;
    super.close();
  }

  /** Throws (and clears) a pending error, as the kernel's recv/send paths do. */
  private throwPending(): void {
    if (this.error === null) return;
    const e = this.error;
    this.error = null;
    throw new IoError(e);
  }

  /** @internal the peer, when connected */
  connectedTo(): SocketAddr | null {
    return this.peer;
  }

  /** @internal queues an arriving datagram (copied); false if the queue is full */
  deliver(payload: Uint8Array, from: SocketAddr): boolean {
    const cost = payload.length + OVERHEAD;
    if (this.rxBytes + cost > RCVBUF) {
      this.drops++;
      return false;
    }
    this.rx.push({ data: payload.slice(), from });
    this.rxBytes += cost;
    this.wake(EPOLLIN);
    return true;
  }

  /** @internal an ICMP error for this connected socket (errno name) */
  setError(code: string): void {
    this.error = code;
    this.wake(EPOLLERR);
  }
}
