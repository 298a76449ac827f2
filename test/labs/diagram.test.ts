/**
 * The sequence diagram: one line per packet, with relative TCP sequence
 * numbers per direction, flags, window, length and options.
 */
import { describe, expect, it } from "vitest";
import { SequenceDiagram } from "../../src/labs/diagram.js";
import { parseIp } from "../../src/net/socket-addr.js";
import { IPV4_MIN_HEADER, IpProtocol, TcpFlags, type TcpHeader, emitIpv4, emitTcp, tcpHeaderLength } from "../../src/stack/wire/index.js";

const A = parseIp("10.0.0.1")!;
const B = parseIp("10.0.0.2")!;

function segment(from: "a" | "b", h: TcpHeader, payload = 0): Uint8Array {
  const [src, dst] = from === "a" ? [A, B] : [B, A];
  const hl = tcpHeaderLength(h.options);
  const p = new Uint8Array(IPV4_MIN_HEADER + hl + payload);
  emitTcp(p.subarray(IPV4_MIN_HEADER), h, payload, src, dst);
  emitIpv4(p, { src, dst, protocol: IpProtocol.Tcp, payloadLength: hl + payload, ttl: 64 });
  return p;
}

describe("SequenceDiagram", () => {
  it("draws a handshake with relative seq/ack and options", () => {
    const lines: string[] = [];
    const d = new SequenceDiagram("a", "b", (l) => lines.push(l));
    d.trace("tx", segment("a", { srcPort: 1000, dstPort: 80, seqNumber: 0xfffffff0, ackNumber: 0, flags: TcpFlags.SYN, window: 65535, options: { mss: 1460, windowScale: 7, sackPermitted: true, tsVal: 5, tsEcr: 0 } }), 0);
    d.trace("rx", segment("b", { srcPort: 80, dstPort: 1000, seqNumber: 7000, ackNumber: 0xfffffff1, flags: TcpFlags.SYN | TcpFlags.ACK, window: 28960, options: { mss: 1400 } }), 1.5);
    // seq wraps past 2^32: still relative 1 + 10 bytes of data
    d.trace("tx", segment("a", { srcPort: 1000, dstPort: 80, seqNumber: 0xfffffff1, ackNumber: 7001, flags: TcpFlags.ACK | TcpFlags.PSH, window: 512 }, 10), 2.25);
    d.trace("rx", segment("b", { srcPort: 80, dstPort: 1000, seqNumber: 7001, ackNumber: (0xfffffff1 + 10) >>> 0, flags: TcpFlags.ACK, window: 500, options: { sackBlocks: [(0xfffffff1 + 20) >>> 0, (0xfffffff1 + 30) >>> 0] } }), 3);
    expect(lines).toEqual([
      "     0.000 ms  a ────────SYN────────▶ b  [SYN] seq=0 win=65535 len=0 <mss 1460,ws 7,sack_perm,ts 5/0> ttl=64",
      "     1.500 ms  a ◀─────SYN,ACK─────── b  [SYN,ACK] seq=0 ack=1 win=28960 len=0 <mss 1400> ttl=64",
      "     2.250 ms  a ───────ACK 10──────▶ b  [PSH,ACK] seq=1 ack=1 win=512 len=10 ttl=64",
      "     3.000 ms  a ◀───────ACK───────── b  [ACK] seq=1 ack=11 win=500 len=0 <sack 21-31> ttl=64",
    ]);
  });

  it("describes garbage without throwing", () => {
    const d = new SequenceDiagram("a", "b", () => {});
    expect(d.describe(new Uint8Array([0x45, 0, 0]))).toEqual({ label: "bad IPv4", details: "3 bytes" });
    expect(d.describe(new Uint8Array(0)).label).toBe("?");
  });
});
