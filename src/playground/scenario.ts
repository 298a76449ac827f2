/**
 * The playground's network: host `a` (and, with three hosts, host `c`)
 * sends a bulk transfer to host `b` across a bottleneck link with the
 * learner's loss, delay and bandwidth, in virtual time on a {@link Sim}.
 * Pure TypeScript, no Node module: it runs in the page and in the tests.
 *
 * The applications are written the mio way: one Poll, a token per socket,
 * edge-triggered events, every socket drained until WOULD_BLOCK. The
 * learner sees what the hosts send ({@link Playground.rows}: a sequence
 * diagram, TCP state changes and retransmissions), each sender's cwnd over
 * time ({@link Playground.cwnd}) and a pcap of it all ({@link Playground.pcap}).
 */
import { WOULD_BLOCK } from "../error.js";
import { Events } from "../poll/event.js";
import { Interest } from "../poll/interest.js";
import { Token } from "../poll/token.js";
import { Sim } from "../sim/sim.js";
import { SequenceDiagram } from "../labs/diagram.js";
import type { Link, LinkImpairments } from "../stack/iface/link.js";
import { PcapBuffer } from "../stack/iface/pcap-format.js";
import type { VirtualTcpListener } from "../stack/tcp/listener.js";
import type { VirtualTcpStream } from "../stack/tcp/socket.js";
import type { TcpState, TcpStats } from "../stack/tcp/connection.js";
import { IpProtocol, Ipv4Packet, TcpFlags, TcpPacket } from "../stack/wire/index.js";

/** What the learner sets. */
export interface PlaygroundSettings {
  /** 2: `a` → `b` on one link; 3: `a` and `c` share the bottleneck to `b` through a switch. */
  hosts: 2 | 3;
  /** Packets lost on the bottleneck, in percent (each direction), 0..50. */
  lossPercent: number;
  /** One-way delay of the bottleneck, ms, 0..2000. */
  delayMs: number;
  /** Bandwidth of the bottleneck, Mbit/s, 0.1..1000. */
  bandwidthMbps: number;
  /** Congestion control of the senders. */
  congestion: "newreno" | "cubic";
  /** Bytes each sender sends, in KiB, 1..16384. */
  transferKiB: number;
  /** Seed of every random choice (loss, initial sequence numbers). */
  seed: number;
}

/** The settings the page starts with. */
export const DEFAULT_SETTINGS: Readonly<PlaygroundSettings> = {
  hosts: 2,
  lossPercent: 1,
  delayMs: 20,
  bandwidthMbps: 10,
  congestion: "cubic",
  transferKiB: 256,
  seed: 1,
};

/** What a row of {@link Playground.rows} shows, for colouring. */
export type RowKind = "syn" | "fin" | "rst" | "data" | "ack" | "lost" | "state" | "retransmit" | "setting" | "done" | "other";

/** One line of what happened. */
export interface Row {
  /** virtual ms */
  timeMs: number;
  kind: RowKind;
  text: string;
}

/** One sender's progress. */
export interface SenderStatus {
  host: string;
  /** the sender's connection state ("CLOSED" before it starts and once it is gone) */
  state: TcpState;
  /** bytes the sender's application handed to TCP */
  written: number;
  /** bytes `b` received from it */
  delivered: number;
  /** whether every byte `b` received was the byte sent at that offset */
  intact: boolean;
  retransmits: number;
  cwnd: number;
  /** smoothed round-trip time, ms */
  srttMs: number;
  /** the error that ended the transfer (`ETIMEDOUT`, ...), if any */
  error: string | null;
  /** all bytes delivered and both directions closed, or failed */
  finished: boolean;
}

const PORT = 5001;
const LISTENER = Token(1);
const SENDER_TOKEN_BASE = 10;
const RECEIVER_TOKEN_BASE = 100;
/** How often the congestion windows are sampled, virtual ms. */
export const SAMPLE_MS = 10;
const CHUNK = 64 * 1024;
/** The states in which a sender's cwnd governs what it sends (sampled for the plot). */
const SENDING: ReadonlySet<TcpState> = new Set(["ESTABLISHED", "CLOSE-WAIT", "FIN-WAIT-1", "CLOSING", "LAST-ACK"]);

const ADDRESSES: Record<string, string> = { a: "10.0.0.1", b: "10.0.0.2", c: "10.0.0.3" };

/** How a dropped packet's row names the reason. */
const LOSS_NAMES: Record<string, string> = { loss: "lost on the link out of", queue: "tail-dropped by the full queue out of", mtu: "too big for the link out of" };

