/**
 * sim.router: IP forwarding between hosts with TTL / hop limit (RFC 1812
 * §5.3.1, RFC 8200 §3): traceroute's Time Exceeded from each router's
 * address, the decrement seen in the destination's quote, TCP through two
 * routers, UDP to a router refused, fragmentation by a router (RFC 791) and
 * Packet Too Big / Fragmentation Needed (RFC 8201, RFC 1191) with raw packets.
 */
import { afterEach, describe, expect, it } from "vitest";
import { IoError, Link, Sim, SimClock, WOULD_BLOCK } from "../../src/index.js";
import { parseCidr } from "../../src/stack/iface/cidr.js";
import { Fabric, type Port, type SimNode } from "../../src/sim/fabric.js";
import { SimRouter } from "../../src/sim/router.js";
import { accept, connect, readToEnd, writeAll } from "../../src/sim/sockets.js";
import {
  IPV4_MIN_HEADER,
  IPV6_HEADER,
  Icmpv4Packet,
  Icmpv6Packet,
  IpProtocol,
  Ipv4Packet,
  Ipv6Packet,
  UDP_HEADER,
  emitIpv4,
  emitIpv6,
  emitUdp,
} from "../../src/stack/wire/index.js";

let sims: Sim[] = [];
afterEach(() => {
  for (const s of sims) s.close();
  sims = [];
});

/** a — r1 — r2 — b, 5 ms a link; r1–r2's MTU `middleMtu`. */
function chain(middleMtu = 1500): Sim {
  const sim = new Sim({ seed: 21 });
  sims.push(sim);
  sim.host("a", { addresses: ["10.0.1.1/24", "fd01::1/64"] });
  sim.host("b", { addresses: ["10.0.3.2/24", "fd03::2/64"] });
  sim.router("r1", { addresses: ["10.0.1.254/24", "10.0.2.1/24", "fd01::fe/64"] });
  sim.router("r2", { addresses: ["10.0.2.2/24", "10.0.3.254/24", "fd02::2/64"] });
  sim.link("a", "r1", { delayMs: 5 });
  sim.link("r1", "r2", { delayMs: 5, mtu: middleMtu });
  sim.link("r2", "b", { delayMs: 5 });
  return sim;
}

/** An ICMP message some node sent, as seen by sim.trace. */
interface Seen {
  from: string;
  at: number;
  src: string;
  type: number;
  code: number;
  rest: number;
  /** the TTL / hop limit of the quoted datagram */
  quotedHops: number;
}

function icmpOf(packet: Uint8Array, at: number, from: string): Seen | null {
  if (packet[0]! >> 4 === 4) {
    const ip = new Ipv4Packet(packet);
    if (ip.protocol !== IpProtocol.Icmp) return null;
    const m = new Icmpv4Packet(ip.payload);
    return { from, at, src: ip.src.join("."), type: m.type, code: m.code, rest: m.rest, quotedHops: m.body[8] ?? -1 };
  }
  const ip = new Ipv6Packet(packet);
  if (!ip.check().ok || ip.upperProtocol !== IpProtocol.Icmpv6) return null;
  const m = new Icmpv6Packet(packet.subarray(ip.upperOffset));
  return { from, at, src: ip.src.join("."), type: m.type, code: m.code, rest: m.rest, quotedHops: m.body[7] ?? -1 };
}

/** Sends one UDP probe per TTL 1..`hops` from a to `dst`, 100 ms apart; the ICMP messages that came of them. */
async function traceroute(sim: Sim, dst: string, local: string, hops: number): Promise<Seen[]> {
  const seen: Seen[] = [];
  sim.trace((p, at, from) => {
    const s = icmpOf(p, at, from);
    if (s !== null) seen.push(s);
  });
  const u = sim.stack("a").udpBind(local);
  await sim.run(async () => {
    for (let ttl = 1; ttl <= hops; ttl++) {
      u.setTtl(ttl);
      u.sendTo(new Uint8Array(32), dst);
      await sim.sleep(100);
    }
  });
  return seen;
}

