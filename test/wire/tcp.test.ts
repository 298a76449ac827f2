import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Ipv4Packet, Ipv6Packet, OK, TcpFlags, TcpPacket, emitTcp, tcpHeaderLength, type TcpOptions } from "../../src/stack/wire/index.js";
import { tcp4Data, tcp4FinAck, tcp4Syn, tcp4SynAck, tcp6Data, tcp6Syn } from "./fixtures/captured.js";
import { addr4, addr6, ip, payload, same, u16, u32 } from "./support.js";

const { FIN, SYN, PSH, ACK } = TcpFlags;
const A = ip("10.0.0.1");
const B = ip("10.0.0.2");

/** The checked TCP segment in a captured packet, and its addresses. */
function tcp(packet: Uint8Array): { t: TcpPacket; src: Uint8Array; dst: Uint8Array } {
  const p4 = new Ipv4Packet(packet);
  if (p4.version === 4) {
    const t = new TcpPacket(p4.payload);
    expect(t.check(p4.src, p4.dst)).toEqual({ ok: true });
    return { t, src: p4.src, dst: p4.dst };
  }
  const p = new Ipv6Packet(packet);
  p.check();
  const t = new TcpPacket(p.upperPayload);
  expect(t.check(p.src, p.dst)).toEqual({ ok: true });
  return { t, src: p.src, dst: p.dst };
}

/** A segment from A to B with `options` bytes (a multiple of 4) and a valid checksum. */
function segment(options: number[], data: number[] = []): Uint8Array {
  const b = new Uint8Array(20 + options.length + data.length);
  emitTcp(b, { srcPort: 1, dstPort: 2, seqNumber: 3, ackNumber: 4, flags: ACK, window: 5 }, 0, A, B);
  const t = new TcpPacket(b);
  t.headerLength = 20 + options.length;
  b.set(options, 20);
  b.set(data, 20 + options.length);
  t.fillChecksum(A, B);
  return b;
}

describe("TcpPacket on captured segments", () => {
  it("reads a Linux SYN: header fields and MSS, SACK-permitted, timestamps, window scale", () => {
    const { t } = tcp(tcp4Syn);
    expect([t.srcPort, t.dstPort, t.seqNumber, t.ackNumber]).toEqual([0xeb1e, 5555, 0xb28be027, 0]);
    expect([t.headerLength, t.flags, t.syn, t.ack, t.window, t.urgentPointer]).toEqual([40, SYN, true, false, 0xfaf0, 0]);
    expect([t.mss, t.sackPermitted, t.hasTimestamps, t.tsVal, t.tsEcr, t.windowScale]).toEqual([1460, true, true, 0xcb6cb4cc, 0, 10]);
    expect(t.payload.length).toBe(0);
  });

  it("reads the SYN-ACK, the data segment and the FIN-ACK", () => {
    const syn = tcp(tcp4Syn).t;
    const synAck = tcp(tcp4SynAck).t;
    expect([synAck.syn, synAck.ack, synAck.ackNumber]).toEqual([true, true, syn.seqNumber + 1]);
    expect([synAck.mss, synAck.windowScale, synAck.tsEcr]).toEqual([1460, 10, syn.tsVal]);
    const data = tcp(tcp4Data).t;
    expect(data.flags).toBe(PSH | ACK);
    expect([data.mss, data.windowScale, data.sackPermitted, data.hasTimestamps, data.sackCount]).toEqual([-1, -1, false, true, 0]);
    expect(Buffer.from(data.payload).toString()).toBe("hello wire");
    const fin = tcp(tcp4FinAck).t;
    expect([fin.fin, fin.ack, fin.flags]).toEqual([true, true, FIN | ACK]);
  });

  it("verifies IPv6 segments against the IPv6 pseudo-header", () => {
    expect(tcp(tcp6Syn).t.mss).toBe(1440);
    const { t, src } = tcp(tcp6Data);
    expect(Buffer.from(t.payload).toString()).toBe("hello wire");
    expect(t.check(src, ip("fd00::3"))).toEqual({ ok: false, reason: "bad-checksum" });
  });

  it("emitTcp rebuilds the kernel's SYN and data segment byte for byte", () => {
    for (const packet of [tcp4Syn, tcp4Data, tcp6Syn]) {
      const { t, src, dst } = tcp(packet);
      const options: TcpOptions = { tsVal: t.tsVal, tsEcr: t.tsEcr, sackPermitted: t.sackPermitted };
      if (t.mss >= 0) options.mss = t.mss;
      if (t.windowScale >= 0) options.windowScale = t.windowScale;
      const h = { srcPort: t.srcPort, dstPort: t.dstPort, seqNumber: t.seqNumber, ackNumber: t.ackNumber, flags: t.flags, window: t.window, options };
      expect(tcpHeaderLength(options)).toBe(t.headerLength);
      const out = new Uint8Array(t.buffer.length);
      out.set(t.payload, t.headerLength);
      expect(emitTcp(out, h, t.payload.length, src, dst)).toBe(t.buffer.length);
      expect(out).toEqual(t.buffer);
    }
  });
});

