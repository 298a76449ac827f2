/**
 * OutboundPolicy (src/relay/outbound-policy.ts): parsing of `--outbound`,
 * membership against a bit-by-bit reference, and the toString round trip.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatIp, parseIp } from "../../src/net/socket-addr.js";
import { OutboundPolicy } from "../../src/relay/outbound-policy.js";

const ip = (s: string): Uint8Array => parseIp(s)!;

/** Bit `i` (most significant first) of `b`. */
const bit = (b: Uint8Array, i: number): number => (b[i >> 3]! >> (7 - (i & 7))) & 1;

/** Reference membership: same length and the first `prefix` bits equal, one bit at a time. */
function inPrefix(addr: Uint8Array, net: Uint8Array, prefix: number): boolean {
  if (addr.length !== net.length) return false;
  for (let i = 0; i < prefix; i++) if (bit(addr, i) !== bit(net, i)) return false;
  return true;
}

/** `bytes` with the bits after `prefix` cleared, one bit at a time. */
function masked(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < prefix; i++) out[i >> 3]! |= bit(bytes, i) << (7 - (i & 7));
  return out;
}

const isMapped = (b: Uint8Array): boolean =>
  b.length === 16 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;

/** A prefix without host bits, outside the IPv4-mapped range (which the policy rewrites). */
const arbPrefix = fc
  .oneof(
    fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 })),
    fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 })),
  )
  .map(([b, p]) => ({ bytes: masked(b, p), prefix: p }))
  .filter((c) => !(c.prefix >= 96 && isMapped(c.bytes)));

const arbAddr = fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 16, maxLength: 16 }));

describe("OutboundPolicy.parse", () => {
  it("all and none", () => {
    expect(OutboundPolicy.parse("all")).toBe(OutboundPolicy.ALL);
    expect(OutboundPolicy.parse("none")).toBe(OutboundPolicy.NONE);
    expect(OutboundPolicy.parse(" all ")).toBe(OutboundPolicy.ALL);
    for (const a of ["0.0.0.0", "255.255.255.255", "::", "ffff::1", "10.0.2.2"]) {
      expect(OutboundPolicy.ALL.allows(ip(a))).toBe(true);
      expect(OutboundPolicy.NONE.allows(ip(a))).toBe(false);
    }
    expect(OutboundPolicy.ALL.toString()).toBe("all");
    expect(OutboundPolicy.NONE.toString()).toBe("none");
  });

  it("a list of prefixes and bare addresses, in order, canonical", () => {
    const p = OutboundPolicy.parse("10.0.0.0/8, FD00:0::/8,192.0.2.7,2001:db8::1");
    expect(p.toString()).toBe("10.0.0.0/8,fd00::/8,192.0.2.7/32,2001:db8::1/128");
    expect(p.prefixes.map((c) => c.prefix)).toEqual([8, 8, 32, 128]);
    expect(p.allows(ip("10.255.0.1"))).toBe(true);
    expect(p.allows(ip("11.0.0.0"))).toBe(false);
    expect(p.allows(ip("9.255.255.255"))).toBe(false);
    expect(p.allows(ip("192.0.2.7"))).toBe(true);
    expect(p.allows(ip("192.0.2.6"))).toBe(false);
    expect(p.allows(ip("192.0.2.8"))).toBe(false);
    expect(p.allows(ip("fdff::1"))).toBe(true);
    expect(p.allows(ip("fe00::1"))).toBe(false);
    expect(p.allows(ip("2001:db8::1"))).toBe(true);
    expect(p.allows(ip("2001:db8::2"))).toBe(false);
    // families never cross: ::a00:1 has the bytes of 10.0.0.1 at its end
    expect(p.allows(ip("::a00:1"))).toBe(false);
  });

  it("/0 per family", () => {
    const v4 = OutboundPolicy.parse("0.0.0.0/0");
    expect(v4.allows(ip("203.0.113.9"))).toBe(true);
    expect(v4.allows(ip("2001:db8::1"))).toBe(false);
    const v6 = OutboundPolicy.parse("::/0");
    expect(v6.allows(ip("2001:db8::1"))).toBe(true);
    expect(v6.allows(ip("203.0.113.9"))).toBe(false);
  });

  it("judges an IPv4-mapped destination as its IPv4 address", () => {
    const v4 = OutboundPolicy.parse("10.0.0.0/8");
    expect(v4.allows(ip("::ffff:10.1.2.3"))).toBe(true);
    expect(v4.allows(ip("::ffff:11.1.2.3"))).toBe(false);
    // an IPv6 rule does not let IPv4 through by way of the mapped form
    expect(OutboundPolicy.parse("::/0").allows(ip("::ffff:10.1.2.3"))).toBe(false);
    // a mapped prefix is the IPv4 prefix it names
    const mapped = OutboundPolicy.parse("::ffff:10.0.0.0/104,::ffff:192.0.2.7");
    expect(mapped.toString()).toBe("10.0.0.0/8,192.0.2.7/32");
    expect(mapped.allows(ip("10.9.9.9"))).toBe(true);
    expect(mapped.allows(ip("::ffff:192.0.2.7"))).toBe(true);
    expect(mapped.allows(ip("192.0.2.8"))).toBe(false);
    expect(OutboundPolicy.parse("::ffff:0:0/96").toString()).toBe("0.0.0.0/0");
  });

  it("refuses bad input with a message naming it", () => {
    const cases: [string, string][] = [
      ["", 'empty outbound policy: expected all, none or a list such as 10.0.0.0/8,fd00::/8'],
      ["  ", 'empty outbound policy: expected all, none or a list such as 10.0.0.0/8,fd00::/8'],
      ["all,10.0.0.0/8", '"all,10.0.0.0/8": all cannot be combined with prefixes'],
      ["10.0.0.0/8,none", '"10.0.0.0/8,none": none cannot be combined with prefixes'],
      ["all,none", '"all,none": all cannot be combined with prefixes'],
      ["10.0.0.0/8,", '"10.0.0.0/8,": empty entry in the list'],
      [",10.0.0.0/8", '",10.0.0.0/8": empty entry in the list'],
      ["10.0.0.0/8,,fd00::/8", '"10.0.0.0/8,,fd00::/8": empty entry in the list'],
      ["ALL", '"ALL" is not an address or prefix: expected e.g. 10.0.0.0/8, fd00::/8 or 192.0.2.7'],
      ["10.0.0.0/33", '"10.0.0.0/33" is not an address or prefix'],
      ["fd00::/129", '"fd00::/129" is not an address or prefix'],
      ["10.0.0/8", '"10.0.0/8" is not an address or prefix'],
      ["10.0.0.0/", '"10.0.0.0/" is not an address or prefix'],
      ["10.0.0.0/-1", '"10.0.0.0/-1" is not an address or prefix'],
      ["example.com", '"example.com" is not an address or prefix'],
      ["fe80::1%eth0", '"fe80::1%eth0" is not an address or prefix'],
      ["10.0.0.1/8", '"10.0.0.1/8" has host bits set: did you mean 10.0.0.0/8?'],
      ["192.0.2.7/31", '"192.0.2.7/31" has host bits set: did you mean 192.0.2.6/31?'],
      ["fd00::1/64", '"fd00::1/64" has host bits set: did you mean fd00::/64?'],
      ["0.0.0.1/0", '"0.0.0.1/0" has host bits set: did you mean 0.0.0.0/0?'],
    ];
    for (const [text, message] of cases) {
      expect(() => OutboundPolicy.parse(text), text).toThrow(TypeError);
      expect(() => OutboundPolicy.parse(text), text).toThrow(message);
    }
    expect(() => OutboundPolicy.parse(8 as unknown as string)).toThrow(TypeError);
  });

  it("allows() refuses what is not an address", () => {
    const p = OutboundPolicy.parse("10.0.0.0/8");
    for (const bad of [new Uint8Array(0), new Uint8Array(5), new Uint8Array(15)]) {
      expect(() => p.allows(bad)).toThrow("expected 4 or 16 address bytes");
      expect(() => OutboundPolicy.ALL.allows(bad)).toThrow(TypeError);
    }
    expect(() => p.allows([10, 0, 0, 1] as unknown as Uint8Array)).toThrow(TypeError);
  });
});

