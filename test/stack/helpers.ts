/**
 * Shared helpers for the stack suites: a Stack on one end of a Link whose
 * other end the test drives by hand ("the wire"), two Stacks talking over a
 * Link, hand-built packets (with the wire builders), and pumps that move
 * virtual time.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Events, Poll, SimClock, Stack, WOULD_BLOCK, type StackOptions } from "../../src/index.js";
import type { UdpSocket } from "../../src/net/network.js";
import { formatIp, parseIp } from "../../src/net/socket-addr.js";
import { type Device, Link, type LinkEnd, type LinkOptions, PcapTap } from "../../src/stack/iface/index.js";
import {
  ICMP_HEADER,
  IPV4_MIN_HEADER,
  IPV6_FRAGMENT_HEADER,
  IPV6_HEADER,
  IpProtocol,
  Icmpv4Packet,
  Icmpv4Type,
  Icmpv6Packet,
  Icmpv6Type,
  Ipv4Packet,
  Ipv6Packet,
  UDP_HEADER,
  UdpPacket,
  echoRest,
  emitIcmpv4,
  emitIcmpv6,
  emitIpv4,
  emitIpv6,
  emitIpv6Fragment,
  emitUdp,
} from "../../src/stack/wire/index.js";

/** The bytes of an address literal (`"10.0.0.1"`, `"fd00::1"`). */
export function ip(s: string): Uint8Array {
  const b = parseIp(s);
  if (!b) throw new Error(`bad address literal ${s}`);
  return b;
}

/** `n` bytes of a recognisable pattern depending on `seed`. */
export function pattern(n: number, seed = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}

// ---- hand-built packets ----------------------------------------------------

/** Fields of a hand-built IPv4 datagram. */
export interface V4 {
  src: string;
  dst: string;
  protocol: number;
  ttl?: number;
  id?: number;
  /** byte offset of the data, multiple of 8 */
  offset?: number;
  more?: boolean;
}

/** An IPv4 datagram carrying `data`. */
export function ipv4(h: V4, data: Uint8Array): Uint8Array {
  const buf = new Uint8Array(IPV4_MIN_HEADER + data.length);
  emitIpv4(buf, {
    src: ip(h.src),
    dst: ip(h.dst),
    protocol: h.protocol,
    payloadLength: data.length,
    ttl: h.ttl ?? 64,
    identification: h.id ?? 0,
    fragmentOffset: h.offset ?? 0,
    moreFragments: h.more ?? false,
  });
  buf.set(data, IPV4_MIN_HEADER);
  return buf;
}

/** An IPv6 packet whose payload (after the fixed header) is `data`, first header `next`. */
export function ipv6(src: string, dst: string, next: number, data: Uint8Array, hopLimit = 64): Uint8Array {
  const buf = new Uint8Array(IPV6_HEADER + data.length);
  emitIpv6(buf, { src: ip(src), dst: ip(dst), nextHeader: next, payloadLength: data.length, hopLimit });
  buf.set(data, IPV6_HEADER);
  return buf;
}

/** A UDP datagram (header + data) with a valid checksum for `src` → `dst`. */
export function udp(src: string, dst: string, srcPort: number, dstPort: number, data: Uint8Array): Uint8Array {
  const buf = new Uint8Array(UDP_HEADER + data.length);
  buf.set(data, UDP_HEADER);
  emitUdp(buf, { srcPort, dstPort }, data.length, ip(src), ip(dst));
  return buf;
}

/** A whole UDP/IP packet (v4 or v6 by the address form). */
export function udpPacket(src: string, dst: string, srcPort: number, dstPort: number, data: Uint8Array): Uint8Array {
  const u = udp(src, dst, srcPort, dstPort, data);
  return src.includes(":") ? ipv6(src, dst, IpProtocol.Udp, u) : ipv4({ src, dst, protocol: IpProtocol.Udp }, u);
}

