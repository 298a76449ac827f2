/**
 * IP fragmentation and reassembly: UDP datagrams larger than the MTU between
 * two Stacks (IPv4 and IPv6, MTU 1500 and 1280, sizes up to the largest UDP
 * payload), the fragments as they appear on the wire, reassembly of
 * hand-built fragments out of order, duplicated, overlapping or
 * inconsistent, the memory cap, and a lossy, reordering, corrupting Link.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Random } from "../../src/random.js";
import { Tracer } from "../../src/stack/iface/index.js";
import { FRAGMENT_OVERHEAD, Reassembler } from "../../src/stack/ip/reassembly.js";
import { IPV4_MIN_HEADER, IPV6_FRAGMENT_HEADER, IPV6_HEADER, IpProtocol } from "../../src/stack/wire/index.js";
import {
  PEER4,
  PEER6,
  US4,
  US6,
  drain,
  fragment6,
  fragments4,
  fragments6,
  ipv4,
  pair,
  parse,
  pattern,
  same,
  udp,
  wireWorld,
  type Sent,
} from "./helpers.js";

const V4 = { us: US4, peer: PEER4, bind: (a: string) => `${a}:0`, at: (a: string, p: number) => `${a}:${p}` };
const V6 = { us: US6, peer: PEER6, bind: (a: string) => `[${a}]:0`, at: (a: string, p: number) => `[${a}]:${p}` };

/** Sends `sizes` from stack a to stack b over a Link of `mtu`; returns what b received and what went on the wire a→b. */
function exchange(family: 4 | 6, mtu: number, sizes: number[]) {
  const wire: Sent[] = [];
  const p = pair({ link: { mtu }, wrapA: (d) => new Tracer(d, (dir, pkt) => dir === "tx" && wire.push(parse(pkt))) });
  const f = family === 4 ? V4 : V6;
  const rx = p.b.udpBind(f.at(f.us, 9000));
  const tx = p.a.udpBind(f.bind(f.peer));
  const sent = sizes.map((n, i) => pattern(n, i));
  for (const d of sent) {
    tx.sendTo(d, f.at(f.us, 9000));
    p.run(1);
  }
  const got = drain(rx);
  rx.close();
  tx.close();
  return { p, sent, got, wire, from: tx };
}

describe("fragmentation between two stacks", () => {
  const cases: Array<{ family: 4 | 6; mtu: number; sizes: number[] }> = [
    { family: 4, mtu: 1500, sizes: [1472, 1473, 1481, 2959, 2960, 2961, 8191, 33333, 65507] },
    { family: 4, mtu: 1280, sizes: [1252, 1253, 4099, 65507] },
    { family: 6, mtu: 1500, sizes: [1452, 1453, 4097, 40001, 65527] },
    { family: 6, mtu: 1280, sizes: [1232, 1233, 1240, 2465, 9999, 65527] },
  ];
  for (const c of cases) {
    it(`IPv${c.family}, MTU ${c.mtu}: ${c.sizes.join(", ")}-byte datagrams arrive intact, in order`, () => {
      const { p, sent, got } = exchange(c.family, c.mtu, c.sizes);
      expect(got.map((g) => g.data.length)).toEqual(c.sizes);
      for (let i = 0; i < sent.length; i++) expect(same(got[i]!.data, sent[i]!)).toBe(true);
      const hl = c.family === 4 ? IPV4_MIN_HEADER : IPV6_HEADER + IPV6_FRAGMENT_HEADER;
      const unfragmented = c.family === 4 ? c.mtu - IPV4_MIN_HEADER - 8 : c.mtu - IPV6_HEADER - 8;
      const chunk = (c.mtu - hl) & ~7;
      const expected = c.sizes.reduce((n, s) => n + (s <= unfragmented ? 0 : Math.ceil((s + 8) / chunk)), 0);
      expect(p.a.stats().fragmentsSent).toBe(expected);
      expect(p.b.stats().reassembled).toBe(c.sizes.filter((s) => s > unfragmented).length);
      expect(p.b.stats().dropped).toEqual({});
    });
  }

  for (const family of [4, 6] as const) {
    it(`IPv${family}: fragments on the wire fit the MTU, carry multiples of 8 bytes, and tile the datagram`, () => {
      const mtu = 1280;
      const { wire } = exchange(family, mtu, [5000, 5000]);
      const ids = new Set<number>();
      for (const dgram of [0, 1]) {
        const id = wire.find((s) => s.fragment !== null && !ids.has(s.fragment.id))!.fragment!.id;
        ids.add(id);
        const frags = wire.filter((s) => s.fragment?.id === id);
        let next = 0;
        for (const [i, s] of frags.entries()) {
          expect(s.raw.length).toBeLessThanOrEqual(mtu);
          expect(s.fragment!.offset).toBe(next);
          expect(s.fragment!.more).toBe(i < frags.length - 1);
          expect(s.protocol).toBe(IpProtocol.Udp);
          if (s.fragment!.more) expect(s.l4.length % 8).toBe(0);
          next += s.l4.length;
        }
        expect(next).toBe(5008);
        expect(dgram).toBeLessThan(2);
      }
      expect(ids.size).toBe(2); // each datagram has its own identification
    });
  }

  it("IPv4: the largest datagram (65507 bytes) fills Total Length to 65535 once reassembled", () => {
    const { wire, got } = exchange(4, 1500, [65507]);
    const last = wire[wire.length - 1]!;
    expect(last.fragment!.more).toBe(false);
    expect(last.fragment!.offset + last.l4.length + IPV4_MIN_HEADER).toBe(65535);
    expect(got[0]!.data.length).toBe(65507);
  });

  it("IPv6: the largest datagram (65527 bytes) ends at fragment offset + length = 65535", () => {
    const { wire, got } = exchange(6, 1280, [65527]);
    const last = wire[wire.length - 1]!;
    expect(last.fragment!.offset + last.l4.length).toBe(65535);
    expect(got[0]!.data.length).toBe(65527);
  });
});

