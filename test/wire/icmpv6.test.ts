import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  Icmpv6Packet,
  Icmpv6TimeExceeded,
  Icmpv6Type,
  Icmpv6Unreachable,
  Ipv6Packet,
  OK,
  echoRest,
  emitIcmpv6,
  emitIcmpv6Error,
} from "../../src/stack/wire/index.js";
import { icmp6PacketTooBig, icmp6PortUnreachable, ping6Reply, ping6Request, ttl6Expired, udp6ToClosedPort } from "./fixtures/captured.js";
import { addr6, copy, ip, payload, same, u16 } from "./support.js";

const A = ip("fd00::1");
const B = ip("fd00::2");

/** The ICMPv6 message inside a captured packet, with the packet's addresses. */
function icmp(packet: Uint8Array): { m: Icmpv6Packet; src: Uint8Array; dst: Uint8Array } {
  const p = new Ipv6Packet(packet);
  if (!p.check().ok) throw new Error("fixture should parse");
  return { m: new Icmpv6Packet(p.upperPayload), src: p.src, dst: p.dst };
}

describe("Icmpv6Packet on captured messages", () => {
  it("reads an echo request and the kernel's reply", () => {
    for (const [packet, type] of [[ping6Request, Icmpv6Type.EchoRequest], [ping6Reply, Icmpv6Type.EchoReply]] as const) {
      const { m, src, dst } = icmp(packet);
      expect(m.check(src, dst)).toEqual({ ok: true });
      expect([m.type, m.code, m.identifier, m.sequence, m.isError]).toEqual([type, 0, 0x1234, 1, false]);
      expect(Buffer.from(m.body).toString()).toBe("ping payload");
    }
  });

  it("verifies the checksum against the pseudo-header: other addresses fail", () => {
    const { m, src } = icmp(ping6Request);
    expect(m.check(src, ip("fd00::3"))).toEqual({ ok: false, reason: "bad-checksum" });
  });

  it("reads a port unreachable, a time exceeded and a packet too big", () => {
    const unreach = icmp(icmp6PortUnreachable);
    expect(unreach.m.check(unreach.src, unreach.dst).ok).toBe(true);
    expect([unreach.m.type, unreach.m.code, unreach.m.isError]).toEqual([Icmpv6Type.DestinationUnreachable, Icmpv6Unreachable.Port, true]);
    expect(unreach.m.body).toEqual(udp6ToClosedPort);
    const ttl = icmp(ttl6Expired);
    expect(ttl.m.check(ttl.src, ttl.dst).ok).toBe(true);
    expect([ttl.m.type, ttl.m.code]).toEqual([Icmpv6Type.TimeExceeded, Icmpv6TimeExceeded.HopLimitExceeded]);
    const big = icmp(icmp6PacketTooBig);
    expect(big.m.check(big.src, big.dst).ok).toBe(true);
    expect([big.m.type, big.m.mtu]).toEqual([Icmpv6Type.PacketTooBig, 1280]);
    expect(icmp6PacketTooBig.length).toBe(1280);
  });
});

describe("builders rebuild the kernel's messages byte for byte", () => {
  it("emitIcmpv6: the echo reply from the request", () => {
    const req = icmp(ping6Request).m;
    const out = new Uint8Array(req.buffer.length);
    out.set(req.body, 8);
    emitIcmpv6(out, { type: Icmpv6Type.EchoReply, rest: echoRest(req.identifier, req.sequence) }, req.body.length, B, A);
    expect(out).toEqual(icmp(ping6Reply).m.buffer);
  });

  it("emitIcmpv6Error: port unreachable, and packet too big cut to the 1280-byte minimum MTU", () => {
    const out = new Uint8Array(2000);
    let n = emitIcmpv6Error(out, { type: 1, code: 4 }, udp6ToClosedPort, B, A);
    expect(out.subarray(0, n)).toEqual(icmp(icmp6PortUnreachable).m.buffer);
    const invoking = new Uint8Array(1448);
    invoking.set(icmp(icmp6PacketTooBig).m.body);
    n = emitIcmpv6Error(out, { type: 2, rest: 1280 }, invoking, B, A);
    expect(n).toBe(1240);
    expect(out.subarray(0, n)).toEqual(icmp(icmp6PacketTooBig).m.buffer);
  });
});

describe("Icmpv6Packet.check rejects with a reason", () => {
  const refill = (b: Uint8Array) => (new Icmpv6Packet(b).fillChecksum(B, A), b);
  const unreach = () => copy(icmp(icmp6PortUnreachable).m.buffer);
  const flip = (b: Uint8Array, at: number) => ((b[at] ^= 0xff), b);
  const cases: [string, () => Uint8Array, string][] = [
    ["fewer than 8 bytes", () => unreach().slice(0, 7), "truncated"],
    ["a changed byte", () => flip(unreach(), 20), "bad-checksum"],
    ["an error quoting less than an IPv6 header", () => refill(unreach().slice(0, 47)), "bad-invoking-packet"],
    ["an error quoting an IPv4 header", () => refill(Object.assign(unreach(), { 8: 0x45 })), "bad-invoking-packet"],
  ];
  for (const [what, make, reason] of cases) {
    it(`${reason}: ${what}`, () => {
      expect(new Icmpv6Packet(make()).check(B, A)).toEqual({ ok: false, reason });
    });
  }
});

describe("properties", () => {
  const echo = fc.record({ reply: fc.boolean(), id: u16, seq: u16, data: payload(200), src: addr6, dst: addr6 });

  it("echo emit → check round-trips identifier, sequence and data", () => {
    fc.assert(
      fc.property(echo, ({ reply, id, seq, data, src, dst }) => {
        const buf = new Uint8Array(8 + data.length);
        buf.set(data, 8);
        const type = reply ? Icmpv6Type.EchoReply : Icmpv6Type.EchoRequest;
        emitIcmpv6(buf, { type, rest: echoRest(id, seq) }, data.length, src, dst);
        const m = new Icmpv6Packet(buf);
        return m.check(src, dst) === OK && m.type === type && m.identifier === id && m.sequence === seq && same(m.body, data);
      }),
      { numRuns: 3000 },
    );
  });

  it("any single-byte change to an echo message is caught by the checksum", () => {
    fc.assert(
      fc.property(echo, fc.nat(), fc.integer({ min: 1, max: 255 }), ({ id, seq, data, src, dst }, pos, delta) => {
        const buf = new Uint8Array(8 + data.length);
        buf.set(data, 8);
        emitIcmpv6(buf, { type: 128, rest: echoRest(id, seq) }, data.length, src, dst);
        buf[pos % buf.length] += delta;
        const r = new Icmpv6Packet(buf).check(src, dst);
        return !r.ok && r.reason === "bad-checksum";
      }),
      { numRuns: 3000 },
    );
  });
});
