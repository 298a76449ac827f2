import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Ipv4Packet, Ipv6Packet, OK, UdpPacket, emitUdp, onesSum, pseudoHeaderSum } from "../../src/stack/wire/index.js";
import {
  frag4First,
  frag4Last,
  frag6First,
  frag6Last,
  ipv4RecordRoute,
  ipv6HopByHopDestOpts,
  udp4ToClosedPort,
  udp6ToClosedPort,
} from "./fixtures/captured.js";
import { addr4, addr6, copy, ip, payload, same, u16 } from "./support.js";

/** The UDP datagram in a captured packet (v4 or v6) and its addresses. */
function udp(packet: Uint8Array): { u: UdpPacket; src: Uint8Array; dst: Uint8Array } {
  if (packet[0] >>> 4 === 4) {
    const p = new Ipv4Packet(packet);
    return { u: new UdpPacket(p.payload), src: p.src, dst: p.dst };
  }
  const p = new Ipv6Packet(packet);
  p.check();
  return { u: new UdpPacket(p.upperPayload), src: p.src, dst: p.dst };
}

/** The UDP datagram carried by two fragments. */
function reassemble(first: Uint8Array, last: Uint8Array): Uint8Array {
  const parts = first[0] >>> 4 === 4
    ? [new Ipv4Packet(first).payload, new Ipv4Packet(last).payload]
    : [first, last].map((f) => {
        const p = new Ipv6Packet(f);
        p.check();
        return p.upperPayload;
      });
  return Uint8Array.from([...parts[0], ...parts[1]]);
}

describe("UdpPacket on captured datagrams", () => {
  it("reads ports, length, checksum and data over IPv4 and IPv6", () => {
    for (const packet of [udp4ToClosedPort, udp6ToClosedPort]) {
      const { u, src, dst } = udp(packet);
      expect(u.check(src, dst)).toEqual({ ok: true });
      expect([u.dstPort, u.length]).toEqual([9, 19]);
      expect(Buffer.from(u.payload).toString()).toBe("knock knock");
    }
  });

  it("verifies datagrams behind IPv4 options and IPv6 extension headers", () => {
    for (const packet of [ipv4RecordRoute, ipv6HopByHopDestOpts]) {
      const { u, src, dst } = udp(packet);
      expect(u.check(src, dst)).toEqual({ ok: true });
    }
  });

  it("verifies a 2008-byte datagram reassembled from its fragments (v4 and v6)", () => {
    for (const [first, last] of [[frag4First, frag4Last], [frag6First, frag6Last]]) {
      const { src, dst } = udp(first);
      const u = new UdpPacket(reassemble(first, last));
      expect(u.check(src, dst)).toEqual({ ok: true });
      expect(u.length).toBe(2008);
      expect(u.payload).toEqual(Uint8Array.from({ length: 2000 }, (_, i) => i & 255));
    }
  });

  it("emitUdp rebuilds the kernel's datagrams byte for byte", () => {
    for (const packet of [udp4ToClosedPort, udp6ToClosedPort]) {
      const { u, src, dst } = udp(packet);
      const out = new Uint8Array(u.length);
      out.set(u.payload, 8);
      expect(emitUdp(out, { srcPort: u.srcPort, dstPort: u.dstPort }, u.payload.length, src, dst)).toBe(u.length);
      expect(out).toEqual(u.buffer.subarray(0, u.length));
    }
  });
});

