import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IpProtocol, Ipv6Packet, OK, emitIpv6, emitIpv6Fragment } from "../../src/stack/wire/index.js";
import {
  frag6First,
  frag6Last,
  icmp6PacketTooBig,
  icmp6PortUnreachable,
  ipv6HopByHopDestOpts,
  mldReport,
  ping6Request,
  tcp6Syn,
} from "./fixtures/captured.js";
import { addr6, ip, same, u32 } from "./support.js";

const { HopByHop, Ipv6Route, Ipv6Frag, Ipv6Opts, Ah, Esp, Ipv6NoNxt, Udp, Icmpv6, Tcp } = IpProtocol;

/**
 * An extension header of `kind` naming `next`, with `units` 8-byte units
 * after the first 8 (4-byte units after the first 8 for AH); options headers
 * are filled with one PadN option. A Fragment header has offset 0 and M set.
 */
function ext(kind: number, next: number, units = 0): number[] {
  if (kind === Ipv6Frag) return [next, 0, 0, 1, 0, 0, 0, 7]; // offset 0, M set, id 7
  const len = kind === Ah ? (units + 2) * 4 : (units + 1) * 8;
  const h = new Array<number>(len).fill(0);
  h[0] = next;
  h[1] = units;
  if (kind === HopByHop || kind === Ipv6Opts) {
    h[2] = 1; // PadN covering the rest
    h[3] = len - 4;
  }
  return h;
}

/** An IPv6 packet from fd00::1 to fd00::2 with `first` as Next Header and `rest` as payload. */
function packet(first: number, rest: number[]): Uint8Array {
  const b = new Uint8Array(40 + rest.length);
  emitIpv6(b, { src: ip("fd00::1"), dst: ip("fd00::2"), nextHeader: first, payloadLength: rest.length });
  b.set(rest, 40);
  return b;
}

describe("Ipv6Packet on captured packets", () => {
  it("reads every fixed-header field of a kernel-made echo request", () => {
    const p = new Ipv6Packet(ping6Request);
    expect(p.check()).toEqual({ ok: true });
    expect(p.version).toBe(6);
    expect(p.trafficClass).toBe(0);
    expect(p.flowLabel).toBe(0xcd92a);
    expect(p.payloadLength).toBe(20);
    expect(p.nextHeader).toBe(Icmpv6);
    expect(p.hopLimit).toBe(64);
    expect(p.src).toEqual(ip("fd00::1"));
    expect(p.dst).toEqual(ip("fd00::2"));
    expect([p.upperProtocol, p.upperOffset, p.upperPayload.length]).toEqual([Icmpv6, 40, 20]);
    expect(p.fragmentHeaderOffset).toBe(-1);
  });

  it("walks Hop-by-Hop then Destination Options to UDP", () => {
    const p = new Ipv6Packet(ipv6HopByHopDestOpts);
    expect(p.check().ok).toBe(true);
    expect(p.nextHeader).toBe(HopByHop);
    expect([p.upperProtocol, p.upperOffset]).toEqual([Udp, 56]);
    expect(p.upperPayload.length).toBe(8 + "extension headers".length);
  });

  it("walks an MLDv2 report's Hop-by-Hop header to ICMPv6", () => {
    const p = new Ipv6Packet(mldReport);
    expect(p.check().ok).toBe(true);
    expect([p.upperProtocol, p.upperOffset]).toEqual([Icmpv6, 48]);
  });

  it("stops at the Fragment header and reports its fields", () => {
    const first = new Ipv6Packet(frag6First);
    const last = new Ipv6Packet(frag6Last);
    expect(first.check().ok).toBe(true);
    expect(last.check().ok).toBe(true);
    expect([first.fragmentHeaderOffset, first.fragmentLinkOffset, first.upperProtocol, first.upperOffset]).toEqual([40, 6, Udp, 48]);
    expect([first.fragmentOffset, first.moreFragments, first.fragmentIdentification]).toEqual([0, true, 0x439d3c97]);
    expect([last.fragmentOffset, last.moreFragments, last.fragmentIdentification]).toEqual([1448, false, 0x439d3c97]);
    expect(first.upperPayload.length + last.upperPayload.length).toBe(2008);
  });

  it("emitIpv6 and emitIpv6Fragment rebuild the kernel's headers byte for byte", () => {
    for (const captured of [ping6Request, tcp6Syn, frag6First]) {
      const p = new Ipv6Packet(captured);
      const out = new Uint8Array(48);
      const h = { src: p.src, dst: p.dst, nextHeader: p.nextHeader, payloadLength: p.payloadLength, hopLimit: p.hopLimit };
      expect(emitIpv6(out, { ...h, trafficClass: p.trafficClass, flowLabel: p.flowLabel })).toBe(40);
      expect(out.subarray(0, 40)).toEqual(captured.subarray(0, 40));
    }
    const f = new Ipv6Packet(frag6First);
    f.check();
    const out = new Uint8Array(8);
    emitIpv6Fragment(out, 0, { nextHeader: Udp, fragmentOffset: 0, moreFragments: true, identification: f.fragmentIdentification });
    expect(out).toEqual(frag6First.subarray(40, 48));
  });

  it("checkQuoted walks a packet quoted in an ICMPv6 error, even when cut short", () => {
    const whole = new Ipv6Packet(icmp6PortUnreachable.subarray(48));
    expect(whole.check().ok).toBe(true);
    expect([whole.upperProtocol, whole.upperOffset]).toEqual([Udp, 40]);
    const cut = new Ipv6Packet(icmp6PacketTooBig.subarray(48));
    expect(cut.check()).toEqual({ ok: false, reason: "truncated" });
    expect(cut.checkQuoted()).toEqual({ ok: true });
    expect([cut.upperProtocol, cut.payloadLength]).toEqual([Udp, 1408]);
  });
});

