/**
 * Checksum offload (DESIGN: a Link or a Loopback may mark checksums as
 * already verified, as Linux does for veth): with `checksumsVerified` the
 * receiving stack takes the TCP/UDP checksums on trust, still verifies the
 * IPv4 header checksum, and still computes every checksum it sends. Without
 * the option, and wherever packets may be corrupted on the way in, nothing
 * changes.
 */
import { describe, expect, it } from "vitest";
import { WOULD_BLOCK } from "../../src/error.js";
import { FaultInjector, Link, Loopback, PcapTap, Tracer } from "../../src/stack/iface/index.js";
import { PEER4, US4, checksumOk, pair, udpPacket } from "./helpers.js";

/** A UDP/IPv4 packet from PEER4 to US4:7 whose UDP checksum is wrong (one data byte changed after summing). */
function badUdp(): Uint8Array {
  const p = udpPacket(PEER4, US4, 1000, 7, Uint8Array.of(1, 2, 3, 4));
  p[20 + 8] ^= 0xff;
  return p;
}

describe("checksum offload", () => {
  for (const verified of [false, true]) {
    it(`a datagram with a bad UDP checksum is ${verified ? "taken on trust" : "dropped"} with checksumsVerified ${verified}`, () => {
      const w = pair({ link: { checksumsVerified: verified } });
      const sock = w.b.udpBind(`${US4}:7`);
      w.link.a.transmit(badUdp());
      w.run(1);
      const buf = new Uint8Array(16);
      const r = sock.recvFrom(buf);
      if (verified) {
        expect(r).not.toBe(WOULD_BLOCK);
        expect([...buf.subarray(0, 4)]).toEqual([0xfe, 2, 3, 4]);
        expect(w.b.stats().dropped["udp:bad-checksum"]).toBeUndefined();
      } else {
        expect(r).toBe(WOULD_BLOCK);
        expect(w.b.stats().dropped["udp:bad-checksum"]).toBe(1);
      }
    });
  }

  it("still verifies the IPv4 header checksum, and still computes the checksums it sends", () => {
    const seen: { dir: string; p: Uint8Array }[] = [];
    const w = pair({ link: { checksumsVerified: true }, wrapB: (d) => new Tracer(d, (dir, p) => seen.push({ dir, p: p.slice() })) });
    const bad = badUdp();
    bad[10] ^= 0x01; // the header checksum
    w.link.a.transmit(bad);
    w.run(1);
    expect(w.b.stats().dropped["ipv4:bad-checksum"]).toBe(1);
    seen.length = 0;
    // a sends a datagram to a closed port of b (rx on b), b answers with an ICMP error (tx): both carry correct checksums
    w.a.udpBind(`${PEER4}:0`).sendTo(Uint8Array.of(9, 9, 9), `${US4}:9`);
    w.run(1);
    expect(seen.map((x) => [x.dir, x.p[9]])).toEqual([
      ["rx", 17],
      ["tx", 1],
    ]);
    for (const { p } of seen) expect(checksumOk(p.subarray(0, 20))).toBe(true);
    expect(checksumOk(seen[0]!.p.subarray(20), { src: PEER4, dst: US4, protocol: 17 })).toBe(true);
    expect(checksumOk(seen[1]!.p.subarray(20))).toBe(true);
  });

  it("is off by default, and off wherever received packets may be corrupted", () => {
    expect(new Link().a.checksumsVerified).toBe(false);
    expect(new Link({ checksumsVerified: true }).b.checksumsVerified).toBe(true);
    expect(new Link({ checksumsVerified: true, corrupt: 0.01 }).a.checksumsVerified).toBe(false);
    expect(new Loopback().checksumsVerified).toBe(false);
    expect(new Loopback({ checksumsVerified: true }).checksumsVerified).toBe(true);
    const end = new Link({ checksumsVerified: true }).a;
    expect(new FaultInjector(end, { loss: 0.5 }).checksumsVerified).toBe(true);
    expect(new FaultInjector(end, { corrupt: 0.1, direction: "tx" }).checksumsVerified).toBe(true);
    expect(new FaultInjector(end, { corrupt: 0.1 }).checksumsVerified).toBe(false);
    expect(new FaultInjector(end, { corrupt: 0.1, direction: "rx" }).checksumsVerified).toBe(false);
    expect(new FaultInjector(new Link().a, {}).checksumsVerified).toBe(false);
    expect(() => new Link({ checksumsVerified: 1 as unknown as boolean })).toThrow(TypeError);
    expect(() => new Loopback({ checksumsVerified: "yes" as unknown as boolean })).toThrow(TypeError);
  });

  it("a PcapTap passes the flag through", () => {
    // PcapTap needs a file; /dev/null takes the records
    const tap = new PcapTap(new Link({ checksumsVerified: true }).a, "/dev/null");
    expect(tap.checksumsVerified).toBe(true);
    tap.close();
  });
});
