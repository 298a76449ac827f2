import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IpProtocol, Ipv4Packet, OK, emitIpv4, emitIpv4Header, ipv4HeaderLength, type Ipv4Header } from "../../src/stack/wire/index.js";
import { frag4First, frag4Last, icmp4PortUnreachable, ipv4RecordRoute, ping4Request } from "./fixtures/captured.js";
import { addr4, copy, ip, payload, same, u16 } from "./support.js";

/** Rewrites the header checksum after a test edits a field. */
function refill(b: Uint8Array): Uint8Array {
  new Ipv4Packet(b).fillChecksum();
  return b;
}

describe("Ipv4Packet on captured datagrams", () => {
  it("reads every field of a kernel-made echo request", () => {
    const p = new Ipv4Packet(ping4Request);
    expect(p.check()).toEqual({ ok: true });
    expect(p.version).toBe(4);
    expect(p.headerLength).toBe(20);
    expect(p.dscp).toBe(0);
    expect(p.ecn).toBe(0);
    expect(p.totalLength).toBe(40);
    expect(p.identification).toBe(0x14cc);
    expect(p.dontFragment).toBe(true);
    expect(p.moreFragments).toBe(false);
    expect(p.fragmentOffset).toBe(0);
    expect(p.isFragment).toBe(false);
    expect(p.ttl).toBe(64);
    expect(p.protocol).toBe(IpProtocol.Icmp);
    expect(p.src).toEqual(ip("10.0.0.1"));
    expect(p.dst).toEqual(ip("10.0.0.2"));
    expect(p.options.length).toBe(0);
    expect(p.payload.length).toBe(20);
    expect(p.verifyChecksum()).toBe(true);
  });

  it("reads a Record Route option (IHL 8) and the datagram behind it", () => {
    const p = new Ipv4Packet(ipv4RecordRoute);
    expect(p.check().ok).toBe(true);
    expect(p.headerLength).toBe(32);
    // NOP, then Record Route: type 7, length 11, pointer 8, one address recorded.
    expect(Array.from(p.options.subarray(0, 4))).toEqual([1, 7, 11, 8]);
    expect(p.options.subarray(4, 8)).toEqual(ip("10.0.0.1"));
    expect(p.protocol).toBe(IpProtocol.Udp);
    expect(p.payload.length).toBe(p.totalLength - 32);
  });

  it("reads the fragment fields of both fragments of a 2008-byte UDP datagram", () => {
    const first = new Ipv4Packet(frag4First);
    const last = new Ipv4Packet(frag4Last);
    expect(first.check().ok).toBe(true);
    expect(last.check().ok).toBe(true);
    expect([first.isFragment, first.moreFragments, first.fragmentOffset]).toEqual([true, true, 0]);
    expect([last.isFragment, last.moreFragments, last.fragmentOffset]).toEqual([true, false, 1480]);
    expect(first.identification).toBe(last.identification);
    expect(first.payload.length + last.payload.length).toBe(2008);
  });

  it("ignores link padding after Total Length", () => {
    const padded = new Uint8Array(ping4Request.length + 6);
    padded.set(ping4Request);
    const p = new Ipv4Packet(padded);
    expect(p.check().ok).toBe(true);
    expect(p.payload).toEqual(ping4Request.subarray(20));
  });

  it("emitIpv4 rebuilds the kernel's headers byte for byte", () => {
    for (const captured of [ping4Request, ipv4RecordRoute, frag4Last]) {
      const p = new Ipv4Packet(captured);
      const out = new Uint8Array(captured.length);
      const h: Ipv4Header = {
        src: p.src,
        dst: p.dst,
        protocol: p.protocol,
        payloadLength: p.totalLength - p.headerLength,
        ttl: p.ttl,
        identification: p.identification,
        dontFragment: p.dontFragment,
        moreFragments: p.moreFragments,
        fragmentOffset: p.fragmentOffset,
        dscp: p.dscp,
        ecn: p.ecn,
        options: p.options,
      };
      expect(emitIpv4(out, h)).toBe(p.headerLength);
      expect(out.subarray(0, p.headerLength)).toEqual(captured.subarray(0, p.headerLength));
    }
  });
});