describe("extension headers", () => {
  it("walks Routing, Destination Options and AH headers to the upper layer", () => {
    const chain = [...ext(Ipv6Opts, Ipv6Route, 1), ...ext(Ipv6Route, Ah, 2), ...ext(Ah, Tcp, 4), ...new Array(20).fill(0)];
    const p = new Ipv6Packet(packet(Ipv6Opts, chain));
    expect(p.check().ok).toBe(true);
    expect([p.upperProtocol, p.upperOffset]).toEqual([Tcp, 40 + 16 + 24 + 24]);
  });

  it("stops at ESP and at No Next Header", () => {
    for (const stop of [Esp, Ipv6NoNxt]) {
      const p = new Ipv6Packet(packet(HopByHop, [...ext(HopByHop, stop), 9, 9, 9, 9]));
      expect(p.check().ok).toBe(true);
      expect([p.upperProtocol, p.upperOffset]).toEqual([stop, 48]);
    }
  });

  const cases: [string, () => Uint8Array, string][] = [
    ["fewer than 40 bytes", () => ping6Request.slice(0, 39), "truncated"],
    ["Payload Length past the buffer", () => ping6Request.slice(0, 59), "truncated"],
    ["version 4", () => Object.assign(ping6Request.slice(), { 0: 0x45 }), "bad-version"],
    ["a header past the payload", () => packet(Ipv6Opts, ext(Ipv6Opts, Udp, 1).slice(0, 12)), "bad-extension-length"],
    ["a length byte past the payload", () => packet(Ipv6Route, [Udp]), "bad-extension-length"],
    ["Hop-by-Hop after another header", () => packet(Ipv6Opts, [...ext(Ipv6Opts, HopByHop), ...ext(HopByHop, Udp)]), "misplaced-hop-by-hop"],
    ["an option overrunning its header", () => packet(HopByHop, Object.assign(ext(HopByHop, Udp), { 3: 5 })), "bad-options"],
    ["a truncated option", () => packet(Ipv6Opts, [Udp, 0, 0, 0, 0, 0, 0, 0x05]), "bad-options"],
    ["M set on 7 bytes of data", () => packet(Ipv6Frag, [...ext(Ipv6Frag, Udp), 1, 2, 3, 4, 5, 6, 7]), "bad-fragment"],
    ["a fragment ending past 65,535", () => packet(Ipv6Frag, [Udp, 0, 0xff, 0xf8, 0, 0, 0, 1, ...new Array(16).fill(0)]), "bad-fragment"],
  ];
  for (const [what, make, reason] of cases) {
    it(`rejects ${what}: ${reason}`, () => {
      expect(new Ipv6Packet(make()).check()).toEqual({ ok: false, reason });
    });
  }

  it("checkQuoted says truncated when the cut falls inside an extension header", () => {
    const b = packet(Ipv6Opts, [...ext(Ipv6Opts, Udp, 1), ...new Array(8).fill(0)]);
    expect(new Ipv6Packet(b.subarray(0, 50)).checkQuoted()).toEqual({ ok: false, reason: "truncated" });
  });

  it("emitIpv6Fragment rejects offsets that are not multiples of 8", () => {
    expect(() => emitIpv6Fragment(new Uint8Array(8), 0, { nextHeader: Udp, fragmentOffset: 12, moreFragments: false, identification: 1 })).toThrow(RangeError);
    expect(() => emitIpv6Fragment(new Uint8Array(7), 0, { nextHeader: Udp, fragmentOffset: 8, moreFragments: false, identification: 1 })).toThrow(RangeError);
  });
});