describe("sim.router", () => {
  it("traceroute over IPv4: Time Exceeded from r1 and r2's addresses, then b's Port Unreachable quoting a TTL of 1", async () => {
    const sim = chain();
    const seen = await traceroute(sim, "10.0.3.2:33434", "10.0.1.1:40000", 3);
    expect(seen.map(({ from, at, src, type, code, quotedHops }) => ({ from, at, src, type, code, quotedHops }))).toEqual([
      { from: "r1", at: 5, src: "10.0.1.254", type: 11, code: 0, quotedHops: 1 },
      { from: "r2", at: 110, src: "10.0.2.2", type: 11, code: 0, quotedHops: 1 },
      { from: "b", at: 215, src: "10.0.3.2", type: 3, code: 3, quotedHops: 1 },
    ]);
    expect(sim.stats().dropped.ttl).toBe(2);
  });

  it("traceroute over IPv6: ICMPv6 Time Exceeded (type 3) from each router's IPv6 address", async () => {
    const sim = chain();
    const seen = await traceroute(sim, "[fd03::2]:33434", "[fd01::1]:40000", 3);
    expect(seen.map(({ from, type, code, quotedHops }) => [from, type, code, quotedHops])).toEqual([
      ["r1", 3, 0, 1],
      ["r2", 3, 0, 1],
      ["b", 1, 4, 1],
    ]);
    expect(seen[0]!.src).toBe([0xfd, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfe].join("."));
  });

  it("carries TCP both ways through two routers byte for byte", async () => {
    const sim = chain();
    const data = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 31 + (i >> 10)) & 0xff);
    const listener = sim.stack("b").tcpBind("10.0.3.2:80");
    const [got, echoed] = await sim.run(async () => {
      const [c, s] = await Promise.all([connect(sim, sim.stack("a"), "10.0.3.2:80"), accept(sim, listener)]);
      const up = writeAll(sim, c, data).then(() => c.shutdown("write"));
      const atB = await readToEnd(sim, s);
      await writeAll(sim, s, atB);
      s.shutdown("write");
      const back = await readToEnd(sim, c);
      await up;
      return [atB, back];
    });
    expect(Buffer.from(got).equals(Buffer.from(data))).toBe(true);
    expect(Buffer.from(echoed).equals(Buffer.from(data))).toBe(true);
    expect(sim.stats().forwarded).toBeGreaterThan(2 * 2 * Math.ceil(data.length / 1460));
  });

  it("refuses UDP to its own address: a connected socket gets ECONNREFUSED", async () => {
    const sim = chain();
    const u = sim.stack("a").udpBind("10.0.1.1:0");
    u.connect("10.0.2.2:53");
    u.send(new Uint8Array(8));
    await sim.run(() => sim.sleep(50));
    expect(u.takeError()).toMatchObject({ code: "ECONNREFUSED" } satisfies Partial<IoError>);
    expect(sim.stats().dropped["router-local"]).toBe(1);
  });

  it("path MTU discovery through a router: a DF datagram too big for the next link gets Fragmentation Needed; the next one a fragments to fit", async () => {
    const sim = chain(576);
    const rx = sim.stack("b").udpBind("10.0.3.2:9");
    const tx = sim.stack("a").udpBind("10.0.1.1:9");
    tx.connect("10.0.3.2:9");
    const data = Uint8Array.from({ length: 1400 }, (_, i) => i & 0xff);
    const fromA: Array<[number, boolean]> = [];
    const icmp: Seen[] = [];
    sim.trace((p, at, from, dropped) => {
      if (from === "a" && dropped === undefined) fromA.push([p.length, new Ipv4Packet(p).dontFragment]);
      const m = dropped === undefined ? icmpOf(p, at, from) : null;
      if (m !== null) icmp.push(m);
    });
    tx.send(data);
    await sim.run(() => sim.sleep(50));
    const buf = new Uint8Array(2000);
    expect(rx.recvFrom(buf)).toBe(WOULD_BLOCK);
    expect(icmp.map(({ from, type, code, rest }) => [from, type, code, rest & 0xffff])).toEqual([["r1", 3, 4, 576]]);
    expect(tx.takeError()?.code).toBe("EMSGSIZE"); // a connected socket hears of it, as on Linux
    tx.send(data);
    await sim.run(() => sim.sleep(50));
    const r = rx.recvFrom(buf);
    expect(r).not.toBe(WOULD_BLOCK);
    expect(Buffer.from(buf.subarray(0, (r as [number, unknown])[0])).equals(Buffer.from(data))).toBe(true);
    expect(fromA).toEqual([
      [1428, true],
      [572, false],
      [572, false],
      [324, false],
    ]);
  });

  it("TCP learns the path MTU from the routers and goes on in smaller segments, over IPv4 and IPv6, byte for byte", async () => {
    for (const [dst, minMtu] of [["10.0.3.2", 576], ["fd03::2", 1280]] as const) {
      const sim = chain(minMtu);
      const data = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7 + (i >> 9)) & 0xff);
      const b = sim.stack("b");
      const listener = b.tcpBind(dst.includes(":") ? `[${dst}]:80` : `${dst}:80`);
      const sizes = new Set<number>();
      let tooBig = 0;
      let mss = 0;
      sim.trace((p, at, from, dropped) => {
        if (from === "a" && dropped === undefined) sizes.add(p.length);
        const m = dropped === undefined ? icmpOf(p, at, from) : null;
        if (m !== null && (m.type === 2 || (m.type === 3 && m.code === 4))) tooBig++;
      });
      const got = await sim.run(async () => {
        const [c, s] = await Promise.all([connect(sim, sim.stack("a"), dst.includes(":") ? `[${dst}]:80` : `${dst}:80`), accept(sim, listener)]);
        const up = writeAll(sim, c, data).then(() => c.shutdown("write"));
        const atB = await readToEnd(sim, s);
        await up;
        mss = Object.values(sim.stack("a").tcpStats())[0]!.mss;
        return atB;
      });
      expect(Buffer.from(got).equals(Buffer.from(data)), dst).toBe(true);
      expect(tooBig, dst).toBeGreaterThan(0);
      expect(Math.max(...[...sizes].filter((n) => n <= minMtu)), dst).toBe(minMtu);
      expect(mss, dst).toBe(minMtu - (dst.includes(":") ? 60 : 40));
    }
  });

  it("rejects bad options and duplicate names or addresses", () => {
    const sim = chain();
    expect(() => sim.router("r3", { addresses: [] })).toThrow(/at least one address/);
    expect(() => sim.router("r3", null as never)).toThrow(TypeError);
    expect(() => sim.router("r1", { addresses: ["10.9.0.1/24"] })).toThrow(/already has a node named "r1"/);
    expect(() => sim.router("r3", { addresses: ["10.0.1.1/24"] })).toThrow(TypeError);
    expect(() => sim.link("r1", "nobody")).toThrow(/unknown node "nobody"/);
  });
});