describe("Ipv4Packet.check rejects with a reason", () => {
  const cases: [string, () => Uint8Array, string][] = [
    ["fewer than 20 bytes", () => ping4Request.slice(0, 19), "truncated"],
    ["a header longer than the buffer", () => refill(Object.assign(ping4Request.slice(0, 20), { 0: 0x46 })), "truncated"],
    ["a Total Length past the buffer", () => ping4Request.slice(0, 39), "truncated"],
    ["version 6", () => Object.assign(copy(ping4Request), { 0: 0x65 }), "bad-version"],
    ["IHL 4", () => refill(Object.assign(copy(ping4Request), { 0: 0x44 })), "bad-header-length"],
    ["a changed TTL", () => Object.assign(copy(ping4Request), { 8: 63 }), "bad-checksum"],
    ["Total Length 19", () => refill(Object.assign(copy(ping4Request), { 2: 0, 3: 19 })), "bad-total-length"],
    ["an option of length 1", () => refill(Object.assign(copy(ipv4RecordRoute), { 22: 1 })), "bad-options"],
    ["an option past the header", () => refill(Object.assign(copy(ipv4RecordRoute), { 22: 12 })), "bad-options"],
    ["a fragment ending past 65,535", () => refill(Object.assign(copy(frag4Last), { 6: 0x1f, 7: 0xff })), "bad-fragment"],
  ];
  for (const [what, make, reason] of cases) {
    it(`${reason}: ${what}`, () => {
      expect(new Ipv4Packet(make()).check()).toEqual({ ok: false, reason });
    });
  }

  it("checkQuoted accepts a datagram cut short after its header, whatever its checksum", () => {
    const quoted = icmp4PortUnreachable.subarray(28);
    const cut = quoted.slice(0, 28);
    const p = new Ipv4Packet(cut);
    expect(p.check()).toEqual({ ok: false, reason: "truncated" });
    expect(p.checkQuoted()).toEqual({ ok: true });
    cut[10] ^= 0xff;
    expect(p.checkQuoted()).toEqual({ ok: true });
    expect(p.reset(cut.subarray(0, 19)).checkQuoted()).toEqual({ ok: false, reason: "truncated" });
  });
});

describe("emitIpv4", () => {
  it("pads options to a multiple of 4 with End of Option List", () => {
    const buf = new Uint8Array(40).fill(0xee);
    const hl = emitIpv4(buf, { src: ip("1.2.3.4"), dst: ip("5.6.7.8"), protocol: 17, payloadLength: 0, options: Uint8Array.of(1, 1, 1, 1, 1) });
    expect(hl).toBe(28);
    expect(Array.from(buf.subarray(20, 28))).toEqual([1, 1, 1, 1, 1, 0, 0, 0]);
    expect(new Ipv4Packet(buf.subarray(0, 28)).check().ok).toBe(true);
  });

  it("emitIpv4Header writes the same bytes as emitIpv4 for a plain header", () => {
    fc.assert(
      fc.property(addr4, addr4, fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 65515 }), fc.integer({ min: 0, max: 255 }), u16, (src, dst, protocol, len, ttl, id) => {
        const a = new Uint8Array(20).fill(0xee);
        const b = new Uint8Array(20).fill(0x11);
        expect(emitIpv4(a, { src, dst, protocol, payloadLength: len, ttl, identification: id })).toBe(20);
        expect(emitIpv4Header(b, src, dst, protocol, len, ttl, id)).toBe(20);
        expect([...b]).toEqual([...a]);
      }),
      { numRuns: 2000 },
    );
    expect(() => emitIpv4Header(new Uint8Array(20), ip("1.2.3.4"), ip("5.6.7.8"), 6, 65516, 64, 0)).toThrow(RangeError);
    expect(() => emitIpv4Header(new Uint8Array(20), new Uint8Array(16), ip("5.6.7.8"), 6, 0, 64, 0)).toThrow(RangeError);
  });

  it("throws RangeError on headers no datagram can carry", () => {
    const base = { src: ip("1.2.3.4"), dst: ip("5.6.7.8"), protocol: 17, payloadLength: 0 };
    expect(() => emitIpv4(new Uint8Array(100), { ...base, options: new Uint8Array(41) })).toThrow(RangeError);
    expect(() => emitIpv4(new Uint8Array(100), { ...base, fragmentOffset: 12 })).toThrow(RangeError);
    expect(() => emitIpv4(new Uint8Array(100), { ...base, payloadLength: 65516 })).toThrow(RangeError);
    expect(() => emitIpv4(new Uint8Array(19), base)).toThrow(RangeError);
    expect(() => emitIpv4(new Uint8Array(100), { ...base, src: new Uint8Array(16) })).toThrow(RangeError);
  });
});