/** The byte at offset `i` of the stream host number `h` sends. */
function patternByte(h: number, i: number): number {
  return (i * 7 + (i >>> 8) + h * 101) & 0xff;
}

function range(name: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < lo || v > hi) {
    throw new RangeError(`${name} must be a number from ${lo} to ${hi}, got ${String(v)}`);
  }
  return v;
}

/** Checks settings from a form or a URL; throws a RangeError/TypeError naming the bad one. */
export function checkSettings(s: Partial<PlaygroundSettings>): PlaygroundSettings {
  const v = { ...DEFAULT_SETTINGS, ...s };
  if (v.hosts !== 2 && v.hosts !== 3) throw new RangeError(`hosts must be 2 or 3, got ${String(v.hosts)}`);
  if (v.congestion !== "newreno" && v.congestion !== "cubic") throw new TypeError(`congestion must be "newreno" or "cubic", got ${String(v.congestion)}`);
  range("lossPercent", v.lossPercent, 0, 50);
  range("delayMs", v.delayMs, 0, 2000);
  range("bandwidthMbps", v.bandwidthMbps, 0.1, 1000);
  range("transferKiB", v.transferKiB, 1, 16384);
  if (!Number.isSafeInteger(v.seed)) throw new RangeError(`seed must be an integer, got ${String(v.seed)}`);
  return v;
}

/** A sender and what `b` got from it. */
interface Flow {
  readonly host: string;
  readonly index: number;
  readonly stream: VirtualTcpStream;
  readonly total: number;
  written: number;
  sentFin: boolean;
  delivered: number;
  intact: boolean;
  receiver: VirtualTcpStream | null;
  receiverDone: boolean;
  senderDone: boolean;
  error: string | null;
  retransmits: number;
}

/** What can change while the transfer runs: the bottleneck's impairments. */
export type LiveSettings = Partial<Pick<PlaygroundSettings, "lossPercent" | "delayMs" | "bandwidthMbps">>;

/** The playground's world; see the module comment. */
export class Playground {
  /** The settings now (the live ones as last changed). */
  readonly settings: PlaygroundSettings;
  readonly sim: Sim;
  /** Everything that happened, in order. */
  readonly rows: Row[] = [];
  /** Each sender's `[virtual ms, cwnd bytes]`, every {@link SAMPLE_MS} while it has data to send. */
  readonly cwnd: Record<string, Array<[number, number]>> = {};
  /** Every packet any host sent. */
  readonly pcap = new PcapBuffer();
  private readonly flows: Flow[] = [];
  private readonly listener: VirtualTcpListener;
  private readonly bottleneck: Link;
  private readonly events = new Events(256);
  private readonly buf = new Uint8Array(CHUNK);
  private nextSample = 0;
  private finishedAt: number | null = null;

  constructor(settings: Partial<PlaygroundSettings> = {}) {
    this.settings = checkSettings(settings);
    const s = this.settings;
    const sim = (this.sim = new Sim({ seed: s.seed }));
    const tcp = { congestion: s.congestion, sendBuffer: 1 << 20, recvBuffer: 1 << 20 };
    const senders = s.hosts === 3 ? ["a", "c"] : ["a"];
    const hosts = new Map([...senders, "b"].map((h) => [h, sim.host(h, { addresses: [`${ADDRESSES[h]}/24`], tcp })]));
    const bottleneck = { ...impairmentsOf(s), mtu: 1500 };
    if (s.hosts === 2) this.bottleneck = sim.link("a", "b", bottleneck);
    else {
      sim.switch("sw");
      sim.link("a", "sw", { delayMs: 1 });
      sim.link("c", "sw", { delayMs: 1 });
      this.bottleneck = sim.link("sw", "b", bottleneck);
    }
    this.watch(hosts);
    const registry = sim.poll.registry();
    this.listener = hosts.get("b")!.tcpBind(`${ADDRESSES.b}:${PORT}`);
    registry.register(this.listener, LISTENER, Interest.READABLE);
    senders.forEach((host, index) => {
      const stream = hosts.get(host)!.tcpConnect(`${ADDRESSES.b}:${PORT}`);
      registry.register(stream, Token(SENDER_TOKEN_BASE + index), Interest.READABLE.add(Interest.WRITABLE));
      this.flows.push({
        host,
        index,
        stream,
        total: s.transferKiB * 1024,
        written: 0,
        sentFin: false,
        delivered: 0,
        intact: true,
        receiver: null,
        receiverDone: false,
        senderDone: false,
        error: null,
        retransmits: 0,
      });
      this.cwnd[host] = [];
    });
  }