/** A node whose link end the test drives by hand. */
function rawNode(name: string): SimNode {
  return { kind: "host", name, ports: [] };
}

/** A router between raw nodes x (10.0.1.1, fd01::1) and y (10.0.3.2, fd03::2); y's link has MTU 1280. */
function rawWorld(): { clock: SimClock; fabric: Fabric; router: SimRouter; x: Port; y: Port; step(): void } {
  const clock = new SimClock();
  const fabric = new Fabric(clock);
  const x = rawNode("x");
  const y = rawNode("y");
  const router = new SimRouter("r", ["10.0.1.254/24", "fd01::fe/64"].map(parseCidr), fabric);
  fabric.claim(x, ["10.0.1.1/24", "fd01::1/64"].map(parseCidr));
  fabric.claim(y, ["10.0.3.2/24", "fd03::2/64"].map(parseCidr));
  fabric.claim(router, router.addresses as never);
  const l1 = new Link({ mtu: 1500 });
  const l2 = new Link({ mtu: 1280 });
  for (const l of [l1, l2]) {
    l.a.attach(clock);
    l.b.attach(clock);
  }
  fabric.connect(x, router, l1);
  fabric.connect(router, y, l2);
  return { clock, fabric, router, x: x.ports[0]!, y: y.ports[0]!, step: () => router.driver.poll(clock.now()) };
}

function udp4(length: number, options: { dontFragment?: boolean; ttl?: number; fragmentOffset?: number; moreFragments?: boolean } = {}): Uint8Array {
  const p = new Uint8Array(IPV4_MIN_HEADER + UDP_HEADER + length);
  const src = Uint8Array.of(10, 0, 1, 1);
  const dst = Uint8Array.of(10, 0, 3, 2);
  emitUdp(p.subarray(IPV4_MIN_HEADER), { srcPort: 1, dstPort: 2 }, length, src, dst);
  emitIpv4(p, { src, dst, protocol: IpProtocol.Udp, payloadLength: UDP_HEADER + length, identification: 77, ttl: options.ttl ?? 64, ...options });
  return p;
}

