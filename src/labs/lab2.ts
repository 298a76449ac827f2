/**
 * Lab 2: ping over a simulated link. The lab plays host `a` by hand (it
 * writes ICMP and UDP datagrams on the wire); host `b` is a userspace
 * Stack. Shows echo and round-trip time, TTL, ICMP errors (port
 * unreachable, reassembly time exceeded) and IPv4 fragmentation both ways.
 */
import { join } from "node:path";
import { parseIp } from "../net/socket-addr.js";
import { SimClock } from "../poll/clock.js";
import { Events } from "../poll/event.js";
import { Poll } from "../poll/poll.js";
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
}

/** Lab 2. */
export const lab2: Lab = { title: "Ping over a simulated link", run };