  /** The current virtual time, ms. */
  now(): number {
    return this.sim.now();
  }

  /** Whether every transfer has ended (and the last packets of the teardown have landed). */
  finished(): boolean {
    return this.finishedAt !== null && this.now() >= this.finishedAt;
  }

  /**
   * Runs the network and the applications for `ms` of virtual time, or
   * until {@link finished}. Synchronous: the page calls it once a frame.
   */
  advance(ms: number): void {
    const end = this.now() + Math.max(0, ms);
    const poll = this.sim.poll;
    while (!this.finished() && this.now() < end) {
      poll.poll(this.events, Math.min(end, this.nextSample) - this.now());
      for (const e of this.events) this.dispatch(e.token());
      if (this.now() >= this.nextSample) {
        this.sample();
        this.nextSample = this.now() + SAMPLE_MS;
      }
      if (this.finishedAt === null && this.flows.every((f) => f.error !== null || (f.receiverDone && f.senderDone))) {
        // let the last ACK of the teardown land before calling it finished
        this.finishedAt = this.now() + 2 * this.settings.delayMs + 1;
        this.row("done", this.flows.map((f) => `${f.host}: ${f.error ?? `${f.delivered} bytes delivered${f.intact ? " intact" : " DAMAGED"}`}`).join("; "));
      }
    }
  }

  /**
   * Changes the bottleneck while the transfer runs (both directions, from
   * the current virtual time on: see `Link.configure`). Throws a RangeError
   * naming a bad value, and then changes nothing.
   */
  configure(live: LiveSettings): void {
    const next = checkSettings({ ...this.settings, ...pick(live) });
    this.bottleneck.configure(impairmentsOf(next));
    Object.assign(this.settings, next);
    this.row("setting", `the bottleneck now: loss ${next.lossPercent} %, one-way delay ${next.delayMs} ms, ${next.bandwidthMbps} Mbit/s`);
  }

  /** Each sender's progress now. */
  status(): SenderStatus[] {
    return this.flows.map((f) => {
      const stats = this.connectionStats(f);
      return {
        host: f.host,
        state: stats?.state ?? "CLOSED",
        written: f.written,
        delivered: f.delivered,
        intact: f.intact,
        retransmits: f.retransmits,
        cwnd: stats?.cwnd ?? 0,
        srttMs: stats?.srtt ?? 0,
        error: f.error,
        finished: f.error !== null || (f.receiverDone && f.senderDone),
      };
    });
  }

  /** Closes the Sim. */
  close(): void {
    this.sim.close();
  }

  private row(kind: RowKind, text: string): void {
    this.rows.push({ timeMs: this.now(), kind, text });
  }

  /** Draws packets, TCP state changes and retransmissions as rows; records the pcap. */
  private watch(hosts: Map<string, ReturnType<Sim["stack"]>>): void {
    const diagrams = new Map<string, SequenceDiagram>();
    const senderOf = new Map<string, string>();
    for (const h of hosts.keys()) {
      if (h === "b") continue;
      diagrams.set(h, new SequenceDiagram(h, "b", () => {}));
      senderOf.set(ADDRESSES[h]!, h);
    }
    this.sim.trace((packet, timeMs, from, dropped) => {
      if (dropped === undefined) this.pcap.write(packet, timeMs);
      if (packet.length < 20 || packet[0]! >> 4 !== 4) return;
      const ip = new Ipv4Packet(packet);
      const fromB = ip.src.join(".") === ADDRESSES.b;
      const sender = senderOf.get((fromB ? ip.dst : ip.src).join("."));
      const diagram = sender === undefined ? undefined : diagrams.get(sender);
      if (diagram === undefined) return;
      const line = diagram.render(fromB ? "rx" : "tx", packet, timeMs);
      if (dropped === undefined) this.rows.push({ timeMs, kind: kindOf(packet), text: line });
      else this.rows.push({ timeMs, kind: "lost", text: `${line.replace(/ ms  /, " ms ✗ ")}  (${LOSS_NAMES[dropped] ?? `dropped (${dropped}) at`} ${from})` });
    });
    for (const [name, stack] of hosts) {
      stack.on("tcp-state", (e) => this.row("state", `${name}: ${e.from} → ${e.to}  (${e.local} ↔ ${e.remote})`));
      stack.on("tcp-retransmit", (e) => {
        const flow = this.flows.find((f) => f.host === name);
        if (flow !== undefined) flow.retransmits++;
        this.row("retransmit", `${name}: retransmits ${e.length} bytes (cwnd ${e.stats.cwnd}, ssthresh ${e.stats.ssthresh}, rto ${Math.round(e.stats.rto)} ms)`);
      });
    }
  }

