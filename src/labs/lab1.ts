/**
 * Lab 1: the bytes of a packet. Builds an IPv4/UDP datagram with the wire
 * builders, dumps it field by field, parses it back, and checks both
 * checksums: on the good packet, and after corrupting bytes on purpose.
 */
import { join } from "node:path";
import { parseIp } from "../net/socket-addr.js";
import { SimClock } from "../poll/clock.js";
import { Loopback, PcapTap } from "../stack/iface/index.js";
import {
  IPV4_MIN_HEADER,
  IpProtocol,
  Ipv4Packet,
  UDP_HEADER,
  UdpPacket,
  emitIpv4,
  emitUdp,
  onesSum,
  pseudoHeaderSum,
} from "../stack/wire/index.js";
import { SequenceDiagram } from "./diagram.js";
import type { Lab, LabOutput } from "./index.js";

const SRC = "10.0.0.1";
const DST = "10.0.0.2";
const MESSAGE = "hello, packet";

/** The address bytes of a literal the lab itself wrote. */
function addr(s: string): Uint8Array {
  const b = parseIp(s);
  if (b === null) throw new Error(`bad address ${s}`);
  return b;
}

/** The IPv4/UDP datagram of the lab. */
function build(): Uint8Array {
  const data = new TextEncoder().encode(MESSAGE);
  const packet = new Uint8Array(IPV4_MIN_HEADER + UDP_HEADER + data.length);
  const udp = packet.subarray(IPV4_MIN_HEADER);
  udp.set(data, UDP_HEADER);
  emitUdp(udp, { srcPort: 5000, dstPort: 7 }, data.length, addr(SRC), addr(DST));
  emitIpv4(packet, { src: addr(SRC), dst: addr(DST), protocol: IpProtocol.Udp, payloadLength: udp.length, ttl: 64, identification: 0x1234, dontFragment: true });
  return packet;
}

const hex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");
const h16 = (n: number): string => `0x${n.toString(16).padStart(4, "0")}`;

/** Rows of 4 bytes (one 32-bit word of the RFC diagrams) with what they hold. */
function dump(out: LabOutput, packet: Uint8Array): void {
  const notes = [
    "version 4, IHL 5 | DSCP/ECN | total length",
    "identification | flags (DF) + fragment offset",
    "TTL | protocol 17 (UDP) | header checksum",
    "source address",
    "destination address",
    "UDP source port | destination port",
    "UDP length | UDP checksum",
  ];
  for (let off = 0; off < packet.length; off += 4) {
    const note = notes[off / 4] ?? (off === 28 ? `data: "${MESSAGE}"` : "");
    out.line(`  ${off.toString().padStart(3)}: ${hex(packet.subarray(off, off + 4)).padEnd(11)}   ${note}`.trimEnd());
  }
}

/** Checks both checksums of `packet` and prints the verdicts. */
function verify(out: LabOutput, packet: Uint8Array, when: string): void {
  const ip = new Ipv4Packet(packet);
  const ipOk = ip.verifyChecksum();
  const udp = new UdpPacket(ip.payload);
  const udpOk = udp.verifyChecksum(ip.src, ip.dst);
  out.line(`  ${when}: IPv4 header checksum ${ipOk ? "verified" : "FAILED"}, UDP checksum ${udpOk ? "verified" : "FAILED"}`);
}

async function run(out: LabOutput): Promise<void> {
  out.line("Lab 1 — the bytes of a packet: IPv4 + UDP, built and parsed, with checksums");
  out.line("");
  const packet = build();
  out.line(`== The datagram: ${packet.length} bytes (RFC 791 §3.1 header, RFC 768 UDP header) ==`);
  dump(out, packet);
  out.line("");

  out.line("== Parsed back ==");
  const ip = new Ipv4Packet(packet);
  const ipCheck = ip.check();
  const udp = new UdpPacket(ip.payload);
  const udpCheck = udp.check(ip.src, ip.dst);
  out.line(`  IPv4: ${ipCheck.ok ? "valid" : ipCheck.reason}; ttl=${ip.ttl} id=${h16(ip.identification)} DF=${ip.dontFragment} total=${ip.totalLength}`);
  out.line(`  UDP:  ${udpCheck.ok ? "valid" : udpCheck.reason}; ${udp.srcPort} → ${udp.dstPort} length=${udp.length} data="${new TextDecoder().decode(udp.payload)}"`);
  out.line("");

  out.line("== Checksums (RFC 1071): the one's complement sum of a correct header is 0xffff ==");
  out.line(`  IPv4 header checksum field ${h16(ip.checksum)}; sum over the 20 header bytes = ${h16(onesSum(packet, 0, IPV4_MIN_HEADER))}`);
  const pseudo = pseudoHeaderSum(ip.src, ip.dst, IpProtocol.Udp, udp.length);
  out.line(`  UDP checksum field ${h16(udp.checksum)}; sum over pseudo-header + UDP header + data = ${h16(onesSum(ip.payload, pseudo))}`);
  verify(out, packet, "as built");

  const corrupt = packet.slice();
  corrupt[IPV4_MIN_HEADER + UDP_HEADER] ^= 0x20; // 'h' -> 'H' in the data
  out.line("  flip one bit of the data ('h' → 'H'): the IPv4 header checksum does not cover data, UDP's does");
  verify(out, corrupt, "data corrupted");
  const ttl = packet.slice();
  const view = new Ipv4Packet(ttl);
  view.ttl = 63;
  out.line("  decrement the TTL as a router does, without updating the checksum:");
  verify(out, ttl, "TTL changed");
  view.fillChecksum();
  out.line(`  recompute the header checksum (now ${h16(view.checksum)}):`);
  verify(out, ttl, "checksum refilled");
  out.line("");

  const pcap = join(out.dir, "lab1.pcap");
  const clock = new SimClock();
  const tap = new PcapTap(new Loopback(), pcap);
  tap.attach(clock);
  const diagram = new SequenceDiagram("a", "b", out.line);
  out.line("== As a sequence diagram (and in the pcap: the good packet, then the corrupted one) ==");
  for (const p of [packet, corrupt]) {
    tap.transmit(p);
    diagram.trace("tx", p, clock.now());
    clock.advance(1);
  }
  tap.close();
  out.line(`pcap written to ${pcap} (Wireshark flags the second packet's UDP checksum once validation is on)`);
}

/** Lab 1. */
export const lab1: Lab = { title: "The bytes of a packet", run };
