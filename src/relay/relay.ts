/**
 * The relay of `tsmio run`: a forwarding {@link Stack} on the sandbox's
 * TUN device, answering as the gateway, and kernel sockets on the host, in
 * one Poll. Each TCP connection the command opens is held at its SYN until
 * the host-side connect succeeds (then SYN-ACK) or fails (RST or ICMP
 * unreachable, as the host's connect failed), then spliced
 * ({@link TcpSplice}); each UDP flow gets a connected host socket
 * ({@link UdpFlows}). Published ports listen on the host and open
 * connections into the sandbox from the client's address.
 */
import { IoError } from "../error.js";
import { sys } from "../native.js";
import type { Device } from "../stack/iface/device.js";
import type { Event } from "../poll/event.js";
import { Interest } from "../poll/interest.js";
import type { Poll } from "../poll/poll.js";
import type { Source } from "../poll/source.js";
import { Token } from "../poll/token.js";
import { TcpListener as KernelTcp, TcpStream as KernelStream, UdpSocket as KernelUdp } from "../net/kernel.js";
import type { TcpListener, TcpStream } from "../net/network.js";
import { SocketAddr } from "../net/socket-addr.js";
import { isLoopback } from "../stack/iface/cidr.js";
import type { TcpForwardRequest } from "../stack/forward.js";
import { Stack } from "../stack/stack.js";
import type { TcpConfig } from "../stack/tcp/connection.js";
import { Destinations } from "./destinations.js";
import type { FlowRecord } from "./flow-record.js";
import { GATEWAY4, GATEWAY6, GUEST4, GUEST6, RELAY_ADDRESSES, planIp } from "./network-plan.js";
import { OutboundPolicy } from "./outbound-policy.js";
import { TcpSplice, type SpliceEnd } from "./tcp-splice.js";
import { UdpFlows } from "./udp-flows.js";

/** A host port published into the sandbox (`-p [IP:]HOSTPORT:PORT[/udp]`). */
export interface PublishedPort {
  /** The host address listened on, canonical (`"127.0.0.1"` unless `-p` names one). */
  hostIp: string;
  /** The host port listened on, 1..65535. */
  hostPort: number;
  /** The port connected to in the sandbox (on 10.0.2.100 or fd00::100), 1..65535. */
  port: number;
  protocol: "tcp" | "udp";
}

/** Options for {@link Relay}. */
export interface RelayOptions {
  /** The Poll the relay's sockets and stack run in. */
  poll: Poll;
  /** The sandbox's side: its TUN device. */
  device: Device;
  /** Whether the gateway addresses reach the host's 127.0.0.1 and ::1. Default false. */
  hostLoopback?: boolean;
  /** Which destinations the command may reach. Default: all. */
  outbound?: OutboundPolicy;
  /** Resolvers for the DNS address (the first is used). Default none: DNS queries are refused. */
  dns?: readonly string[];
  /** Host ports to publish into the sandbox. */
  publish?: readonly PublishedPort[];
  /** How long an idle UDP flow is kept, ms. Default 60,000. */
  udpIdleMs?: number;
  /** TCP settings of the relay's stack. */
  tcp?: Partial<TcpConfig>;
}

/** The first token the relay gives out: below it, the caller's own (a Waker). */
export const FIRST_RELAY_TOKEN = 16;
/** What one read moves between the two sides of a connection, at most. */
const SPLICE_CHUNK = 256 * 1024;
/** Flow records kept for the statistics; past it, the oldest ended ones go. */
const MAX_RECORDS = 10_000;

const READ_WRITE = Interest.READABLE.add(Interest.WRITABLE);

export class Relay {
  /** The stack answering for the gateway. */
  readonly stack: Stack;
  private readonly handlers = new Map<number, () => void>();
  private readonly splices = new Set<TcpSplice>();
  private readonly listeners: TcpListener[] = [];
  private readonly udp: UdpFlows;
  private readonly destinations: Destinations;
  private readonly scratch = new Uint8Array(SPLICE_CHUNK);
  private readonly records: FlowRecord[] = [];
  private droppedRecords = 0;
  private nextToken = FIRST_RELAY_TOKEN;
  private closed = false;