/** An ICMP echo request message (v4 or v6 by the address form). */
export function echoMessage(src: string, dst: string, identifier: number, sequence: number, body: Uint8Array): Uint8Array {
  const buf = new Uint8Array(ICMP_HEADER + body.length);
  buf.set(body, ICMP_HEADER);
  if (src.includes(":")) emitIcmpv6(buf, { type: Icmpv6Type.EchoRequest, rest: echoRest(identifier, sequence) }, body.length, ip(src), ip(dst));
  else emitIcmpv4(buf, { type: Icmpv4Type.EchoRequest, rest: echoRest(identifier, sequence) }, body.length);
  return buf;
}

/** A whole ICMP echo request packet (v4 or v6 by the address form). */
export function echoRequest(src: string, dst: string, identifier: number, sequence: number, body: Uint8Array): Uint8Array {
  const m = echoMessage(src, dst, identifier, sequence, body);
  return src.includes(":") ? ipv6(src, dst, IpProtocol.Icmpv6, m) : ipv4({ src, dst, protocol: IpProtocol.Icmp }, m);
}

/**
 * IPv4 fragments of `payload` (an upper-layer message): pieces of `chunk`
 * bytes (a multiple of 8), all with identification `id`.
 */
export function fragments4(h: Omit<V4, "offset" | "more">, payload: Uint8Array, chunk: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < payload.length; off += chunk) {
    const end = Math.min(off + chunk, payload.length);
    out.push(ipv4({ ...h, offset: off, more: end < payload.length }, payload.subarray(off, end)));
  }
  return out;
}

/** One IPv6 fragment: `data` at byte `offset` of the fragmentable part whose first header is `next`. */
export function fragment6(src: string, dst: string, next: number, id: number, offset: number, more: boolean, data: Uint8Array): Uint8Array {
  const body = new Uint8Array(IPV6_FRAGMENT_HEADER + data.length);
  emitIpv6Fragment(body, 0, { nextHeader: next, fragmentOffset: offset, moreFragments: more, identification: id });
  body.set(data, IPV6_FRAGMENT_HEADER);
  return ipv6(src, dst, IpProtocol.Ipv6Frag, body);
}

/** IPv6 fragments of `payload` in pieces of `chunk` bytes (a multiple of 8). */
export function fragments6(src: string, dst: string, next: number, id: number, payload: Uint8Array, chunk: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < payload.length; off += chunk) {
    const end = Math.min(off + chunk, payload.length);
    out.push(fragment6(src, dst, next, id, off, end < payload.length, payload.subarray(off, end)));
  }
  return out;
}

// ---- parsed views of what a stack sent ------------------------------------

/** A parsed packet a stack sent: the IP header fields and the upper-layer message. */
export interface Sent {
  version: 4 | 6;
  src: string;
  dst: string;
  /** upper-layer protocol (after the extension headers for IPv6) */
  protocol: number;
  ttl: number;
  /** IPv4 fragment fields, or the IPv6 Fragment header's */
  fragment: { offset: number; more: boolean; id: number } | null;
  /** the upper-layer bytes (ICMP message, UDP datagram, or fragment data) */
  l4: Uint8Array;
  /** the whole packet */
  raw: Uint8Array;
}

/** Parses a packet; throws if the IP header does not check (a stack must never send one like that). */
export function parse(raw: Uint8Array): Sent {
  const version = raw[0]! >> 4;
  if (version === 4) {
    const p = new Ipv4Packet(raw);
    const r = p.check();
    if (!r.ok) throw new Error(`stack sent a bad IPv4 packet: ${r.reason}`);
    return {
      version: 4,
      src: formatIp(p.src),
      dst: formatIp(p.dst),
      protocol: p.protocol,
      ttl: p.ttl,
      fragment: p.isFragment ? { offset: p.fragmentOffset, more: p.moreFragments, id: p.identification } : null,
      l4: p.payload.slice(),
      raw: raw.slice(),
    };
  }
  const p = new Ipv6Packet(raw);
  const r = p.check();
  if (!r.ok) throw new Error(`stack sent a bad IPv6 packet: ${r.reason}`);
  return {
    version: 6,
    src: formatIp(p.src),
    dst: formatIp(p.dst),
    protocol: p.upperProtocol,
    ttl: p.hopLimit,
    fragment: p.fragmentHeaderOffset >= 0 ? { offset: p.fragmentOffset, more: p.moreFragments, id: p.fragmentIdentification } : null,
    l4: p.upperPayload.slice(),
    raw: raw.slice(),
  };
}