/** A random chain: maybe Hop-by-Hop, then Routing / Destination Options / AH headers, maybe a Fragment header. */
const chain = fc.record({
  hopByHop: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
  middle: fc.array(fc.tuple(fc.constantFrom(Ipv6Route, Ipv6Opts, Ah), fc.integer({ min: 0, max: 3 })), { maxLength: 4 }),
  fragment: fc.option(fc.record({ units: fc.integer({ min: 0, max: 0x1fff }), more: fc.boolean(), id: u32 }), { nil: undefined }),
  upper: fc.constantFrom(Udp, Tcp, Icmpv6, Esp, Ipv6NoNxt, 253),
});

describe("properties", () => {
  it("emit → check round-trips the fixed header and walks any extension chain", () => {
    fc.assert(
      fc.property(
        addr6,
        addr6,
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 0xfffff }),
        fc.integer({ min: 0, max: 255 }),
        chain,
        fc.uint8Array({ maxLength: 64 }),
        (src, dst, tc, flow, hops, c, data) => {
          const headers: [number, number][] = [];
          if (c.hopByHop !== undefined) headers.push([HopByHop, c.hopByHop]);
          headers.push(...c.middle);
          if (c.fragment) headers.push([Ipv6Frag, 0]);
          // Fragment data with M set must be a multiple of 8 long.
          const body = c.fragment?.more ? data.subarray(0, data.length & ~7) : data;
          const bytes: number[] = [];
          headers.forEach(([kind, units], i) => bytes.push(...ext(kind, headers[i + 1]?.[0] ?? c.upper, units)));
          const upperOffset = 40 + bytes.length;
          let fragAt = -1;
          if (c.fragment) {
            fragAt = upperOffset - 8;
            const fo = Math.min(c.fragment.units * 8, (0xffff - body.length) & ~7);
            const fh = new Uint8Array(8);
            emitIpv6Fragment(fh, 0, { nextHeader: c.upper, fragmentOffset: fo, moreFragments: c.fragment.more, identification: c.fragment.id });
            bytes.splice(bytes.length - 8, 8, ...fh);
          }
          bytes.push(...body);
          const b = new Uint8Array(40 + bytes.length);
          emitIpv6(b, { src, dst, nextHeader: headers[0]?.[0] ?? c.upper, payloadLength: bytes.length, hopLimit: hops, trafficClass: tc, flowLabel: flow });
          b.set(bytes, 40);
          const p = new Ipv6Packet(b);
          expect(p.check()).toBe(OK);
          expect(same(p.src, src) && same(p.dst, dst)).toBe(true);
          expect([p.trafficClass, p.flowLabel, p.hopLimit, p.payloadLength]).toEqual([tc, flow, hops, bytes.length]);
          expect([p.upperProtocol, p.upperOffset, p.fragmentHeaderOffset]).toEqual([c.upper, upperOffset, fragAt]);
          expect(same(p.upperPayload, body)).toBe(true);
          if (c.fragment) expect([p.moreFragments, p.fragmentIdentification]).toEqual([c.fragment.more, c.fragment.id]);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
