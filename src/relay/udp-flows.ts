/**
 * The relay's UDP: a flow per (command's socket, destination), each with a
 * kernel socket connected to the host-side target; answers come back from
 * the address the command sent to. Published UDP ports go the other way: a
 * host socket takes datagrams from clients, which enter the sandbox from
 * the client's address. A flow idle for `idleMs` is forgotten (Linux
 * conntrack forgets UDP after 30 s unanswered, 120 s answered; one time
 * here).
 */
import { IoError, WOULD_BLOCK } from "../error.js";
import type { UdpSocket } from "../net/network.js";
import type { SocketAddr } from "../net/socket-addr.js";
import { UdpSocket as KernelUdp } from "../net/kernel.js";
import type { Stack } from "../stack/stack.js";
import type { FlowRecord } from "./flow-record.js";

/** What the UDP flows need from the relay: registering sockets with its Poll. */
export interface FlowHost {
  readonly stack: Stack;
  /** Registers `source` for READABLE; `onReady` runs on each event. Returns the token. */
  watch(source: UdpSocket, onReady: () => void): number;
  /** A flow began: its record is kept for the statistics. */
  opened(record: FlowRecord): void;
  now(): number;
}

interface OutboundFlow {
  sock: UdpSocket;
  record: FlowRecord;
  /** the command's socket, and the address it sent to */
  client: SocketAddr;
  to: SocketAddr;
  last: number;
}

interface PublishedFlow {
  port: PublishedUdp;
  record: FlowRecord;
  /** the host-side client, who it is inside the sandbox, and the command's address it sends to */
  client: SocketAddr;
  inside: SocketAddr;
  target: SocketAddr;
  last: number;
}

/** A published UDP port: its host socket and how its clients enter the sandbox. */
interface PublishedUdp {
  sock: UdpSocket;
  /** a host-side client's address inside, and the command's address its datagrams go to */
  enter: (client: SocketAddr) => [inside: SocketAddr, target: SocketAddr];
  byClient: Map<string, PublishedFlow>;
}

/** Largest UDP payload (IPv6 jumbograms aside). */
const MAX_DATAGRAM = 65535;

export class UdpFlows {
  private readonly outbound = new Map<string, OutboundFlow>();
  /** published flows by "inside address>target": how the command's answers find their client */
  private readonly answers = new Map<string, PublishedFlow>();
  private readonly published: PublishedUdp[] = [];
  private readonly buf = new Uint8Array(MAX_DATAGRAM);

  constructor(
    private readonly host: FlowHost,
    private readonly idleMs: number,
  ) {}

  /**
   * A datagram from the command to `to`, bound for `target` on the host
   * side (null: refused). False when refused (the command gets ICMP port
   * unreachable).
   */
  fromCommand(payload: Uint8Array, client: SocketAddr, to: SocketAddr, target: SocketAddr | null): boolean {
    const key = `${client}>${to}`;
    const answer = this.answers.get(key);
    if (answer !== undefined) return this.answerClient(answer, payload);
    if (target === null) return false;
    let flow = this.outbound.get(key);
    if (flow === undefined) {
      let sock: UdpSocket;
      try {
        sock = KernelUdp.bind(target.family === 4 ? "0.0.0.0:0" : "[::]:0");
      } catch (e) {
        if (e instanceof IoError) return false;
        throw e;
      }
      try {
        sock.connect(target);
      } catch (e) {
        sock.close();
        if (e instanceof IoError) return false;
        throw e;
      }
      const record: FlowRecord = { protocol: "udp", from: client.toString(), to: to.toString(), via: target.toString(), up: 0, down: 0, end: null };
      const f: OutboundFlow = { sock, record, client, to, last: this.host.now() };
      this.host.watch(sock, () => this.toCommand(f));
      this.outbound.set(key, f);
      this.host.opened(record);
      flow = f;
    }
    flow.last = this.host.now();
    try {
      // a full socket buffer drops the datagram, as a router would
      if (flow.sock.send(payload) !== WOULD_BLOCK) flow.record.up += payload.length;
    } catch (e) {
      // an ICMP error the host got for an earlier datagram (ECONNREFUSED & co.): this one is dropped
      if (!(e instanceof IoError)) throw e;
    }
    return true;
  }

