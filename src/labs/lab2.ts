/**
 * Lab 2: ping over a simulated link. The lab plays host `a` by hand (it
 * writes ICMP and UDP datagrams on the wire); host `b` is a userspace
 * Stack. Shows echo and round-trip time, TTL, ICMP errors (port
 * unreachable, reassembly time exceeded) and IPv4 fragmentation both ways;
 * then, through two routers of a Sim, a traceroute (TTL exceeded in
 * transit) and path MTU discovery (DF, Fragmentation Needed).
 */
import { join } from "node:path";
import { WOULD_BLOCK } from "../error.js";
import { parseIp } from "../net/socket-addr.js";
import { SimClock } from "../poll/clock.js";
import { Events } from "../poll/event.js";
import { Poll } from "../poll/poll.js";
import { Sim } from "../sim/sim.js";
import { accept, connect, readToEnd, writeAll } from "../sim/sockets.js";
import { Link, PcapTap, Tracer } from "../stack/iface/index.js";
import { Stack } from "../stack/stack.js";
import {
  ICMP_HEADER,
  IPV4_MIN_HEADER,
  Icmpv4Packet,
  Icmpv4Type,
  IpProtocol,
  Ipv4Packet,
  UDP_HEADER,
  echoRest,
  emitIcmpv4,
  emitIpv4,
  emitUdp,
} from "../stack/wire/index.js";
import { SequenceDiagram } from "./diagram.js";
import type { Lab, LabOutput } from "./index.js";

const A = "10.0.0.1";
const B = "10.0.0.2";
const DELAY_MS = 10;
const MTU = 1500;
const REASSEMBLY_MS = 5000;

function addr(s: string): Uint8Array {
  const b = parseIp(s);
  if (b === null) throw new Error(`bad address ${s}`);
  return b;
}

/** IPv4 datagrams from a to b carrying `l4` (split into fragments of at most `chunk` data bytes, a multiple of 8). */
function datagrams(protocol: number, l4: Uint8Array, options: { ttl?: number; id?: number; chunk?: number } = {}): Uint8Array[] {
  const chunk = options.chunk ?? l4.length;
  const out: Uint8Array[] = [];
  for (let off = 0; off < l4.length; off += chunk) {
    const piece = l4.subarray(off, Math.min(off + chunk, l4.length));
    const p = new Uint8Array(IPV4_MIN_HEADER + piece.length);
    emitIpv4(p, {
      src: addr(A),
      dst: addr(B),
      protocol,
      payloadLength: piece.length,
      ttl: options.ttl ?? 64,
      identification: options.id ?? 0,
      fragmentOffset: off,
      moreFragments: off + piece.length < l4.length,
    });
    p.set(piece, IPV4_MIN_HEADER);
    out.push(p);
  }
  return out;
}

function echo(sequence: number, size: number): Uint8Array {
  const m = new Uint8Array(ICMP_HEADER + size);
  for (let i = 0; i < size; i++) m[ICMP_HEADER + i] = i & 0xff;
  emitIcmpv4(m, { type: Icmpv4Type.EchoRequest, rest: echoRest(0x4242, sequence) }, size);
  return m;
}