describe("reassembly of hand-built fragments", () => {
  function world(family: 4 | 6, options: Parameters<typeof wireWorld>[0] = {}) {
    const w = wireWorld(options);
    const f = family === 4 ? V4 : V6;
    const sock = w.stack.udpBind(f.at(f.us, 9));
    /** fragments of a UDP datagram from the peer to port 9 */
    const frags = (id: number, data: Uint8Array, chunk = 1232): Uint8Array[] => {
      const dgram = udp(f.peer, f.us, 4000, 9, data);
      return family === 4
        ? fragments4({ src: f.peer, dst: f.us, protocol: IpProtocol.Udp, id }, dgram, chunk)
        : fragments6(f.peer, f.us, IpProtocol.Udp, id, dgram, chunk);
    };
    return { w, sock, frags, prefix: family === 4 ? "ipv4" : "ipv6" };
  }

  for (const family of [4, 6] as const) {
    describe(`IPv${family}`, () => {
      it("any order of the fragments gives the datagram back (property)", () => {
        fc.assert(
          fc.property(fc.integer({ min: 1, max: 20000 }), fc.integer({ min: 1, max: 150 }), fc.nat(), (size, units, seed) => {
            const { w, sock, frags } = world(family);
            const data = pattern(size, seed);
            const pieces = frags(seed, data, units * 8);
            const rng = new Random(seed);
            for (let i = pieces.length - 1; i > 0; i--) {
              const j = rng.int(i + 1);
              [pieces[i], pieces[j]] = [pieces[j]!, pieces[i]!];
            }
            w.inject(...pieces);
            w.run(1);
            const got = drain(sock);
            // a lone IPv6 fragment is an atomic fragment: reassembled too (Linux counts it in ReasmOKs)
            const reassembled = pieces.length > 1 || family === 6 ? 1 : 0;
            return got.length === 1 && same(got[0]!.data, data) && w.stack.stats().reassembled === reassembled;
          }),
          { numRuns: 60 },
        );
      });

      it("fragments of several datagrams interleaved are told apart by identification", () => {
        const { w, sock, frags } = world(family);
        const datas = [pattern(3000, 1), pattern(5000, 2), pattern(2500, 3)];
        const lists = datas.map((d, i) => frags(100 + i, d));
        const longest = Math.max(...lists.map((l) => l.length));
        for (let k = 0; k < longest; k++) for (const l of lists) if (k < l.length) w.inject(l[l.length - 1 - k]!);
        w.run(1);
        const got = drain(sock);
        expect(got.map((g) => g.data.length).sort()).toEqual([2500, 3000, 5000]);
        for (const g of got) expect(datas.some((d) => same(d, g.data))).toBe(true);
      });

      it("exact duplicates are ignored (counted), the datagram still completes once", () => {
        const { w, sock, frags, prefix } = world(family);
        const data = pattern(4000, 5);
        const pieces = frags(7, data);
        w.inject(pieces[0]!, pieces[0]!, pieces[1]!, pieces[1]!, pieces[2]!, pieces[3]!);
        w.run(1);
        const got = drain(sock);
        expect(got).toHaveLength(1);
        expect(same(got[0]!.data, data)).toBe(true);
        expect(w.stack.stats().dropped[`${prefix}:fragment-duplicate`]).toBe(2);
        // a duplicate arriving after completion starts nothing that could complete
        w.inject(pieces[3]!);
        w.run(1);
        expect(drain(sock)).toEqual([]);
      });

      it("an overlapping fragment drops the whole datagram (RFC 5722), counted", () => {
        const { w, sock, frags, prefix } = world(family);
        const data = pattern(3000, 6);
        const good = frags(8, data, 1232);
        // a fragment at offset 1224 (overlaps the first by 8 bytes)
        const overlapping = frags(8, data, 1224)[1]!;
        w.inject(good[0]!, overlapping, good[1]!, good[2]!);
        w.run(1);
        expect(drain(sock)).toEqual([]);
        expect(w.stack.stats().dropped[`${prefix}:fragment-overlap`]).toBe(1);
        expect(w.stack.stats().reassembled).toBe(0);
        // the same datagram sent again with a fresh identification gets through
        w.inject(...frags(9, data));
        w.run(1);
        const got = drain(sock);
        expect(got).toHaveLength(1);
        expect(same(got[0]!.data, data)).toBe(true);
      });

      it("fragments that disagree on the datagram's length drop it", () => {
        const { w, sock, frags, prefix } = world(family);
        const long = frags(10, pattern(3000, 7));
        const short = frags(10, pattern(2000, 7));
        // two different last fragments
        w.inject(long[2]!, short[1]!, long[0]!, long[1]!);
        w.run(1);
        expect(drain(sock)).toEqual([]);
        expect(w.stack.stats().dropped[`${prefix}:fragment-overlap`]).toBeGreaterThanOrEqual(1);
        // a last fragment that ends before data already received
        const { w: w2, sock: s2, frags: f2, prefix: p2 } = world(family);
        const a = f2(11, pattern(6000, 8));
        w2.inject(a[3]!, f2(11, pattern(2000, 8))[1]!);
        w2.run(1);
        expect(drain(s2)).toEqual([]);
        expect(w2.stack.stats().dropped[`${p2}:fragment-overlap`]).toBe(1);
      });
    });
  }

  it("IPv6: an atomic fragment (offset 0, M clear) is delivered at once (RFC 6946)", () => {
    const { w, sock } = world(6);
    const data = pattern(100, 1);
    w.inject(fragment6(PEER6, US6, IpProtocol.Udp, 1, 0, false, udp(PEER6, US6, 4000, 9, data)));
    w.run(1);
    const got = drain(sock);
    expect(got).toHaveLength(1);
    expect(same(got[0]!.data, data)).toBe(true);
  });

  it("IPv4: a datagram reaching past 65535 bytes is dropped (counted), not thrown", () => {
    const { w, sock } = world(4);
    // the last fragment starts at 65528 with 16 bytes of data
    const frag = ipv4({ src: PEER4, dst: US4, protocol: IpProtocol.Udp, id: 3, offset: 65528, more: false }, new Uint8Array(16));
    expect(() => {
      w.inject(frag);
      w.run(1);
    }).not.toThrow();
    expect(drain(sock)).toEqual([]);
    const dropped = w.stack.stats().dropped;
    expect((dropped["ipv4:bad-fragment"] ?? 0) + (dropped["ipv4:fragment-too-long"] ?? 0)).toBe(1);
  });
});

