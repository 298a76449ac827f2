/**
 * A packet sequence diagram for the terminal: one line per IPv4/IPv6 packet
 * (TCP, UDP, ICMP) between two named hosts, with the virtual time, an arrow
 * for the direction, and the header fields a learner looks at. TCP sequence
 * and acknowledgment numbers are shown relative to each direction's initial
 * sequence number, as Wireshark does.
 */
import { formatIp } from "../net/socket-addr.js";
import type { Direction } from "../stack/iface/wrapper.js";
import type { TraceFn } from "../stack/iface/tracer.js";
import {
  Icmpv4Packet,
  Icmpv4Type,
  Icmpv6Packet,
  IpProtocol,
  Ipv4Packet,
  Ipv6Packet,
  TcpFlags,
  TcpPacket,
  UdpPacket,
} from "../stack/wire/index.js";

/** Width of the arrow between the two host names, label included. */
const ARROW = 20;

const FLAG_NAMES: ReadonlyArray<[number, string]> = [
  [TcpFlags.SYN, "SYN"],
  [TcpFlags.FIN, "FIN"],
  [TcpFlags.RST, "RST"],
  [TcpFlags.PSH, "PSH"],
  [TcpFlags.ACK, "ACK"],
  [TcpFlags.URG, "URG"],
  [TcpFlags.ECE, "ECE"],
  [TcpFlags.CWR, "CWR"],
];

const ICMP4_NAMES: Record<number, string> = {
  [Icmpv4Type.EchoReply]: "echo-reply",
  [Icmpv4Type.DestinationUnreachable]: "unreachable",
  [Icmpv4Type.EchoRequest]: "echo-request",
  [Icmpv4Type.TimeExceeded]: "time-exceeded",
  [Icmpv4Type.ParameterProblem]: "param-problem",
};

/** The arrow label and the details of one packet. */
interface Described {
  label: string;
  details: string;
}

/**
 * Draws packets seen at host `left`'s device: what it transmits goes
 * `left ──▶ right`, what it receives `left ◀── right`. Use {@link trace} as
 * the function of a {@link Tracer} around `left`'s device.
 */
export class SequenceDiagram {
  /** Initial sequence number per TCP direction ("src:port>dst:port"). */
  private readonly isn = new Map<string, number>();
  private readonly pad: number;

  /** `line` receives each rendered line. */
  constructor(
    private readonly left: string,
    private readonly right: string,
    private readonly line: (text: string) => void,
  ) {
    this.pad = Math.max(left.length, 1);
  }

  /** A {@link TraceFn}: renders each packet as one line. */
  readonly trace: TraceFn = (direction: Direction, packet: Uint8Array, timeMs: number): void => {
    this.line(this.render(direction, packet, timeMs));
  };

  /** One diagram line for `packet` going `direction` at `timeMs`. */
  render(direction: Direction, packet: Uint8Array, timeMs: number): string {
    const d = this.describe(packet);
    const label = d.label.length > ARROW - 6 ? d.label.slice(0, ARROW - 6) : d.label;
    const fill = ARROW - 4 - label.length;
    const lead = Math.floor(fill / 2);
    const body = `${"─".repeat(lead)}${label}${"─".repeat(fill - lead)}`;
    const arrow = direction === "tx" ? `──${body}─▶` : `◀─${body}──`;
    return `${timeMs.toFixed(3).padStart(10)} ms  ${this.left.padStart(this.pad)} ${arrow} ${this.right}  ${d.details}`.trimEnd();
  }

  /** The label and details of any IP packet (never throws on garbage). */
  describe(packet: Uint8Array): Described {
    const version = packet.length > 0 ? packet[0]! >> 4 : 0;
    if (version === 4) {
      const ip = new Ipv4Packet(packet);
      if (!ip.check().ok) return { label: "bad IPv4", details: `${packet.length} bytes` };
      const hdr = `ttl=${ip.ttl}`;
      if (ip.isFragment) {
        const frag = `frag id=${ip.identification} off=${ip.fragmentOffset} len=${ip.payload.length}${ip.moreFragments ? " MF" : ""}`;
        if (ip.fragmentOffset !== 0) return { label: "FRAG", details: `${frag} ${hdr}` };
        return { label: "FRAG", details: `${frag} ${hdr} (first: ${this.upper(ip.protocol, ip.src, ip.dst, ip.payload, true).details})` };
      }
      const u = this.upper(ip.protocol, ip.src, ip.dst, ip.payload, false);
      return { label: u.label, details: `${u.details} ${hdr}${ip.dontFragment ? " DF" : ""}` };
    }
    if (version === 6) {
      const ip = new Ipv6Packet(packet);
      if (!ip.check().ok) return { label: "bad IPv6", details: `${packet.length} bytes` };
      const u = this.upper(ip.upperProtocol, ip.src, ip.dst, ip.upperPayload, ip.fragmentHeaderOffset >= 0);
      return { label: u.label, details: `${u.details} hlim=${ip.hopLimit}` };
    }
    return { label: "?", details: `${packet.length} bytes, not IP` };
  }