  /** Publishes `sock` (bound on the host): a client's datagrams enter the sandbox as `enter(client)` says. */
  publish(sock: UdpSocket, enter: (client: SocketAddr) => [inside: SocketAddr, target: SocketAddr]): void {
    const port: PublishedUdp = { sock, enter, byClient: new Map() };
    this.published.push(port);
    this.host.watch(sock, () => this.fromClients(port));
  }

  /** Forgets flows idle for longer than the idle time. */
  expire(now: number): void {
    for (const [key, f] of this.outbound) {
      if (now - f.last < this.idleMs) continue;
      f.sock.close();
      f.record.end = "idle";
      this.outbound.delete(key);
    }
    for (const [key, f] of this.answers) {
      if (now - f.last < this.idleMs) continue;
      f.record.end = "idle";
      f.port.byClient.delete(f.client.toString());
      this.answers.delete(key);
    }
  }

  /** When the next flow may expire, or null without flows. */
  nextExpiry(): number | null {
    let next: number | null = null;
    for (const f of this.outbound.values()) if (next === null || f.last + this.idleMs < next) next = f.last + this.idleMs;
    for (const f of this.answers.values()) if (next === null || f.last + this.idleMs < next) next = f.last + this.idleMs;
    return next;
  }

  /** Closes every socket. */
  close(): void {
    for (const f of this.outbound.values()) {
      f.sock.close();
      f.record.end ??= "closed";
    }
    for (const f of this.answers.values()) f.record.end ??= "closed";
    for (const p of this.published) p.sock.close();
    this.outbound.clear();
    this.answers.clear();
    this.published.length = 0;
  }

  /** Answers from the host side of an outbound flow, sent on from where the command sent to. */
  private toCommand(f: OutboundFlow): void {
    for (;;) {
      let n: number | typeof WOULD_BLOCK;
      try {
        n = f.sock.recv(this.buf);
      } catch (e) {
        // ECONNREFUSED & co.: an ICMP error about an earlier datagram
        if (!(e instanceof IoError)) throw e;
        continue;
      }
      if (n === WOULD_BLOCK) return;
      f.last = this.host.now();
      if (this.sendInside(f.to, f.client, this.buf.subarray(0, n))) f.record.down += n;
    }
  }

  /** Datagrams from clients of a published port, into the sandbox. */
  private fromClients(port: PublishedUdp): void {
    for (;;) {
      let r: [number, SocketAddr] | typeof WOULD_BLOCK;
      try {
        r = port.sock.recvFrom(this.buf);
      } catch (e) {
        if (!(e instanceof IoError)) throw e;
        continue;
      }
      if (r === WOULD_BLOCK) return;
      const [n, client] = r;
      const ck = client.toString();
      let f = port.byClient.get(ck);
      if (f === undefined) {
        const [inside, target] = port.enter(client);
        const record: FlowRecord = { protocol: "udp", from: ck, to: target.toString(), via: `${inside} (published)`, up: 0, down: 0, end: null };
        f = { port, record, client, inside, target, last: 0 };
        port.byClient.set(ck, f);
        this.answers.set(`${target}>${inside}`, f);
        this.host.opened(record);
      }
      f.last = this.host.now();
      if (this.sendInside(f.inside, f.target, this.buf.subarray(0, n))) f.record.down += n;
    }
  }

  /** The command answered a client of a published port. */
  private answerClient(f: PublishedFlow, payload: Uint8Array): boolean {
    f.last = this.host.now();
    try {
      if (f.port.sock.sendTo(payload, f.client) !== WOULD_BLOCK) f.record.up += payload.length;
    } catch (e) {
      if (!(e instanceof IoError)) throw e;
    }
    return true;
  }

  /** Sends a datagram into the sandbox; false when the stack refuses it (too big, no route). */
  private sendInside(from: SocketAddr, to: SocketAddr, payload: Uint8Array): boolean {
    try {
      this.host.stack.udpSendFrom(from, to, payload);
      return true;
    } catch (e) {
      if (e instanceof IoError) return false;
      throw e;
    }
  }
}