async function run(out: LabOutput): Promise<void> {
  out.line("Lab 2 — ping over a simulated link: TTL, ICMP errors, fragmentation");
  out.line(`host a = ${A} (this lab, writing packets by hand), host b = ${B} (a userspace stack)`);
  out.line(`link: ${DELAY_MS} ms each way, MTU ${MTU}; b keeps incomplete datagrams ${REASSEMBLY_MS} ms`);
  const clock = new SimClock();
  const poll = new Poll({ clock });
  const link = new Link({ delayMs: DELAY_MS, mtu: MTU });
  const pcap = join(out.dir, "lab2.pcap");
  const tap = new PcapTap(link.a, pcap);
  const wire = new Tracer(tap, new SequenceDiagram("a", "b", out.line).trace);
  wire.attach(clock);
  const b = new Stack({ poll, device: link.b, addresses: [`${B}/24`], seed: 2, reassemblyTimeoutMs: REASSEMBLY_MS });
  const events = new Events(16);
  /** Runs for `ms` of virtual time, returning what reached a and when. */
  const runFor = (ms: number): Array<{ packet: Uint8Array; at: number }> => {
    const got: Array<{ packet: Uint8Array; at: number }> = [];
    const end = clock.now() + ms;
    for (let i = 0; i < 10_000 && clock.now() < end; i++) {
      // in steps of at most 1 ms, so that a packet for a is read when it arrives
      poll.poll(events, Math.max(0, Math.min(end, wire.pollAt() ?? end, clock.now() + 1) - clock.now()));
      for (let p = wire.receive(); p !== null; p = wire.receive()) got.push({ packet: p.slice(), at: clock.now() });
    }
    return got;
  };
  const send = (packets: Uint8Array[]): void => {
    for (const p of packets) wire.transmit(p);
  };
  try {
    out.line("");
    out.line("== 1. ping: three echo requests, one a second (RFC 792 Echo) ==");
    for (let seq = 1; seq <= 3; seq++) {
      const sent = clock.now();
      send(datagrams(IpProtocol.Icmp, echo(seq, 56), { id: seq }));
      for (const { packet, at } of runFor(1000)) {
        const ip = new Ipv4Packet(packet);
        const m = new Icmpv4Packet(ip.payload);
        if (m.type === Icmpv4Type.EchoReply) out.line(`           reply from ${B}: seq=${m.sequence} ttl=${ip.ttl} time=${(at - sent).toFixed(3)} ms`);
      }
    }

    out.line("");
    out.line("== 2. TTL: an echo request with TTL 1 still reaches b (only routers decrement it) ==");
    send(datagrams(IpProtocol.Icmp, echo(4, 8), { ttl: 1, id: 4 }));
    runFor(1000);

    out.line("");
    out.line("== 3. ICMP errors: a UDP datagram to a port nobody listens on (RFC 1122 §4.1.3.1) ==");
    const data = new TextEncoder().encode("anyone?");
    const udp = new Uint8Array(UDP_HEADER + data.length);
    udp.set(data, UDP_HEADER);
    emitUdp(udp, { srcPort: 40000, dstPort: 9 }, data.length, addr(A), addr(B));
    send(datagrams(IpProtocol.Udp, udp, { id: 5 }));
    runFor(1000);

    out.line("");
    out.line("== 4. Fragmentation (RFC 791 §2.3, §3.2): a 3000-byte ping cut into fragments by a, reassembled by b; ==");
    out.line("==    b's 3000-byte reply does not fit the 1500-byte MTU either, so b fragments it                     ==");
    send(datagrams(IpProtocol.Icmp, echo(6, 3000), { id: 6, chunk: 1480 }));
    runFor(1000);

    out.line("");
    out.line(`== 5. A lost fragment: only the first of a datagram arrives; after ${REASSEMBLY_MS} ms b gives up and says so ==`);
    out.line("==    with ICMP Time Exceeded, code 1 (fragment reassembly time exceeded, RFC 792)                          ==");
    send(datagrams(IpProtocol.Icmp, echo(7, 3000), { id: 7, chunk: 1480 }).slice(0, 1));
    for (const { packet, at } of runFor(REASSEMBLY_MS + 1000)) {
      const m = new Icmpv4Packet(new Ipv4Packet(packet).payload);
      if (m.type === Icmpv4Type.TimeExceeded) out.line(`           ICMP time exceeded (code ${m.code}: reassembly) at ${at.toFixed(3)} ms`);
    }
    out.line("");
    out.line(`pcap written to ${pcap} (open it in Wireshark)`);
  } finally {
    b.close();
    tap.close();
  }
  await traceroute(out);
  await pathMtu(out);
}

/** Host addresses of the traceroute: a behind r1, b behind r2. */
const TRACE_A = "10.0.1.1";
const TRACE_B = "10.0.3.2";
const TRACE_PORT = 33434;

/**
 * Section 6: UDP probes with TTL 1, 2, 3 from a to b through routers r1 and
 * r2 of a Sim; each router that takes a probe's TTL to 0 answers with Time
 * Exceeded from its own address, and b, reached, with Port Unreachable.
 */
async function traceroute(out: LabOutput): Promise<void> {
  out.line("");
  out.line("== 6. TTL in transit: traceroute through two routers (RFC 1812 §5.3.1, RFC 792 Time Exceeded) ==");
  out.line(`==    a ${TRACE_A} ── r1 ── r2 ── b ${TRACE_B}, 5 ms a link; UDP probes to port ${TRACE_PORT}, TTL 1, 2, 3 ==`);
  const hops: Array<{ hop: number; from: string; src: string; what: string; at: number }> = [];
  let probe = 0;
  const sim = routedChain(out, 1500, (ip, at, from) => {
    if (ip.protocol !== IpProtocol.Icmp) return;
    const m = new Icmpv4Packet(ip.payload);
    const what = m.type === Icmpv4Type.TimeExceeded ? "time exceeded in transit" : m.type === Icmpv4Type.DestinationUnreachable && m.code === 3 ? "port unreachable: the destination" : `icmp type ${m.type}`;
    hops.push({ hop: probe, from, src: ip.src.join("."), what, at });
  });
  try {
    const capture = join(out.dir, "lab2-traceroute.pcap");
    sim.pcap(capture);
    const u = sim.stack("a").udpBind(`${TRACE_A}:40000`);
    await sim.run(async () => {
      for (probe = 1; probe <= 3; probe++) {
        u.setTtl(probe);
        u.sendTo(new Uint8Array(32), `${TRACE_B}:${TRACE_PORT}`);
        await sim.sleep(100);
      }
    });
    out.line("");
    out.line(`           traceroute to ${TRACE_B}, 3 hops max:`);
    for (const h of hops) out.line(`           ${h.hop}  ${h.from} (${h.src})  ${h.what}, answered ${(h.at - (h.hop - 1) * 100).toFixed(3)} ms after its probe`);
    out.line("");
    out.line(`pcap written to ${capture}`);
  } finally {
    sim.close();
  }
}