describe("options", () => {
  it("reads SACK blocks laid out as in RFC 2018 §3 (NOP, NOP, kind 5, length 2 + 8n)", () => {
    const t = new TcpPacket(segment([1, 1, 5, 18, 0, 0, 0, 10, 0, 0, 0, 20, 0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 5]));
    expect(t.check(A, B).ok).toBe(true);
    expect(t.sackCount).toBe(2);
    expect([t.sackLeft(0), t.sackRight(0), t.sackLeft(1), t.sackRight(1)]).toEqual([10, 20, 0xfffffff0, 5]);
  });

  it("skips unknown options by their length and stops at End of Option List", () => {
    const t = new TcpPacket(segment([30, 6, 9, 9, 9, 9, 2, 4, 0x05, 0xb4, 0, 3, 3, 9]));
    expect(t.check(A, B).ok).toBe(true);
    expect([t.mss, t.windowScale]).toEqual([1460, -1]);
  });

  it("lets a later option of a kind win", () => {
    const t = new TcpPacket(segment([2, 4, 0, 100, 2, 4, 0, 200]));
    expect(t.check(A, B).ok).toBe(true);
    expect(t.mss).toBe(200);
  });

  it("writes SACK blocks and all SYN options that fit in 40 bytes, and refuses more", () => {
    const options = { tsVal: 7, tsEcr: 8, sackBlocks: [1, 2, 3, 4, 5, 6] };
    expect(tcpHeaderLength(options)).toBe(60);
    expect(() => tcpHeaderLength({ ...options, mss: 1460 })).toThrow(RangeError);
    expect(() => tcpHeaderLength({ sackBlocks: [1, 2, 3] })).toThrow(RangeError);
  });

  const bad: [string, number[]][] = [
    ["a length of 1", [30, 1, 0, 0]],
    ["a length past the header", [30, 6, 0, 0]],
    ["a missing length byte", [1, 1, 1, 30]],
    ["MSS of length 3", [2, 3, 0, 0]],
    ["Window Scale of length 4", [3, 4, 0, 0]],
    ["SACK-Permitted of length 3", [4, 3, 0, 0]],
    ["SACK of length 6", [5, 6, 0, 0, 0, 0, 0, 0]],
    ["SACK with no block", [5, 2, 0, 0]],
    ["Timestamps of length 8", [8, 8, 0, 0, 0, 0, 0, 0]],
  ];
  for (const [what, options] of bad) {
    it(`rejects ${what}: bad-options`, () => {
      expect(new TcpPacket(segment(options)).check(A, B)).toEqual({ ok: false, reason: "bad-options" });
    });
  }
});