describe("OutboundPolicy properties", () => {
  it("membership matches a bit-by-bit reference", () => {
    fc.assert(
      fc.property(fc.array(arbPrefix, { minLength: 1, maxLength: 5 }), fc.array(arbAddr, { maxLength: 20 }), (nets, addrs) => {
        const p = OutboundPolicy.parse(nets.map((n) => `${formatIp(n.bytes)}/${n.prefix}`).join(","));
        // addresses inside each prefix, with random host bits, and arbitrary ones
        const probes = [...addrs, ...nets.map((n, i) => {
          const a = addrs[i % Math.max(1, addrs.length)];
          if (!a || a.length !== n.bytes.length) return n.bytes;
          const out = a.slice();
          for (let b = 0; b < n.prefix; b++) {
            out[b >> 3] = (out[b >> 3]! & ~(1 << (7 - (b & 7)))) | (bit(n.bytes, b) << (7 - (b & 7)));
          }
          return out;
        })];
        for (const a of probes) {
          const dest = isMapped(a) ? a.subarray(12) : a;
          const want = nets.some((n) => inPrefix(dest, n.bytes, n.prefix));
          expect(p.allows(a), `${formatIp(a)} in ${p}`).toBe(want);
        }
      }),
      { seed: 0x0b0d, numRuns: 300 },
    );
  });

  it("parse(toString()) gives the same policy", () => {
    const arbPolicy = fc.oneof(
      fc.constant("all"),
      fc.constant("none"),
      fc.array(arbPrefix, { minLength: 1, maxLength: 6 }).map((ns) => ns.map((n) => `${formatIp(n.bytes)}/${n.prefix}`).join(",")),
    );
    fc.assert(
      fc.property(arbPolicy, (text) => {
        const p = OutboundPolicy.parse(text);
        expect(p.toString()).toBe(text);
        const q = OutboundPolicy.parse(p.toString());
        expect(q.toString()).toBe(p.toString());
        expect(q.prefixes).toEqual(p.prefixes);
      }),
      { seed: 0x5eed, numRuns: 300 },
    );
  });

  it("a prefix with any host bit set is refused, and its masked form accepted", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 31 })),
          fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 127 })),
        ),
        ([bytes, prefix]) => {
          const m = masked(bytes, prefix);
          const text = `${formatIp(bytes)}/${prefix}`;
          if (m.every((x, i) => x === bytes[i])) {
            expect(() => OutboundPolicy.parse(text)).not.toThrow();
          } else {
            expect(() => OutboundPolicy.parse(text)).toThrow(`did you mean ${formatIp(m)}/${prefix}?`);
            expect(() => OutboundPolicy.parse(`${formatIp(m)}/${prefix}`)).not.toThrow();
          }
        },
      ),
      { seed: 0xbad, numRuns: 300 },
    );
  });
});
