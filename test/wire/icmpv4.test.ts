import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  Icmpv4Packet,
  Icmpv4TimeExceeded,
  Icmpv4Type,
  Icmpv4Unreachable,
  Ipv4Packet,
  OK,
  UdpPacket,
  echoRest,
  emitIcmpv4,
  emitIcmpv4Error,
} from "../../src/stack/wire/index.js";
import { icmp4FragNeeded, icmp4PortUnreachable, ping4Reply, ping4Request, ttl4Expired, udp4ToClosedPort } from "./fixtures/captured.js";
import { copy, payload, same, u16 } from "./support.js";

/** The ICMP message inside a captured IPv4 datagram. */
function icmp(datagram: Uint8Array): Icmpv4Packet {
  return new Icmpv4Packet(new Ipv4Packet(datagram).payload);
}

describe("Icmpv4Packet on captured messages", () => {
  it("reads an echo request and the kernel's reply", () => {
    for (const [datagram, type] of [[ping4Request, Icmpv4Type.EchoRequest], [ping4Reply, Icmpv4Type.EchoReply]] as const) {
      const m = icmp(datagram);
      expect(m.check()).toEqual({ ok: true });
      expect([m.type, m.code, m.identifier, m.sequence, m.isError]).toEqual([type, 0, 0x1234, 1, false]);
      expect(Buffer.from(m.body).toString()).toBe("ping payload");
    }
  });

  it("reads a port unreachable quoting the UDP datagram that caused it", () => {
    const m = icmp(icmp4PortUnreachable);
    expect(m.check().ok).toBe(true);
    expect([m.type, m.code, m.isError]).toEqual([Icmpv4Type.DestinationUnreachable, Icmpv4Unreachable.Port, true]);
    expect(m.body).toEqual(udp4ToClosedPort);
    const quoted = new Ipv4Packet(m.body);
    expect(quoted.checkQuoted().ok).toBe(true);
    expect(new UdpPacket(quoted.payload).dstPort).toBe(9);
  });

  it("reads a time exceeded and a fragmentation needed with its next-hop MTU", () => {
    const ttl = icmp(ttl4Expired);
    expect(ttl.check().ok).toBe(true);
    expect([ttl.type, ttl.code]).toEqual([Icmpv4Type.TimeExceeded, Icmpv4TimeExceeded.TtlExceeded]);
    const mtu = icmp(icmp4FragNeeded);
    expect(mtu.check().ok).toBe(true);
    expect([mtu.type, mtu.code, mtu.nextHopMtu]).toEqual([Icmpv4Type.DestinationUnreachable, Icmpv4Unreachable.FragmentationNeeded, 1280]);
    expect(mtu.buffer.length).toBe(576 - 20);
  });
});

describe("builders rebuild the kernel's messages byte for byte", () => {
  it("emitIcmpv4: the echo reply from the request", () => {
    const req = icmp(ping4Request);
    const out = new Uint8Array(req.buffer.length);
    out.set(req.body, 8);
    const n = emitIcmpv4(out, { type: Icmpv4Type.EchoReply, rest: echoRest(req.identifier, req.sequence) }, req.body.length);
    expect(n).toBe(req.buffer.length);
    expect(out).toEqual(icmp(ping4Reply).buffer);
  });

  it("emitIcmpv4Error: port unreachable, and fragmentation needed cut to 576 bytes", () => {
    const out = new Uint8Array(1500);
    let n = emitIcmpv4Error(out, { type: 3, code: 3 }, udp4ToClosedPort);
    expect(out.subarray(0, n)).toEqual(icmp(icmp4PortUnreachable).buffer);
    const big = new Uint8Array(1428);
    big.set(icmp(icmp4FragNeeded).body);
    n = emitIcmpv4Error(out, { type: 3, code: 4, rest: 1280 }, big);
    expect(out.subarray(0, n)).toEqual(icmp(icmp4FragNeeded).buffer);
  });

  it("emitIcmpv4Error cuts the quote to the buffer given", () => {
    const out = new Uint8Array(30);
    expect(emitIcmpv4Error(out, { type: 11 }, udp4ToClosedPort)).toBe(30);
    expect(new Icmpv4Packet(out).verifyChecksum()).toBe(true);
  });
});

describe("Icmpv4Packet.check rejects with a reason", () => {
  const refill = (b: Uint8Array) => (new Icmpv4Packet(b).fillChecksum(), b);
  const unreach = () => copy(icmp(icmp4PortUnreachable).buffer);
  const flip = (b: Uint8Array, at: number) => ((b[at] ^= 0xff), b);
  const cases: [string, () => Uint8Array, string][] = [
    ["fewer than 8 bytes", () => icmp(ping4Request).buffer.slice(0, 7), "truncated"],
    ["a changed data byte", () => flip(copy(icmp(ping4Request).buffer), 10), "bad-checksum"],
    ["an error quoting only 20 bytes", () => refill(unreach().slice(0, 28)), "bad-invoking-packet"],
    ["an error quoting less than header + 8", () => refill(unreach().slice(0, 35)), "bad-invoking-packet"],
    ["an error quoting an IPv6 header", () => refill(Object.assign(unreach(), { 8: 0x65 })), "bad-invoking-packet"],
    ["an error quoting IHL 4", () => refill(Object.assign(unreach(), { 8: 0x44 })), "bad-invoking-packet"],
  ];
  for (const [what, make, reason] of cases) {
    it(`${reason}: ${what}`, () => {
      expect(new Icmpv4Packet(make()).check()).toEqual({ ok: false, reason });
    });
  }
});

describe("properties", () => {
  const echo = fc.record({ reply: fc.boolean(), id: u16, seq: u16, data: payload(200) });

  it("echo emit → check round-trips identifier, sequence and data", () => {
    fc.assert(
      fc.property(echo, ({ reply, id, seq, data }) => {
        const buf = new Uint8Array(8 + data.length);
        buf.set(data, 8);
        const type = reply ? Icmpv4Type.EchoReply : Icmpv4Type.EchoRequest;
        emitIcmpv4(buf, { type, rest: echoRest(id, seq) }, data.length);
        const m = new Icmpv4Packet(buf);
        return m.check() === OK && m.type === type && m.identifier === id && m.sequence === seq && same(m.body, data);
      }),
      { numRuns: 3000 },
    );
  });

  it("any single-byte change to an echo message is caught by the checksum", () => {
    fc.assert(
      fc.property(echo, fc.nat(), fc.integer({ min: 1, max: 255 }), ({ id, seq, data }, pos, delta) => {
        const buf = new Uint8Array(8 + data.length);
        buf.set(data, 8);
        emitIcmpv4(buf, { type: 8, rest: echoRest(id, seq) }, data.length);
        buf[pos % buf.length] += delta;
        const r = new Icmpv4Packet(buf).check();
        return !r.ok && r.reason === "bad-checksum";
      }),
      { numRuns: 3000 },
    );
  });
});