describe("reassembly memory is bounded", () => {
  it("Reassembler: 100,000 fragments of distinct datagrams never take more than the cap", () => {
    const cap = 1 << 20;
    const r = new Reassembler(30_000, cap);
    const frag = new Uint8Array(1480);
    let refused = 0;
    for (let i = 0; i < 100_000; i++) {
      const res = r.add(`k${i}`, 1480 * (1 + (i % 40)), frag, true, frag, i / 100);
      if (!res.done && res.dropped === "memory") refused++;
      if (i % 1000 === 0) expect(r.usage().bytes).toBeLessThanOrEqual(cap);
    }
    const u = r.usage();
    expect(u.bytes).toBeLessThanOrEqual(cap);
    expect(u.datagrams).toBeLessThanOrEqual(Math.floor(cap / (1480 + FRAGMENT_OVERHEAD)));
    expect(refused).toBe(100_000 - u.datagrams);
    // after the timeout everything is released
    r.expire(1e9);
    expect(r.usage()).toEqual({ datagrams: 0, bytes: 0 });
    expect(r.nextDeadline()).toBeNull();
  });

  it("Stack: a flood of incomplete datagrams is refused past reassemblyBytes (counter fragment-memory); room comes back after the timeout", () => {
    const w = wireWorld({ stack: { reassemblyBytes: 64 * 1024, reassemblyTimeoutMs: 5000 } });
    const sock = w.stack.udpBind(`${US4}:9`);
    // second fragments only: nothing will ever complete, and no ICMP is owed
    for (let id = 0; id < 2000; id++) {
      const frags = fragments4({ src: PEER4, dst: US4, protocol: IpProtocol.Udp, id }, udp(PEER4, US4, 1, 9, pattern(2000)), 1480);
      w.inject(frags[1]!);
    }
    w.run(1);
    const flood = w.stack.stats().dropped["ipv4:fragment-memory"] ?? 0;
    expect(flood).toBeGreaterThan(1900);
    // while full, a whole new datagram cannot be reassembled either (as Linux above ipfrag_high_thresh)
    const data = pattern(3000, 1);
    const legit = fragments4({ src: PEER4, dst: US4, protocol: IpProtocol.Udp, id: 60000 }, udp(PEER4, US4, 1, 9, data), 1480);
    w.inject(...legit);
    w.run(1);
    expect(drain(sock)).toEqual([]);
    w.run(5000);
    expect(w.sent()).toEqual([]);
    const again = fragments4({ src: PEER4, dst: US4, protocol: IpProtocol.Udp, id: 60001 }, udp(PEER4, US4, 1, 9, data), 1480);
    w.inject(...again);
    w.run(1);
    const got = drain(sock);
    expect(got).toHaveLength(1);
    expect(same(got[0]!.data, data)).toBe(true);
  });
});