/** Headers with well-formed option lists: NOPs and TLVs of kinds 2-255. */
const header = fc
  .record({
    src: addr4,
    dst: addr4,
    protocol: fc.integer({ min: 0, max: 255 }),
    ttl: fc.integer({ min: 0, max: 255 }),
    identification: u16,
    dontFragment: fc.boolean(),
    moreFragments: fc.boolean(),
    fragmentUnits: fc.integer({ min: 0, max: 0x1fff }),
    dscp: fc.integer({ min: 0, max: 63 }),
    ecn: fc.integer({ min: 0, max: 3 }),
    options: fc.array(
      fc.oneof(
        fc.constant([1]),
        fc.tuple(fc.integer({ min: 2, max: 255 }), fc.uint8Array({ maxLength: 6 })).map(([k, d]) => [k, d.length + 2, ...d]),
      ),
      { maxLength: 5 },
    ),
  })
  .map(({ fragmentUnits, options: opts, ...rest }) => ({
    ...rest,
    fragmentOffset: fragmentUnits * 8,
    options: Uint8Array.from(opts.flat()),
  }));

describe("properties", () => {
  it("emit → check round-trips every field and the payload", () => {
    fc.assert(
      fc.property(header, payload(300), fc.uint8Array({ maxLength: 8 }), (h, data, pad) => {
        const fo = Math.min(h.fragmentOffset, (0xffff - data.length) & ~7);
        const hl = ipv4HeaderLength(h.options);
        const buf = new Uint8Array(hl + data.length + pad.length);
        buf.set(data, hl);
        buf.set(pad, hl + data.length);
        expect(emitIpv4(buf, { ...h, fragmentOffset: fo, payloadLength: data.length })).toBe(hl);
        const p = new Ipv4Packet(buf);
        expect(p.check()).toBe(OK);
        expect(same(p.src, h.src) && same(p.dst, h.dst)).toBe(true);
        expect([p.protocol, p.ttl, p.identification, p.dscp, p.ecn]).toEqual([h.protocol, h.ttl, h.identification, h.dscp, h.ecn]);
        expect([p.dontFragment, p.moreFragments, p.fragmentOffset]).toEqual([h.dontFragment, h.moreFragments, fo]);
        expect(same(p.options.subarray(0, h.options.length), h.options)).toBe(true);
        expect(same(p.payload, data)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it("any single-byte change in the header after byte 0 is rejected", () => {
    fc.assert(
      fc.property(header, fc.nat(), fc.integer({ min: 1, max: 255 }), (h, pos, delta) => {
        const buf = new Uint8Array(ipv4HeaderLength(h.options) + 8);
        emitIpv4(buf, { ...h, fragmentOffset: 0, payloadLength: 8 });
        const at = 1 + (pos % (ipv4HeaderLength(h.options) - 1));
        buf[at] = (buf[at] + delta) & 0xff;
        expect(new Ipv4Packet(buf).check().ok).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});