describe("TcpPacket.check rejects with a reason", () => {
  const cases: [string, () => Uint8Array, string][] = [
    ["fewer than 20 bytes", () => segment([]).slice(0, 19), "truncated"],
    ["a Data Offset past the buffer", () => segment([1, 1, 1, 1]).slice(0, 22), "truncated"],
    ["a Data Offset of 4", () => Object.assign(segment([]), { 12: 0x40 }), "bad-header-length"],
    ["a changed data byte", () => Object.assign(segment([], [1, 2, 3]), { 21: 0 }), "bad-checksum"],
  ];
  for (const [what, make, reason] of cases) {
    it(`${reason}: ${what}`, () => {
      expect(new TcpPacket(make()).check(A, B)).toEqual({ ok: false, reason });
    });
  }

  it("skips only the checksum when the device already verified it (checksum offload)", () => {
    const bad = Object.assign(segment([2, 4, 0, 100], [1, 2, 3]), { 25: 0 });
    expect(new TcpPacket(bad).check(A, B)).toEqual({ ok: false, reason: "bad-checksum" });
    const t = new TcpPacket(bad);
    expect(t.check(A, B, true)).toEqual({ ok: true });
    expect([t.mss, [...t.payload]]).toEqual([100, [1, 0, 3]]);
    expect(new TcpPacket(segment([]).slice(0, 19)).check(A, B, true)).toEqual({ ok: false, reason: "truncated" });
    expect(new TcpPacket(segment([2, 5, 0, 0])).check(A, B, true)).toEqual({ ok: false, reason: "bad-options" });
  });

  it("gives one payload view per segment, following a reset and a header length change", () => {
    const t = new TcpPacket(segment([], [1, 2, 3]));
    const p = t.payload;
    expect(t.payload).toBe(p);
    expect([...p]).toEqual([1, 2, 3]);
    t.headerLength = 24;
    expect([...t.payload]).toEqual([]);
    t.reset(segment([2, 4, 0, 1], [7]));
    expect([...t.payload]).toEqual([7]);
    t.buffer = segment([], [8, 9]);
    expect([...t.payload]).toEqual([8, 9]);
  });

  it("clears option results when a check fails or the view is reset", () => {
    const t = new TcpPacket(segment([2, 4, 0, 100]));
    expect(t.check(A, B).ok).toBe(true);
    expect(t.mss).toBe(100);
    t.reset(segment([]));
    expect(t.mss).toBe(-1);
  });
});

describe("properties", () => {
  const options = fc.record(
    {
      mss: u16,
      windowScale: fc.integer({ min: 0, max: 14 }),
      sackPermitted: fc.boolean(),
      tsVal: u32,
      tsEcr: u32,
      sackBlocks: fc.array(u32, { maxLength: 6 }).map((a) => a.slice(0, a.length & ~1)),
    },
    { requiredKeys: [] },
  ).filter((o) => {
    try {
      tcpHeaderLength(o);
      return true;
    } catch {
      return false;
    }
  });
  const seg = fc.record({
    v6: fc.boolean(),
    src4: addr4,
    dst4: addr4,
    src6: addr6,
    dst6: addr6,
    srcPort: u16,
    dstPort: u16,
    seqNumber: u32,
    ackNumber: u32,
    flags: fc.integer({ min: 0, max: 255 }),
    window: u16,
    urgentPointer: u16,
    options,
    data: payload(200),
  });

  it("emit → check round-trips header, every option and data (v4 and v6)", () => {
    fc.assert(
      fc.property(seg, (s) => {
        const [src, dst] = s.v6 ? [s.src6, s.dst6] : [s.src4, s.dst4];
        const hl = tcpHeaderLength(s.options);
        const buf = new Uint8Array(hl + s.data.length);
        buf.set(s.data, hl);
        emitTcp(buf, s, s.data.length, src, dst);
        const t = new TcpPacket(buf);
        expect(t.check(src, dst)).toBe(OK);
        expect([t.srcPort, t.dstPort, t.seqNumber, t.ackNumber, t.flags, t.window, t.urgentPointer, t.headerLength]).toEqual([
          s.srcPort, s.dstPort, s.seqNumber, s.ackNumber, s.flags, s.window, s.urgentPointer, hl,
        ]);
        const o = s.options;
        const blocks = o.sackBlocks ?? [];
        const sack = Array.from({ length: t.sackCount }, (_, i) => [t.sackLeft(i), t.sackRight(i)]).flat();
        expect([t.mss, t.windowScale, t.sackPermitted, t.hasTimestamps, t.tsVal, t.tsEcr, sack]).toEqual([
          o.mss ?? -1, o.windowScale ?? -1, o.sackPermitted ?? false, o.tsVal !== undefined,
          o.tsVal ?? 0, o.tsVal === undefined ? 0 : (o.tsEcr ?? 0), blocks,
        ]);
        expect(same(t.payload, s.data)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it("any single-byte change is rejected", () => {
    fc.assert(
      fc.property(seg, fc.nat(), fc.integer({ min: 1, max: 255 }), (s, pos, delta) => {
        const hl = tcpHeaderLength(s.options);
        const buf = new Uint8Array(hl + s.data.length);
        buf.set(s.data, hl);
        emitTcp(buf, s, s.data.length, s.src4, s.dst4);
        buf[pos % buf.length] += delta;
        return !new TcpPacket(buf).check(s.src4, s.dst4).ok;
      }),
      { numRuns: 3000 },
    );
  });
});
