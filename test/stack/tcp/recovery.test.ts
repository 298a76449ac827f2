/**
 * Loss recovery with SACK (RFC 2018, RFC 6675): the sender reads the SACK
 * blocks of the receiver's ACKs into its scoreboard, resends only the holes,
 * several of them within one round trip, and after a timeout skips what the
 * receiver already holds. Losses are chosen exactly (which segment, how many
 * times), so each test shows one behaviour.
 */
import { describe, expect, it } from "vitest";
import { ip, parse } from "../helpers.js";
import { DeviceWrapper } from "../../../src/stack/iface/wrapper.js";
import type { Device } from "../../../src/stack/iface/index.js";
import { IpProtocol, TcpPacket } from "../../../src/stack/wire/index.js";
import { seqAdd, seqDiff } from "../../../src/stack/tcp/seq.js";
import { connectPair, tcpWorld, transfer, type TcpWorld } from "./world.js";

/** One data segment the wrapped stack transmitted: offset of its first byte from the first data byte, length, time. */
interface DataSent {
  offset: number;
  length: number;
  at: number;
  dropped: boolean;
}

/**
 * Middleware on the sender's device: drops the first `times` transmissions of
 * the data segments starting at the given offsets (counted from the first
 * data byte), and logs every data segment it lets through.
 */
class DropSegments extends DeviceWrapper {
  /** every data segment, in the order sent */
  readonly sent: DataSent[] = [];
  private firstByte: number | null = null;
  private readonly tcp = new TcpPacket();

  constructor(
    inner: Device,
    private readonly drops: Map<number, number>,
  ) {
    super(inner);
  }

  receive(): Uint8Array | null {
    return this.inner.receive();
  }

  transmit(packet: Uint8Array): void {
    const p = parse(packet);
    if (p.protocol === IpProtocol.Tcp) {
      const t = this.tcp.reset(p.l4);
      if (!t.check(ip(p.src), ip(p.dst)).ok) throw new Error("the stack sent a bad TCP segment");
      if (t.syn) this.firstByte = seqAdd(t.seqNumber, 1);
      if (t.payload.length > 0 && this.firstByte !== null) {
        const offset = seqDiff(t.seqNumber, this.firstByte);
        const left = this.drops.get(offset) ?? 0;
        if (left > 0) this.drops.set(offset, left - 1);
        this.sent.push({ offset, length: t.payload.length, at: this.clock.now(), dropped: left > 0 });
        if (left > 0) return;
      }
    }
    this.inner.transmit(packet);
  }

  /** Data segments sent again: starting below the highest byte sent before them. */
  resent(): DataSent[] {
    let high = 0;
    const out: DataSent[] = [];
    for (const d of this.sent) {
      if (d.offset < high) out.push(d);
      high = Math.max(high, d.offset + d.length);
    }
    return out;
  }
}

/** a → b over a 20 ms link at MTU 1500 (1448 data bytes per segment with timestamps), `drops` applied to a's segments. */
function world(drops: Array<[segment: number, times: number]>): { w: TcpWorld; dropper: DropSegments; mss: number } {
  const mss = 1448;
  let dropper: DropSegments | null = null;
  const w = tcpWorld({ mtu: 1500, delayMs: 20 }, { a: (d) => (dropper = new DropSegments(d, new Map(drops.map(([s, n]) => [s * mss, n])))) });
  return { w, dropper: dropper!, mss };
}

describe("SACK loss recovery (RFC 6675)", () => {
  it("three segments lost in one window are each resent once, all within one round trip, without a timeout", () => {
    const { w, dropper, mss } = world([
      [30, 1],
      [34, 1],
      [38, 1],
    ]);
    const { client, server } = connectPair(w, 4);
    const r = transfer(w, client, server, 1 << 20, 0);
    expect(r.aToB.read).toBe(1 << 20);
    expect(r.aToB.mismatchAt).toBe(-1);

    const resent = dropper.resent();
    expect(resent.map((d) => d.offset / mss)).toEqual([30, 34, 38]);
    expect(resent.every((d) => d.length === mss)).toBe(true);
    // NewReno would need one round trip (40 ms) per hole; the scoreboard sends all three before the first is acknowledged
    expect(resent[2]!.at - resent[0]!.at).toBeLessThan(40);
    const stats = client.conn.stats();
    expect(stats.retransmits).toBe(3);
    expect(stats.sackedBytes).toBeGreaterThan(3 * mss);
    expect(w.a.tcpStats()[`${client.localAddr()} -> ${client.peerAddr()}`]?.sackedBytes).toBe(stats.sackedBytes);
  });

  it("after a timeout the sender resends only the hole, not what the SACK blocks say arrived", () => {
    // the segment and its fast retransmission are both lost: only the retransmission timer is left
    const { w, dropper, mss } = world([[30, 2]]);
    const { client, server } = connectPair(w, 4);
    const r = transfer(w, client, server, 1 << 20, 0);
    expect(r.aToB.read).toBe(1 << 20);
    expect(r.aToB.mismatchAt).toBe(-1);

    const resent = dropper.resent();
    expect(resent.map((d) => d.offset / mss)).toEqual([30, 30]);
    // the second one came from the timer: at least the minimum RTO (200 ms) after the first
    expect(resent[1]!.at - resent[0]!.at).toBeGreaterThanOrEqual(200);
  });
});