  private upper(protocol: number, src: Uint8Array, dst: Uint8Array, l4: Uint8Array, partial: boolean): Described {
    if (protocol === IpProtocol.Tcp) return this.tcp(src, dst, l4, partial);
    if (protocol === IpProtocol.Udp) {
      const u = new UdpPacket(l4);
      if (l4.length < 8) return { label: "UDP", details: "truncated" };
      const sum = partial ? "" : u.verifyChecksum(src, dst) ? " cksum ok" : " cksum BAD";
      return { label: "UDP", details: `${u.srcPort} → ${u.dstPort} len=${u.length - 8}${sum}` };
    }
    if (protocol === IpProtocol.Icmp) {
      const m = new Icmpv4Packet(l4);
      if (l4.length < 8) return { label: "ICMP", details: "truncated" };
      const name = ICMP4_NAMES[m.type] ?? `type ${m.type}`;
      const echo = m.type === Icmpv4Type.EchoRequest || m.type === Icmpv4Type.EchoReply;
      const mtu = m.type === Icmpv4Type.DestinationUnreachable && m.code === 4 ? ` mtu=${m.rest & 0xffff}` : "";
      const extra = echo ? ` id=${m.identifier} seq=${m.sequence} len=${m.body.length}` : ` code=${m.code}${mtu}${this.quoted(m.body)}`;
      return { label: echo ? (m.type === Icmpv4Type.EchoRequest ? "PING" : "PONG") : "ICMP", details: `icmp ${name}${extra}` };
    }
    if (protocol === IpProtocol.Icmpv6) {
      const m = new Icmpv6Packet(l4);
      return { label: "ICMPv6", details: `icmpv6 type=${m.type} code=${m.code}` };
    }
    return { label: `proto ${protocol}`, details: `${l4.length} bytes` };
  }

  /** The invoking datagram an ICMP error quotes, briefly. */
  private quoted(body: Uint8Array): string {
    const ip = new Ipv4Packet(body);
    if (body.length < 20 || ip.version !== 4) return "";
    const l4 = body.subarray(ip.headerLength);
    const hasPorts = ip.protocol === IpProtocol.Tcp || ip.protocol === IpProtocol.Udp;
    const ports = hasPorts && l4.length >= 4 ? ` ${(l4[0]! << 8) | l4[1]!} → ${(l4[2]! << 8) | l4[3]!}` : "";
    return ` quoting [${formatIp(ip.src)} → ${formatIp(ip.dst)} ttl=${ip.ttl} proto=${ip.protocol}${ports}]`;
  }

  private tcp(src: Uint8Array, dst: Uint8Array, l4: Uint8Array, partial: boolean): Described {
    const t = new TcpPacket(l4);
    if (partial || !t.check(src, dst).ok) return { label: "TCP", details: partial ? "tcp (fragment)" : "tcp (bad)" };
    const flags = FLAG_NAMES.filter(([bit]) => (t.flags & bit) !== 0).map(([, name]) => name);
    const named = flags.filter((f) => f !== "PSH").join(",") || "·";
    const label = t.payload.length > 0 ? `${named} ${t.payload.length}` : named;
    const fwd = `${formatIp(src)}:${t.srcPort}>${formatIp(dst)}:${t.dstPort}`;
    const rev = `${formatIp(dst)}:${t.dstPort}>${formatIp(src)}:${t.srcPort}`;
    if (t.syn || !this.isn.has(fwd)) this.isn.set(fwd, t.seqNumber);
    const seq = (t.seqNumber - this.isn.get(fwd)!) >>> 0;
    const peerIsn = this.isn.get(rev);
    const rel = (n: number): number => (peerIsn === undefined ? n : (n - peerIsn) >>> 0);
    const parts = [`[${flags.join(",")}]`, `seq=${seq}`];
    if (t.ack) parts.push(`ack=${rel(t.ackNumber)}`);
    parts.push(`win=${t.window}`, `len=${t.payload.length}`);
    const opts: string[] = [];
    if (t.mss >= 0) opts.push(`mss ${t.mss}`);
    if (t.windowScale >= 0) opts.push(`ws ${t.windowScale}`);
    if (t.sackPermitted) opts.push("sack_perm");
    if (t.hasTimestamps) opts.push(`ts ${t.tsVal}/${t.tsEcr}`);
    for (let i = 0; i < t.sackCount; i++) opts.push(`sack ${rel(t.sackLeft(i))}-${rel(t.sackRight(i))}`);
    if (opts.length > 0) parts.push(`<${opts.join(",")}>`);
    return { label, details: parts.join(" ") };
  }
}
