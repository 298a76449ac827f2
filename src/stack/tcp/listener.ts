/**
 * The virtual TcpListener: a bounded SYN queue (half-open connections) and
 * accept queue (the backlog). When the SYN queue is full the stack answers
 * SYNs with SYN cookies instead of queueing them (see syn-cookie.ts), so a
 * flood cannot grow memory nor lock clients out; established connections
 * wait in the accept queue, and while it is full new SYNs and completing
 * ACKs are dropped (Linux without tcp_abort_on_overflow).
 */
import { IoError, WOULD_BLOCK, type WouldBlock } from "../../error.js";
import { checkTtl } from "../../net/arg-checks.js";
import type { TcpListener } from "../../net/network.js";
import { SocketAddr } from "../../net/socket-addr.js";
import { C } from "../../native.js";
import { VirtualSource } from "../virtual-source.js";
import type { Poll } from "../../poll/poll.js";
import type { TcpConnection } from "./connection.js";
import { VirtualTcpStream, type StreamHost } from "./socket.js";

/** What a listener needs from its stack. @internal */
export interface ListenerHost extends StreamHost {
  /** The listener closed: release its port and reset what it still holds. */
  listenerClosed(listener: VirtualTcpListener): void;
}

export class VirtualTcpListener extends VirtualSource implements TcpListener {
  /** half-open connections (SYN-RECEIVED) */
  readonly synQueue = new Set<TcpConnection>();
  /** established, waiting for accept() */
  private readonly acceptQueue: TcpConnection[] = [];
  private ttlValue = 64;
  /** @internal when the stack last answered a SYN for this listener with a cookie */
  lastCookieAt = -Infinity;

  /** @internal */
  constructor(
    private readonly host: ListenerHost,
    readonly local: SocketAddr,
    readonly backlog: number,
    readonly synBacklog: number,
  ) {
    super();
  }

  protected readiness(): number {
    return this.acceptQueue.length > 0 ? C.EPOLLIN : 0;
  }

  /** @internal the Poll that drives this listener's stack (adapters register with it) */
  get stackPoll(): Poll | undefined {
    return this.host.poll;
  }

  accept(): [VirtualTcpStream, SocketAddr] | WouldBlock {
    this.live();
    const c = this.acceptQueue.shift();
    if (c === undefined) return WOULD_BLOCK;
    return [new VirtualTcpStream(this.host, c), SocketAddr.fromBytes(c.remote, c.remotePort)];
  }

  localAddr(): SocketAddr {
    this.live();
    return this.local;
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
    return null;
  }

  override close(): void {
    if (this.isClosed()) return;
    this.host.listenerClosed(this);
    this.acceptQueue.length = 0;
    this.synQueue.clear();
    super.close();
  }

  /** @internal room for one more half-open connection? */
  canTakeSyn(): boolean {
    return this.canAccept() && this.synQueue.size < this.synBacklog;
  }

  /** @internal room for one more established connection in the accept queue? */
  canAccept(): boolean {
    return !this.isClosed() && this.acceptQueue.length < this.backlog;
  }

  /** @internal the TTL accepted connections start with */
  childTtl(): number {
    return this.ttlValue;
  }

  /** @internal a half-open connection completed its handshake */
  established(c: TcpConnection): boolean {
    this.synQueue.delete(c);
    if (this.acceptQueue.length >= this.backlog) return false;
    this.acceptQueue.push(c);
    this.wake(C.EPOLLIN);
    return true;
  }

  /** @internal connections the listener still holds (to reset when it closes) */
  held(): TcpConnection[] {
    return [...this.synQueue, ...this.acceptQueue];
  }
}