function drain(port: Port): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let p = port.end.receive(); p !== null; p = port.end.receive()) out.push(p.slice());
  return out;
}

describe("SimRouter with raw packets", () => {
  it("answers DF with Fragmentation Needed carrying the next hop's MTU (RFC 1191)", () => {
    const w = rawWorld();
    w.x.end.transmit(udp4(1400, { dontFragment: true }));
    w.step();
    expect(drain(w.y)).toEqual([]);
    const [err] = drain(w.x);
    const ip = new Ipv4Packet(err!);
    const m = new Icmpv4Packet(ip.payload);
    expect([ip.src.join("."), ip.dst.join("."), m.type, m.code, m.rest & 0xffff, m.check().ok]).toEqual(["10.0.1.254", "10.0.1.1", 3, 4, 1280, true]);
    expect(w.fabric.stats().dropped.mtu).toBe(1);
  });

  it("splits a fragment again, keeping its offset and its More Fragments flag (RFC 791 §2.3)", () => {
    const w = rawWorld();
    const first = udp4(1400, { moreFragments: true });
    w.x.end.transmit(first);
    w.step();
    const pieces = drain(w.y).map((p) => new Ipv4Packet(p));
    expect(pieces.map((p) => [p.fragmentOffset, p.moreFragments, p.totalLength, p.identification, p.ttl, p.verifyChecksum()])).toEqual([
      [0, true, 1276, 77, 63, true],
      [1256, true, 20 + 1408 - 1256, 77, 63, true],
    ]);
    const second = udp4(0, { fragmentOffset: 1408, moreFragments: false });
    w.x.end.transmit(second);
    w.step();
    expect(drain(w.y).map((p) => new Ipv4Packet(p)).map((p) => [p.fragmentOffset, p.moreFragments])).toEqual([[1408, false]]);
  });

  it("answers an IPv6 packet too big for the next link with Packet Too Big and the MTU (RFC 8201)", () => {
    const w = rawWorld();
    const src = Uint8Array.of(0xfd, 1, ...new Array<number>(13).fill(0), 1);
    const dst = Uint8Array.of(0xfd, 3, ...new Array<number>(13).fill(0), 2);
    const p = new Uint8Array(IPV6_HEADER + UDP_HEADER + 1300);
    emitUdp(p.subarray(IPV6_HEADER), { srcPort: 1, dstPort: 2 }, 1300, src, dst);
    emitIpv6(p, { src, dst, nextHeader: IpProtocol.Udp, payloadLength: UDP_HEADER + 1300 });
    w.x.end.transmit(p);
    w.step();
    expect(drain(w.y)).toEqual([]);
    const [err] = drain(w.x);
    const ip = new Ipv6Packet(err!);
    expect(ip.check().ok).toBe(true);
    const m = new Icmpv6Packet(err!.subarray(ip.upperOffset));
    expect([m.type, m.code, m.rest, m.check(ip.src, ip.dst).ok, err!.length <= 1280]).toEqual([2, 0, 1280, true, true]);
  });

  it("never answers an ICMP error with one, and drops what is not IP", () => {
    const w = rawWorld();
    const body = udp4(8);
    const err = new Uint8Array(IPV4_MIN_HEADER + 8 + body.length);
    const src = Uint8Array.of(10, 0, 1, 1);
    const dst = Uint8Array.of(10, 0, 3, 2);
    err.set(body, IPV4_MIN_HEADER + 8);
    err[IPV4_MIN_HEADER] = 3; // destination unreachable
    err[IPV4_MIN_HEADER + 1] = 3;
    new Icmpv4Packet(err.subarray(IPV4_MIN_HEADER)).fillChecksum();
    emitIpv4(err, { src, dst, protocol: IpProtocol.Icmp, payloadLength: 8 + body.length, ttl: 1 });
    w.x.end.transmit(err);
    w.x.end.transmit(Uint8Array.of(0x45, 0, 0));
    w.step();
    expect(drain(w.x)).toEqual([]);
    expect(drain(w.y)).toEqual([]);
    expect(w.fabric.stats().dropped).toEqual({ malformed: 1, ttl: 1 });
  });
});