/** An ICMPv4 view over a sent packet's message, checksum verified. */
export function icmp4(s: Sent): Icmpv4Packet {
  if (s.version !== 4 || s.protocol !== IpProtocol.Icmp) throw new Error(`not ICMPv4: v${s.version} proto ${s.protocol}`);
  const m = new Icmpv4Packet(s.l4);
  const r = m.check();
  if (!r.ok) throw new Error(`bad ICMPv4: ${r.reason}`);
  return m;
}

/** An ICMPv6 view over a sent packet's message, checksum verified. */
export function icmp6(s: Sent): Icmpv6Packet {
  if (s.version !== 6 || s.protocol !== IpProtocol.Icmpv6) throw new Error(`not ICMPv6: v${s.version} proto ${s.protocol}`);
  const m = new Icmpv6Packet(s.l4);
  const r = m.check(ip(s.src), ip(s.dst));
  if (!r.ok) throw new Error(`bad ICMPv6: ${r.reason}`);
  return m;
}

/** A UDP view over a sent packet's datagram, checksum verified. */
export function udpOf(s: Sent): UdpPacket {
  if (s.protocol !== IpProtocol.Udp || s.fragment !== null) throw new Error(`not a whole UDP datagram`);
  const u = new UdpPacket(s.l4);
  const r = u.check(ip(s.src), ip(s.dst));
  if (!r.ok) throw new Error(`bad UDP: ${r.reason}`);
  return u;
}

// ---- worlds ----------------------------------------------------------------

/** Addresses of the stack under test ("us") and of the hand-driven peer on the wire. */
export const US4 = "10.0.0.2";
export const PEER4 = "10.0.0.1";
export const US6 = "fd00::2";
export const PEER6 = "fd00::1";

/**
 * One Stack (10.0.0.2/24, fd00::2/64 by default) on `link.b`, in virtual
 * time; the test plays the peer on `link.a`: {@link WireWorld.inject} sends
 * packets to the stack, {@link WireWorld.sent} collects what it sent back.
 */
export interface WireWorld {
  poll: Poll;
  clock: SimClock;
  link: Link;
  wire: LinkEnd;
  stack: Stack;
  events: Events;
  /** transmits packets on the wire towards the stack (they arrive after the link delay) */
  inject(...packets: Uint8Array[]): void;
  /** runs the poll for `ms` of virtual time (0: just once) */
  run(ms?: number): void;
  /** everything the stack transmitted that has arrived on the wire so far, parsed */
  sent(): Sent[];
}

export function wireWorld(
  options: { link?: LinkOptions; stack?: Partial<StackOptions>; addresses?: string[] } = {},
): WireWorld {
  const clock = new SimClock();
  const poll = simPoll(clock);
  const link = new Link({ mtu: 1500, ...options.link });
  const stack = new Stack({
    poll,
    device: link.b,
    addresses: options.addresses ?? [`${US4}/24`, `${US6}/64`],
    ...options.stack,
  });
  const events = new Events(64);
  const wire = link.a;
  return {
    poll,
    clock,
    link,
    wire,
    stack,
    events,
    inject(...packets) {
      for (const p of packets) wire.transmit(p);
    },
    run(ms = 0) {
      runFor(poll, events, ms);
    },
    sent() {
      const out: Sent[] = [];
      for (let p = wire.receive(); p !== null; p = wire.receive()) out.push(parse(p));
      return out;
    },
  };
}

/**
 * Polls until `ms` of virtual time have passed on `poll`'s clock (events that
 * arrive meanwhile are discarded; sockets are read by the test afterwards).
 */
export function runFor(poll: Poll, events: Events, ms: number): void {
  const clock = clockOf(poll);
  const end = clock.now() + ms;
  for (let i = 0; i < 1_000_000; i++) {
    poll.poll(events, Math.max(0, end - clock.now()));
    if (clock.now() >= end) return;
  }
  throw new Error("runFor: too many polls");
}