describe("checksum rules", () => {
  const A4 = ip("10.0.0.1");
  const B4 = ip("10.0.0.2");
  const A6 = ip("fd00::1");
  const B6 = ip("fd00::2");

  it("a zero checksum means none over IPv4 (RFC 768) but is rejected over IPv6 (RFC 8200 §8.1)", () => {
    const b = new Uint8Array(12);
    emitUdp(b, { srcPort: 1, dstPort: 2 }, 4, A4, B4);
    b[6] = b[7] = 0;
    expect(new UdpPacket(b).check(A4, B4)).toEqual({ ok: true });
    expect(new UdpPacket(b).check(A6, B6)).toEqual({ ok: false, reason: "missing-checksum" });
  });

  it("a computed checksum of zero is sent as 0xffff and verifies", () => {
    const b = new Uint8Array(12);
    emitUdp(b, { srcPort: 1, dstPort: 2 }, 4, A4, B4);
    // Choose the last data word so the sum over pseudo-header and datagram is 0xffff.
    b[6] = b[7] = b[10] = b[11] = 0;
    const partial = onesSum(b, pseudoHeaderSum(A4, B4, 17, 12));
    const word = 0xffff - partial;
    b[10] = word >>> 8;
    b[11] = word & 0xff;
    const u = new UdpPacket(b);
    u.fillChecksum(A4, B4);
    expect(u.checksum).toBe(0xffff);
    expect(u.check(A4, B4)).toEqual({ ok: true });
  });

  const { u: good, src, dst } = udp(udp4ToClosedPort);
  const cases: [string, () => Uint8Array, string][] = [
    ["fewer than 8 bytes", () => good.buffer.slice(0, 7), "truncated"],
    ["a Length past the buffer", () => good.buffer.slice(0, 18), "truncated"],
    ["a Length of 7", () => Object.assign(copy(good.buffer), { 5: 7 }), "bad-length"],
    ["a changed data byte", () => Object.assign(copy(good.buffer), { 12: 0 }), "bad-checksum"],
  ];
  for (const [what, make, reason] of cases) {
    it(`${reason}: ${what}`, () => {
      expect(new UdpPacket(make()).check(src, dst)).toEqual({ ok: false, reason });
    });
  }

  it("skips summing a present checksum the device already verified, but still requires one over IPv6", () => {
    const bad = Object.assign(copy(good.buffer), { 12: 0 });
    expect(new UdpPacket(bad).check(src, dst, true)).toEqual({ ok: true });
    const b = new Uint8Array(12);
    emitUdp(b, { srcPort: 1, dstPort: 2 }, 4, A6, B6);
    b[6] = b[7] = 0;
    expect(new UdpPacket(b).check(A6, B6, true)).toEqual({ ok: false, reason: "missing-checksum" });
    expect(new UdpPacket(good.buffer.slice(0, 7)).check(src, dst, true)).toEqual({ ok: false, reason: "truncated" });
  });

  it("emitUdp throws RangeError when the datagram does not fit", () => {
    expect(() => emitUdp(new Uint8Array(10), { srcPort: 1, dstPort: 2 }, 4, A4, B4)).toThrow(RangeError);
    expect(() => emitUdp(new Uint8Array(70000), { srcPort: 1, dstPort: 2 }, 65528, A4, B4)).toThrow(RangeError);
  });
});

describe("properties", () => {
  const datagram = fc.record({
    v6: fc.boolean(),
    src4: addr4,
    dst4: addr4,
    src6: addr6,
    dst6: addr6,
    srcPort: u16,
    dstPort: u16,
    data: payload(300),
    pad: fc.uint8Array({ maxLength: 6 }),
  });

  it("emit → check round-trips ports and data (v4 and v6), ignoring bytes past Length", () => {
    fc.assert(
      fc.property(datagram, (d) => {
        const [src, dst] = d.v6 ? [d.src6, d.dst6] : [d.src4, d.dst4];
        const buf = new Uint8Array(8 + d.data.length + d.pad.length);
        buf.set(d.data, 8);
        buf.set(d.pad, 8 + d.data.length);
        emitUdp(buf, d, d.data.length, src, dst);
        const u = new UdpPacket(buf);
        return u.check(src, dst) === OK && u.srcPort === d.srcPort && u.dstPort === d.dstPort && same(u.payload, d.data);
      }),
      { numRuns: 3000 },
    );
  });

  it("any single-byte change outside Length is caught (IPv6: checksum mandatory)", () => {
    fc.assert(
      fc.property(datagram, fc.nat(), fc.integer({ min: 1, max: 255 }), (d, pos, delta) => {
        const buf = new Uint8Array(8 + d.data.length);
        buf.set(d.data, 8);
        emitUdp(buf, d, d.data.length, d.src6, d.dst6);
        const at = [0, 1, 2, 3, 6, 7, ...Array.from({ length: d.data.length }, (_, i) => 8 + i)][pos % (6 + d.data.length)];
        buf[at] += delta;
        return !new UdpPacket(buf).check(d.src6, d.dst6).ok;
      }),
      { numRuns: 3000 },
    );
  });
});