  /**
   * Builds the relay and binds its published ports; throws {@link IoError}
   * (EADDRINUSE, EADDRNOTAVAIL...) naming the port when one cannot be bound.
   */
  constructor(private readonly options: RelayOptions) {
    const { poll, device } = options;
    this.destinations = new Destinations({
      hostLoopback: options.hostLoopback ?? false,
      dns: options.dns ?? [],
      outbound: options.outbound ?? OutboundPolicy.ALL,
    });
    this.stack = new Stack({
      poll,
      device,
      addresses: RELAY_ADDRESSES,
      tcp: options.tcp,
      forward: {
        tcp: (request) => this.connectOut(request),
        udp: (payload, from, to) => this.udp.fromCommand(payload, from, to, this.destinations.target(to)),
      },
    });
    this.udp = new UdpFlows(
      {
        stack: this.stack,
        watch: (sock, onReady) => this.watch(sock, Interest.READABLE, onReady),
        opened: (record) => this.record(record),
        now: () => Date.now(),
      },
      options.udpIdleMs ?? 60_000,
    );
    try {
      for (const p of options.publish ?? []) this.publish(p);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** Handles an event of the relay's Poll; false when its token is not one of the relay's. */
  handle(event: Event): boolean {
    const h = this.handlers.get(event.token());
    if (h === undefined) return false;
    h();
    return true;
  }

  /** Forgets idle UDP flows; returns how long until it next needs to (ms), or null. */
  tick(now = Date.now()): number | null {
    this.udp.expire(now);
    const next = this.udp.nextExpiry();
    return next === null ? null : Math.max(0, next - now);
  }

  /** Every flow so far (the oldest ended ones beyond 10,000 are left out), and how many were left out. */
  flows(): { records: FlowRecord[]; omitted: number } {
    return { records: [...this.records], omitted: this.droppedRecords };
  }

  /**
   * Whether every relayed connection has passed on everything the command
   * sent, its end included: after the command exits, the relay runs until
   * then (bounded) so that no byte the stack acknowledged is lost.
   */
  drained(): boolean {
    for (const s of this.splices) if (!s.upstreamDone) return false;
    return true;
  }

  /**
   * Stops: closes every relayed connection (gracefully if everything the
   * command sent went out, see {@link TcpSplice.stop}; with a reset
   * otherwise), every socket and the stack. The device is the caller's.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.splices]) s.stop();
    for (const l of this.listeners) l.close();
    this.udp?.close();
    this.stack.close();
    this.handlers.clear();
  }

  // ---- outbound TCP ----------------------------------------------------------

  /** A SYN from the command: connect on the host side first, then answer it. */
  private connectOut(request: TcpForwardRequest): void {
    const target = this.destinations.target(request.local);
    const record: FlowRecord = {
      protocol: "tcp",
      from: request.remote.toString(),
      to: request.local.toString(),
      via: target?.toString() ?? "-",
      up: 0,
      down: 0,
      end: null,
    };
    this.record(record);
    if (target === null) {
      record.end = "refused";
      return request.refuse("reset");
    }
    let outer: TcpStream;
    try {
      outer = KernelStream.connect(target);
    } catch (e) {
      if (!(e instanceof IoError)) throw e;
      record.end = "refused";
      return request.refuse(refusalFor(e.code));
    }
    const token = this.watch(outer, READ_WRITE, () => {
      let error: IoError | null;
      try {
        error = outer.takeError();
        if (error === null) outer.peerAddr();
      } catch (e) {
        if (!(e instanceof IoError)) throw e;
        if (e.code === "ENOTCONN") return; // not yet
        error = e;
      }
      if (error !== null) {
        this.unwatch(token);
        outer.close();
        record.end = "refused";
        return request.refuse(refusalFor(error.code));
      }
      outer.setNoDelay(true);
      const inner = request.accept();
      this.splice(inner, outer, null, record, token);
    });
  }

  // ---- published ports ---------------------------------------------------------

  private publish(p: PublishedPort): void {
    const host = p.hostIp.includes(":") ? `[${p.hostIp}]:${p.hostPort}` : `${p.hostIp}:${p.hostPort}`;
    let source: TcpListener | ReturnType<typeof KernelUdp.bind>;
    try {
      source = p.protocol === "tcp" ? KernelTcp.bind(host) : KernelUdp.bind(host);
    } catch (e) {
      if (e instanceof IoError) throw new IoError(e.code, `cannot publish ${host}/${p.protocol}: ${sys.strerror(e.errno)}`);
      throw e;
    }
    if (p.protocol === "udp") {
      const sock = source as ReturnType<typeof KernelUdp.bind>;
      return this.udp.publish(sock, (client) => {
        const inside = insideOf(client);
        return [inside, guestAddr(inside.family, p.port)];
      });
    }
    const listener = source as TcpListener;
    this.listeners.push(listener);
    this.watch(listener, Interest.READABLE, () => this.acceptPublished(listener, p.port));
  }

  /** Connections to a published TCP port: each opens one into the sandbox from the client's address. */
  private acceptPublished(listener: TcpListener, port: number): void {
    for (;;) {
      let r: ReturnType<TcpListener["accept"]>;
      try {
        r = listener.accept();
      } catch (e) {
        // ECONNABORTED & co.: that client is gone
        if (e instanceof IoError) continue;
        throw e;
      }
      if (typeof r === "symbol") return;
      const [outer, client] = r;
      const inside = insideOf(client);
      const target = guestAddr(inside.family, port);
      const record: FlowRecord = { protocol: "tcp", from: client.toString(), to: target.toString(), via: `${inside} (published)`, up: 0, down: 0, end: null };
      this.record(record);
      let inner: TcpStream;
      try {
        inner = this.stack.tcpConnectFrom(inside, target);
      } catch (e) {
        if (!(e instanceof IoError)) throw e;
        record.end = "refused";
        outer.setLinger(0);
        outer.close();
        continue;
      }
      outer.setNoDelay(true);
      this.splice(inner, outer, inner, record, null);
    }
  }

  // ---- splices and tokens ------------------------------------------------------

  /** Splices `inner` and `outer`; `outerToken`: outer's registration, if it has one. */
  private splice(inner: TcpStream, outer: TcpStream, connecting: TcpStream | null, record: FlowRecord, outerToken: number | null): void {
    inner.setNoDelay(true);
    let innerToken = -1;
    const splice = new TcpSplice(inner, outer, connecting, this.scratch, (s: TcpSplice, how: SpliceEnd) => {
      this.splices.delete(s);
      this.handlers.delete(innerToken);
      this.handlers.delete(oToken);
      record.up = s.bytesUp;
      record.down = s.bytesDown;
      record.end = how;
    });
    const pump = (): void => {
      splice.pump();
      record.up = splice.bytesUp;
      record.down = splice.bytesDown;
    };
    this.splices.add(splice);
    innerToken = this.watch(inner, READ_WRITE, pump);
    const oToken = outerToken ?? this.watch(outer, READ_WRITE, pump);
    this.handlers.set(oToken, pump);
    pump();
  }

  private watch(source: Source, interest: Interest, onReady: () => void): number {
    const token = this.nextToken++;
    this.options.poll.registry().register(source, Token(token), interest);
    this.handlers.set(token, onReady);
    return token;
  }

  private unwatch(token: number): void {
    this.handlers.delete(token);
  }

  private record(r: FlowRecord): void {
    if (this.records.length >= MAX_RECORDS) {
      const i = this.records.findIndex((x) => x.end !== null);
      if (i >= 0) {
        this.records.splice(i, 1);
        this.droppedRecords++;
      }
    }
    this.records.push(r);
  }
}

/** How a SYN is turned down when the host's connect failed with `code`. */
function refusalFor(code: string): "reset" | "unreachable" | "prohibited" {
  if (code === "ECONNREFUSED") return "reset";
  if (code === "EACCES" || code === "EPERM") return "prohibited";
  return "unreachable";
}

/**
 * Who a host-side client is inside the sandbox: itself, but the host's
 * loopback (which the sandbox would drop as a martian) is the gateway, and
 * an IPv4-mapped IPv6 client its IPv4 address.
 */
function insideOf(client: SocketAddr): SocketAddr {
  let ip = client.ipBytes();
  if (ip.length === 16 && isV4Mapped(ip)) ip = ip.subarray(12);
  if (isLoopback(ip)) return SocketAddr.fromBytes(planIp(ip.length === 4 ? GATEWAY4 : GATEWAY6), client.port);
  return ip === client.ipBytes() ? client : SocketAddr.fromBytes(ip, client.port);
}

/** The command's address of `family`, with `port`. */
function guestAddr(family: 4 | 6, port: number): SocketAddr {
  return SocketAddr.fromBytes(planIp(family === 4 ? GUEST4 : GUEST6), port);
}

function isV4Mapped(ip: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return false;
  return ip[10] === 0xff && ip[11] === 0xff;
}