  private connectionStats(f: Flow): TcpStats | undefined {
    return Object.values(this.sim.stack(f.host).tcpStats())[0];
  }

  private sample(): void {
    for (const f of this.flows) {
      const stats = this.connectionStats(f);
      if (stats !== undefined && SENDING.has(stats.state)) this.cwnd[f.host]!.push([this.now(), stats.cwnd]);
    }
  }

  private dispatch(token: Token): void {
    if (token === LISTENER) return this.acceptAll();
    if (token >= RECEIVER_TOKEN_BASE) return this.receive(this.flows[token - RECEIVER_TOKEN_BASE]!);
    const flow = this.flows[token - SENDER_TOKEN_BASE];
    if (flow !== undefined) this.send(flow);
  }

  private acceptAll(): void {
    for (;;) {
      const r = this.listener.accept();
      if (r === WOULD_BLOCK) return;
      const [stream, peer] = r;
      const flow = this.flows.find((f) => ADDRESSES[f.host] === peer.ip);
      if (flow === undefined || flow.receiver !== null) {
        stream.close();
        continue;
      }
      flow.receiver = stream;
      this.sim.poll.registry().register(stream, Token(RECEIVER_TOKEN_BASE + flow.index), Interest.READABLE);
      this.receive(flow);
    }
  }

  /** `b`: reads until WOULD_BLOCK, checking every byte; at the end of the stream closes its side. */
  private receive(f: Flow): void {
    const s = f.receiver;
    if (s === null || f.receiverDone) return;
    for (;;) {
      let n: number | typeof WOULD_BLOCK;
      try {
        n = s.read(this.buf);
      } catch (err) {
        return this.fail(f, err);
      }
      if (n === WOULD_BLOCK) return;
      if (n === 0) {
        f.receiverDone = true;
        s.shutdown("write");
        return;
      }
      for (let i = 0; i < n; i++) if (this.buf[i] !== patternByte(f.index, f.delivered + i)) f.intact = false;
      f.delivered += n;
    }
  }

  /** A sender: writes until WOULD_BLOCK, then its FIN; reads `b`'s FIN. */
  private send(f: Flow): void {
    const s = f.stream;
    if (f.error !== null || f.senderDone) return;
    const err = s.takeError();
    if (err !== null) return this.fail(f, err);
    try {
      while (f.written < f.total) {
        const len = Math.min(CHUNK, f.total - f.written);
        const chunk = this.buf.subarray(0, len);
        for (let i = 0; i < len; i++) chunk[i] = patternByte(f.index, f.written + i);
        const n = s.write(chunk);
        if (n === WOULD_BLOCK) return;
        f.written += n;
      }
      if (!f.sentFin) {
        f.sentFin = true;
        s.shutdown("write");
      }
      for (;;) {
        const n = s.read(this.buf);
        if (n === WOULD_BLOCK) return;
        if (n === 0) {
          f.senderDone = true;
          s.close();
          return;
        }
      }
    } catch (e) {
      this.fail(f, e);
    }
  }

  private fail(f: Flow, err: unknown): void {
    if (f.error !== null) return;
    f.error = (err as { code?: string }).code ?? String(err);
    this.row("rst", `${f.host}: the transfer failed: ${String((err as Error).message ?? err)}`);
  }
}

/** The bottleneck's Link options for `s`. */
function impairmentsOf(s: PlaygroundSettings): LinkImpairments {
  return { delayMs: s.delayMs, loss: s.lossPercent / 100, bandwidthBps: s.bandwidthMbps * 1e6 };
}

/** Only the live settings of `live` (nothing else may change mid-run). */
function pick(live: LiveSettings): LiveSettings {
  const out: LiveSettings = {};
  for (const k of ["lossPercent", "delayMs", "bandwidthMbps"] as const) if (live[k] !== undefined) out[k] = live[k];
  return out;
}

/** How a row of `packet` is coloured. */
function kindOf(packet: Uint8Array): RowKind {
  if (packet.length < 20 || packet[0]! >> 4 !== 4) return "other";
  const ip = new Ipv4Packet(packet);
  if (ip.protocol !== IpProtocol.Tcp || ip.payload.length < 20) return "other";
  const tcp = new TcpPacket(ip.payload);
  if (tcp.flags & TcpFlags.RST) return "rst";
  if (tcp.flags & TcpFlags.SYN) return "syn";
  if (tcp.flags & TcpFlags.FIN) return "fin";
  return tcp.payload.length > 0 ? "data" : "ack";
}