const clocks = new WeakMap<Poll, SimClock>();

/** A Poll on a fresh SimClock (remembered for {@link runFor}). */
export function simPoll(clock = new SimClock()): Poll {
  const poll = new Poll({ clock });
  clocks.set(poll, clock);
  return poll;
}

function clockOf(poll: Poll): SimClock {
  const c = clocks.get(poll);
  if (!c) throw new Error("runFor needs a Poll made by simPoll(), wireWorld() or pair()");
  return c;
}

/** Two Stacks over a Link in virtual time: `a` (10.0.0.1, fd00::1) and `b` (10.0.0.2, fd00::2). */
export interface Pair {
  poll: Poll;
  clock: SimClock;
  link: Link;
  a: Stack;
  b: Stack;
  events: Events;
  run(ms?: number): void;
}

export interface PairOptions {
  link?: LinkOptions;
  a?: Partial<StackOptions>;
  b?: Partial<StackOptions>;
  /** wraps a side's Link end (a Tracer, a PcapTap) before its Stack gets it */
  wrapA?: (d: Device) => Device;
  wrapB?: (d: Device) => Device;
}

export function pair(options: PairOptions = {}): Pair {
  const clock = new SimClock();
  const poll = simPoll(clock);
  const link = new Link({ mtu: 1500, ...options.link });
  const devA = options.wrapA ? options.wrapA(link.a) : link.a;
  const devB = options.wrapB ? options.wrapB(link.b) : link.b;
  const a = new Stack({ poll, device: devA, addresses: [`${PEER4}/24`, `${PEER6}/64`], ...options.a });
  const b = new Stack({ poll, device: devB, addresses: [`${US4}/24`, `${US6}/64`], ...options.b });
  const events = new Events(64);
  return { poll, clock, link, a, b, events, run: (ms = 0) => runFor(poll, events, ms) };
}