/** The MTU of the link between the routers in section 7. */
const NARROW_MTU = 1000;

/**
 * Section 7: path MTU discovery. The link between the routers carries at
 * most {@link NARROW_MTU} bytes; a's packets go out with DF, so r1 drops
 * the first TCP segment too large and says how large they may be; the
 * connection cuts its segments; a later UDP datagram to b is fragmented by
 * a itself, which now knows the path MTU to b.
 */
async function pathMtu(out: LabOutput): Promise<void> {
  out.line("");
  out.line("== 7. Path MTU discovery (RFC 1191): DF set, a smaller link between the routers, Fragmentation Needed ==");
  out.line(`==    a ── r1 ── (MTU ${NARROW_MTU}) ── r2 ── b; a sends 20000 bytes over TCP (only drops and ICMP shown), then a 1400-byte UDP datagram ==`);
  let all = false;
  const sim = routedChain(out, NARROW_MTU, () => {}, (ip, dropped) => all || dropped !== undefined || ip.protocol === IpProtocol.Icmp);
  try {
    const capture = join(out.dir, "lab2-pmtu.pcap");
    sim.pcap(capture);
    const a = sim.stack("a");
    const listener = sim.stack("b").tcpBind(`${TRACE_B}:80`);
    let handshakeMss = 0;
    const tcp = await sim.run(async () => {
      const [c, s] = await Promise.all([connect(sim, a, `${TRACE_B}:80`), accept(sim, listener)]);
      handshakeMss = Object.values(a.tcpStats())[0]!.mss;
      await writeAll(sim, c, new Uint8Array(20_000).fill(7));
      c.shutdown("write");
      const got = (await readToEnd(sim, s)).length;
      return { mss: Object.values(a.tcpStats())[0]!.mss, got };
    });
    out.line(`           TCP: MSS ${handshakeMss} at the handshake (a's own link is 1500), ${tcp.mss} after r1's Fragmentation Needed; b got ${tcp.got} bytes`);
    all = true;
    const rx = sim.stack("b").udpBind(`${TRACE_B}:9`);
    const u = a.udpBind(`${TRACE_A}:40001`);
    await sim.run(async () => {
      u.sendTo(new Uint8Array(1400), `${TRACE_B}:9`);
      await sim.sleep(100);
    });
    const got = rx.recvFrom(new Uint8Array(2000));
    out.line(`           UDP: ${got === WOULD_BLOCK ? "b got nothing" : `b got all ${got[0]} bytes, in fragments a cut to the path MTU`}`);
    out.line("");
    out.line(`pcap written to ${capture}`);
  } finally {
    sim.close();
  }
}

/**
 * a ── r1 ── r2 ── b on a Sim, 5 ms a link, `middleMtu` between the
 * routers; prints the packets sent or dropped that `shown` picks (all by
 * default) and hands each one sent to `seen`.
 */
function routedChain(
  out: LabOutput,
  middleMtu: number,
  seen: (ip: Ipv4Packet, at: number, from: string) => void,
  shown: (ip: Ipv4Packet, dropped: string | undefined) => boolean = () => true,
): Sim {
  const sim = new Sim({ seed: 2 });
  const diagram = new SequenceDiagram("", "", () => {});
  sim.host("a", { addresses: [`${TRACE_A}/24`] });
  sim.host("b", { addresses: [`${TRACE_B}/24`] });
  sim.router("r1", { addresses: ["10.0.1.254/24", "10.0.2.1/24"] });
  sim.router("r2", { addresses: ["10.0.2.2/24", "10.0.3.254/24"] });
  sim.link("a", "r1", { delayMs: 5 });
  sim.link("r1", "r2", { delayMs: 5, mtu: middleMtu });
  sim.link("r2", "b", { delayMs: 5 });
  sim.trace((packet, at, from, dropped) => {
    const ip = new Ipv4Packet(packet);
    const d = diagram.describe(packet); // every packet: the diagram learns each direction's first sequence number
    if (shown(ip, dropped)) {
      const verb = dropped === undefined ? "sends" : `drops (${dropped})`;
      out.line(`${at.toFixed(3).padStart(10)} ms  ${from.padEnd(2)} ${verb.padEnd(11)} → ${ip.dst.join(".").padEnd(9)}  ${d.label.padEnd(6)} ${d.details}`);
    }
    if (dropped === undefined) seen(ip, at, from);
  });
  return sim;
}

/** Lab 2. */
export const lab2: Lab = { title: "Ping over a simulated link", run };