describe("reassembly over a lossy, reordering, duplicating, corrupting Link", () => {
  for (const family of [4, 6] as const) {
    it(`IPv${family}: most datagrams arrive, and every one that arrives is exactly what was sent`, () => {
      const p = pair({
        link: { mtu: 1500, delayMs: 5, jitterMs: 3, loss: 0.02, reorder: 0.2, duplicate: 0.05, corrupt: 0.02, seed: 1234 + family },
      });
      const f = family === 4 ? V4 : V6;
      const rx = p.b.udpBind(f.at(f.us, 9000));
      const tx = p.a.udpBind(f.bind(f.peer));
      const rng = new Random(family);
      const sent = new Map<number, Uint8Array>();
      const total = 400;
      const received: Uint8Array[] = [];
      for (let i = 0; i < total; i++) {
        const size = 4 + rng.int(12000);
        const data = pattern(size, i);
        new DataView(data.buffer).setUint32(0, i);
        sent.set(i, data);
        tx.sendTo(data, f.at(f.us, 9000));
        p.run(2);
        received.push(...drain(rx).map((g) => g.data));
      }
      p.run(200);
      received.push(...drain(rx).map((g) => g.data));
      const seen = new Set<number>();
      for (const d of received) {
        const i = new DataView(d.buffer).getUint32(0);
        expect(sent.has(i)).toBe(true);
        expect(same(d, sent.get(i)!)).toBe(true); // never a corrupted datagram
        seen.add(i);
      }
      expect(seen.size).toBeGreaterThan(total * 0.7);
      const stats = p.link.stats().aToB;
      expect(stats.corrupted).toBeGreaterThan(0);
      expect(stats.duplicated).toBeGreaterThan(0);
      expect(stats.reordered).toBeGreaterThan(0);
      // damaged fragments were counted as drops somewhere (IP header, UDP checksum after reassembly)
      const drops = p.b.stats().dropped;
      expect(Object.values(drops).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      rx.close();
      tx.close();
    });
  }
});