/** A temp directory removed by the returned cleanup. */
export function tempDir(prefix = "tsmio-stack-"): { dir: string; file(name: string): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, file: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Whether the Internet checksum over `bytes` verifies, computed the slow,
 * obvious way (independent of src/stack/wire). For UDP and ICMPv6 pass the
 * addresses and protocol to add the pseudo-header.
 */
export function checksumOk(bytes: Uint8Array, pseudo?: { src: string; dst: string; protocol: number }): boolean {
  let sum = 0;
  const add = (b: Uint8Array): void => {
    for (let i = 0; i < b.length; i += 2) sum += (b[i]! << 8) | (i + 1 < b.length ? b[i + 1]! : 0);
  };
  if (pseudo) {
    add(ip(pseudo.src));
    add(ip(pseudo.dst));
    sum += pseudo.protocol + Math.floor(bytes.length / 0x10000) + (bytes.length & 0xffff);
  }
  add(bytes);
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum === 0xffff;
}

/** Every datagram waiting on `sock` (copied), with its sender, until WOULD_BLOCK. */
export function drain(sock: UdpSocket, max = 100_000): Array<{ data: Uint8Array; from: string }> {
  const buf = new Uint8Array(65536);
  const out: Array<{ data: Uint8Array; from: string }> = [];
  for (let i = 0; i < max; i++) {
    const r = sock.recvFrom(buf);
    if (r === WOULD_BLOCK) return out;
    out.push({ data: buf.slice(0, r[0]), from: r[1].toString() });
  }
  throw new Error(`drain: more than ${max} datagrams`);
}

/** Whether two byte arrays hold the same bytes. */
export function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

// ---- a recorded scenario: pings and UDP exchanges ---------------------------

/** What {@link recordScenario} saw, to check the run did what it should. */
export interface ScenarioResult {
  /** datagrams the client sent, and how many came back intact from the echo server */
  sent: number;
  echoed: number;
  /** an echoed datagram differed from what was sent (must stay 0) */
  corrupt: number;
  /** echo requests sent by hand on each side */
  pings: number;
  aStats: ReturnType<Stack["stats"]>;
  bStats: ReturnType<Stack["stats"]>;
}

/** A datagram's identity in {@link recordScenario}: its length and sequence number (or its bytes, when shorter). */
function keyOf(d: Uint8Array): string {
  return d.length >= 4 ? `${d.length}/${new DataView(d.buffer, d.byteOffset).getUint32(0)}` : `${d.length}/${Buffer.from(d).toString("hex")}`;
}

/**
 * Two Stacks over a seeded Link in virtual time, with a PcapTap on a's side
 * writing `path`: a's UDP client sends datagrams of several sizes (some
 * fragmented) to b's echo servers on IPv4 and IPv6, and echoes back; pings go
 * both ways (one fragmented, hand-built), and a datagram to a closed port
 * draws an ICMP port unreachable. Deterministic for a given `link.seed`.
 */
export function recordScenario(path: string, link: LinkOptions, rounds = 4): ScenarioResult {
  let tap: PcapTap | null = null;
  const p = pair({ link: { mtu: 1500, ...link }, wrapA: (d) => (tap = new PcapTap(d, path)) });
  if (tap === null) throw new Error("no tap");
  const pcap: PcapTap = tap;
  try {
    const servers = [p.b.udpBind(`${US4}:7`), p.b.udpBind(`[${US6}]:7`)];
    const clients = [p.a.udpBind(`${PEER4}:0`), p.a.udpBind(`[${PEER6}]:0`)];
    const targets = [`${US4}:7`, `[${US6}]:7`];
    const sizes = [0, 1, 100, 1472, 1473, 3001, 9000, 20_001];
    const sent = new Map<string, Uint8Array>();
    const result: ScenarioResult = { sent: 0, echoed: 0, corrupt: 0, pings: 0, aStats: p.a.stats(), bStats: p.b.stats() };
    const echo = (): void => {
      for (const s of servers) for (const d of drain(s)) s.sendTo(d.data, d.from);
      for (const s of clients) {
        for (const d of drain(s)) {
          const key = keyOf(d.data);
          const want = sent.get(key);
          if (want !== undefined && same(want, d.data)) result.echoed++;
          else result.corrupt++;
        }
      }
    };
    let seq = 0;
    for (let round = 0; round < rounds; round++) {
      for (const [i, c] of clients.entries()) {
        for (const size of sizes) {
          const data = pattern(size, seq);
          if (size >= 4) new DataView(data.buffer).setUint32(0, seq);
          sent.set(keyOf(data), data);
          seq++;
          c.sendTo(data, targets[i]!);
          result.sent++;
          p.run(2);
          echo();
        }
      }
      // pings from a (through the tap, as a ping program on host a would) and from b
      pcap.transmit(echoRequest(PEER4, US4, 0x77, round, pattern(56, round)));
      pcap.transmit(echoRequest(PEER6, US6, 0x77, round, pattern(56, round)));
      p.link.b.transmit(echoRequest(US4, PEER4, 0x99, round, pattern(32, round)));
      p.link.b.transmit(echoRequest(US6, PEER6, 0x99, round, pattern(32, round)));
      const big = echoRequest(PEER4, US4, 0x78, round, pattern(4000, round)).subarray(IPV4_MIN_HEADER);
      for (const f of fragments4({ src: PEER4, dst: US4, protocol: IpProtocol.Icmp, id: 0x4000 + round }, big, 1480)) pcap.transmit(f);
      const big6 = echoRequest(PEER6, US6, 0x78, round, pattern(3000, round)).subarray(IPV6_HEADER);
      for (const f of fragments6(PEER6, US6, IpProtocol.Icmpv6, 0x6000 + round, big6, 1232)) pcap.transmit(f);
      result.pings += 6;
      // a datagram nobody listens for: ICMP port unreachable comes back
      clients[round % 2]!.sendTo(pattern(10), round % 2 === 0 ? `${US4}:9` : `[${US6}]:9`);
      p.run(20);
      echo();
    }
    p.run(500);
    echo();
    for (const s of [...servers, ...clients]) s.close();
    result.aStats = p.a.stats();
    result.bStats = p.b.stats();
    return result;
  } finally {
    pcap.close();
    p.a.close();
    p.b.close();
  }
}
