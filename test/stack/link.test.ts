/**
 * Link: an in-memory pair of devices with seeded impairments, driven through
 * virtual time. Each impairment is checked for what it does, statistically
 * where it is random (bounds of ±5 standard deviations, so a correct Link
 * fails with negligible probability, and a given seed always gives the same result).
 */
import { describe, expect, it } from "vitest";
import { SimClock, realClock } from "../../src/poll/clock.js";
import { Link, type LinkOptions } from "../../src/stack/iface/index.js";
import { type Arrival, type Send, bitDistance, numbered, seqOf, simulate } from "./drive.js";

/** A Link attached to a fresh SimClock. */
function simLink(options: LinkOptions): { link: Link; clock: SimClock } {
  const clock = new SimClock();
  const link = new Link(options);
  link.a.attach(clock);
  link.b.attach(clock);
  return { link, clock };
}

/** `n` numbered packets sent on `link.a`, one every `gapMs` from time 0. */
function stream(link: Link, n: number, gapMs: number, length = 100): Send[] {
  return Array.from({ length: n }, (_, i) => ({ at: i * gapMs, device: link.a, packet: numbered(i, length) }));
}

/** Expects `x` within `sigmas` standard deviations of a binomial(n, p) mean. */
function expectBinomial(x: number, n: number, p: number, sigmas = 5): void {
  const sd = Math.sqrt(n * p * (1 - p));
  expect(Math.abs(x - n * p)).toBeLessThanOrEqual(sigmas * sd);
}

function trace(arrivals: Arrival[]): [number, number[]][] {
  return arrivals.map((a) => [a.at, [...a.packet]]);
}

describe("Link basics", () => {
  it("delivers an exact copy at the far end at once, with defaults", () => {
    const { link, clock } = simLink({});
    expect(link.a.mtu).toBe(1500);
    expect(link.b.mtu).toBe(1500);
    expect(link.a.pollAt()).toBeNull();
    const p = numbered(7, 60);
    link.a.transmit(p);
    p.fill(0); // the link copied it
    expect(link.a.receive()).toBeNull(); // not back to the sender
    expect(link.b.pollAt()).toBe(0);
    expect(link.b.receive()).toEqual(numbered(7, 60));
    expect(link.b.receive()).toBeNull();
    expect(clock.now()).toBe(0);
  });

  it("carries both directions independently", () => {
    const { link, clock } = simLink({ delayMs: 3 });
    const out = simulate(
      clock,
      [
        { at: 0, device: link.a, packet: numbered(1) },
        { at: 1, device: link.b, packet: numbered(2) },
      ],
      [link.a, link.b],
    );
    expect(out.map((x) => [x.at, x.device === link.b ? "b" : "a", seqOf(x.packet)])).toEqual([
      [3, "b", 1],
      [4, "a", 2],
    ]);
    expect(link.stats().aToB.delivered).toBe(1);
    expect(link.stats().bToA.delivered).toBe(1);
  });

  it("runs on the real clock until attached", () => {
    const link = new Link({ delayMs: 0 });
    link.a.transmit(numbered(1));
    expect(link.b.pollAt()).toBeLessThanOrEqual(realClock.now());
    expect(link.b.receive()).toEqual(numbered(1));
  });

  it("requires both ends to share one clock", () => {
    const link = new Link();
    const clock = new SimClock();
    link.a.attach(clock);
    link.a.attach(clock);
    expect(() => link.b.attach(new SimClock())).toThrow(TypeError);
    expect(() => link.a.attach(realClock)).toThrow(TypeError);
    link.b.attach(clock);
  });

  it("rejects options out of range with a TypeError", () => {
    const bad: LinkOptions[] = [
      { loss: 1.5 },
      { loss: -0.1 },
      { duplicate: Number.NaN },
      { mtu: 0 },
      { mtu: 1500.5 },
      { mtu: 70000 },
      { delayMs: -1 },
      { jitterMs: Infinity },
      { bandwidthBps: -5 },
      { mtu: 1500, bandwidthBps: 1e6, queueBytes: 1000 },
      { seed: 1.5 },
    ];
    for (const options of bad) expect(() => new Link(options), JSON.stringify(options)).toThrow(TypeError);
  });

  it("pollAt gives the earliest pending arrival", () => {
    const { link, clock } = simLink({ delayMs: 10, jitterMs: 5, seed: 3 });
    for (let i = 0; i < 20; i++) link.a.transmit(numbered(i));
    const sends = link.stats().aToB.sent;
    expect(sends).toBe(20);
    let previous = -Infinity;
    for (let i = 0; i < 20; i++) {
      const at = link.b.pollAt()!;
      expect(at).toBeGreaterThanOrEqual(10);
      expect(at).toBeLessThan(15);
      expect(at).toBeGreaterThanOrEqual(previous);
      clock.advanceTo(at);
      expect(link.b.receive()).not.toBeNull();
      previous = at;
    }
    expect(link.b.pollAt()).toBeNull();
  });
});

describe("Link determinism", () => {
  const options: LinkOptions = {
    delayMs: 4,
    jitterMs: 3,
    loss: 0.1,
    duplicate: 0.05,
    reorder: 0.1,
    corrupt: 0.05,
    bandwidthBps: 1e6,
    queueBytes: 20_000,
  };

  function run(seed: number): [number, number[]][] {
    const { link, clock } = simLink({ ...options, seed });
    const sends: Send[] = [];
    for (let i = 0; i < 500; i++) {
      sends.push({ at: i * 0.5, device: link.a, packet: numbered(i, 100 + (i % 7) * 50) });
      if (i % 3 === 0) sends.push({ at: i * 0.5 + 0.1, device: link.b, packet: numbered(10_000 + i, 80) });
    }
    return trace(simulate(clock, sends, [link.a, link.b]));
  }

  it("the same seed and schedule give the same packets at the same times", () => {
    const first = run(42);
    expect(first.length).toBeGreaterThan(400);
    expect(run(42)).toEqual(first);
  });

  it("different seeds give different runs", () => {
    expect(run(43)).not.toEqual(run(42));
  });
});

describe("Link impairments", () => {
  it("loss drops about p of 10,000 packets", () => {
    const p = 0.1;
    const { link, clock } = simLink({ loss: p, seed: 1 });
    const out = simulate(clock, stream(link, 10_000, 0.1), [link.b]);
    const dropped = 10_000 - out.length;
    expectBinomial(dropped, 10_000, p);
    const s = link.stats().aToB;
    expect(s.dropped.loss).toBe(dropped);
    expect(s.delivered).toBe(out.length);
    // survivors keep their order and contents
    const seqs = out.map((a) => seqOf(a.packet));
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(out.filter((a) => bitDistance(a.packet, numbered(seqOf(a.packet))) !== 0)).toEqual([]);
  });

  it("delay adds exactly delayMs", () => {
    const { link, clock } = simLink({ delayMs: 25 });
    const out = simulate(clock, stream(link, 50, 2), [link.b]);
    expect(out.map((a) => [seqOf(a.packet), a.at])).toEqual(Array.from({ length: 50 }, (_, i) => [i, i * 2 + 25]));
  });

  it("nothing is received before its arrival time", () => {
    const { link, clock } = simLink({ delayMs: 10 });
    link.a.transmit(numbered(1));
    clock.advanceTo(9.999);
    expect(link.b.receive()).toBeNull();
    expect(link.b.pollAt()).toBe(10);
    clock.advanceTo(10);
    expect(link.b.receive()).toEqual(numbered(1));
  });

  it("jitter stays in [0, jitterMs) and spreads over it", () => {
    const { link, clock } = simLink({ delayMs: 10, jitterMs: 5, seed: 9 });
    const out = simulate(clock, stream(link, 2000, 20), [link.b]);
    expect(out.length).toBe(2000);
    const extra = out.map((a) => a.at - seqOf(a.packet) * 20 - 10);
    expect(Math.min(...extra)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...extra)).toBeLessThan(5);
    expect(Math.min(...extra)).toBeLessThan(0.1);
    expect(Math.max(...extra)).toBeGreaterThan(4.9);
    const mean = extra.reduce((x, y) => x + y, 0) / extra.length;
    expect(Math.abs(mean - 2.5)).toBeLessThan(0.2); // sd of the mean = 5/sqrt(12·2000) ≈ 0.032
  });

  it("bandwidth: N bytes take N·8/bps, queued FIFO behind each other", () => {
    const bps = 1_000_000;
    const size = 1250; // 10 ms each at 1 Mb/s
    const { link, clock } = simLink({ bandwidthBps: bps, delayMs: 2 });
    const out = simulate(clock, stream(link, 20, 0, size), [link.b]);
    expect(out.map((a) => seqOf(a.packet))).toEqual(Array.from({ length: 20 }, (_, i) => i));
    out.forEach((a, i) => expect(a.at).toBeCloseTo(((i + 1) * size * 8 * 1000) / bps + 2, 9));
    // the total: 20 × 1250 bytes at 1 Mb/s is 200 ms
    expect(out.at(-1)!.at - 2).toBeCloseTo((20 * size * 8 * 1000) / bps, 9);
  });

  it("bandwidth: an idle transmitter starts at once", () => {
    const { link, clock } = simLink({ bandwidthBps: 8000 }); // 1 byte per ms
    const out = simulate(
      clock,
      [
        { at: 0, device: link.a, packet: numbered(0, 100) },
        { at: 500, device: link.a, packet: numbered(1, 200) },
      ],
      [link.b],
    );
    expect(out.map((a) => a.at)).toEqual([100, 700]);
  });

  it("queue: drop-tail beyond queueBytes, room again as it drains", () => {
    const { link, clock } = simLink({ bandwidthBps: 8000, queueBytes: 1000, mtu: 500 }); // 1 byte per ms
    const sends: Send[] = [];
    for (let i = 0; i < 15; i++) sends.push({ at: 0, device: link.a, packet: numbered(i, 100) });
    // at 450 ms, 550 bytes are still to send: 4 more packets fit
    for (let i = 15; i < 20; i++) sends.push({ at: 450, device: link.a, packet: numbered(i, 100) });
    const out = simulate(clock, sends, [link.b]);
    expect(link.stats().aToB.dropped.queue).toBe(6);
    expect(out.map((a) => seqOf(a.packet))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 18]);
    expect(out.map((a) => a.at)).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200, 1300, 1400]);
  });

  it("default queue holds 100 full-size packets", () => {
    const { link } = simLink({ bandwidthBps: 1e6, mtu: 1000 });
    for (let i = 0; i < 150; i++) link.a.transmit(numbered(i, 1000));
    expect(link.stats().aToB.dropped.queue).toBe(50);
  });

  it("reorder holds packets back so later ones overtake them", () => {
    const { link, clock } = simLink({ delayMs: 10, reorder: 0.2, seed: 5 });
    const out = simulate(clock, stream(link, 1000, 1), [link.b]);
    expect(out.length).toBe(1000);
    const held = out.filter((a) => a.at - seqOf(a.packet) === 20); // delay + reorderDelayMs (default = delayMs)
    const onTime = out.filter((a) => a.at - seqOf(a.packet) === 10);
    expect(held.length + onTime.length).toBe(1000);
    expect(held.length).toBe(link.stats().aToB.reordered);
    expectBinomial(held.length, 1000, 0.2);
    // a held-back packet comes after the on-time packets sent up to 10 ms later
    const position = new Map(out.map((a, i) => [seqOf(a.packet), i]));
    const heldSeqs = new Set(held.map((a) => seqOf(a.packet)));
    let checked = 0;
    for (const s of heldSeqs) {
      for (let later = s + 1; later <= s + 9 && later < 1000; later++) {
        if (heldSeqs.has(later)) continue;
        expect(position.get(later)!).toBeLessThan(position.get(s)!);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it("reorderDelayMs sets the hold-back", () => {
    const { link, clock } = simLink({ reorder: 1, reorderDelayMs: 7 });
    const out = simulate(clock, stream(link, 3, 1), [link.b]);
    expect(out.map((a) => a.at)).toEqual([7, 8, 9]);
  });

  it("corruption flips exactly one bit", () => {
    const { link, clock } = simLink({ corrupt: 1, seed: 11 });
    const out = simulate(clock, stream(link, 500, 1, 64), [link.b]);
    expect(out.length).toBe(500);
    const bits = new Set<number>();
    out.forEach((a, i) => {
      const sent = numbered(i, 64);
      expect(bitDistance(a.packet, sent)).toBe(1);
      const byte = a.packet.findIndex((v, j) => v !== sent[j]);
      bits.add(byte * 8 + Math.log2(a.packet[byte]! ^ sent[byte]!));
    });
    expect(bits.size).toBeGreaterThan(300); // spread over the 512 bits, not one fixed place
    expect(link.stats().aToB.corrupted).toBe(500);
  });

  it("corruption happens with probability p", () => {
    const { link, clock } = simLink({ corrupt: 0.05, seed: 12 });
    const out = simulate(clock, stream(link, 10_000, 0.1, 40), [link.b]);
    const corrupted = out.filter((a, i) => bitDistance(a.packet, numbered(i, 40)) !== 0).length;
    expectBinomial(corrupted, 10_000, 0.05);
    expect(link.stats().aToB.corrupted).toBe(corrupted);
  });

  it("packets larger than the MTU are dropped", () => {
    const { link, clock } = simLink({ mtu: 576 });
    const out = simulate(
      clock,
      [
        { at: 0, device: link.a, packet: numbered(1, 576) },
        { at: 1, device: link.a, packet: numbered(2, 577) },
        { at: 2, device: link.a, packet: numbered(3, 68) },
      ],
      [link.b],
    );
    expect(out.map((a) => seqOf(a.packet))).toEqual([1, 3]);
    expect(link.stats().aToB.dropped.mtu).toBe(1);
  });

  it("duplicate delivers a packet twice", () => {
    const { link, clock } = simLink({ duplicate: 1, delayMs: 1 });
    const out = simulate(clock, stream(link, 3, 5), [link.b]);
    expect(out.map((a) => [a.at, seqOf(a.packet)])).toEqual([
      [1, 0],
      [1, 0],
      [6, 1],
      [6, 1],
      [11, 2],
      [11, 2],
    ]);
    expect(out[0]!.packet).not.toBe(out[1]!.packet); // two separate buffers
  });

  it("duplicate happens with probability p", () => {
    const { link, clock } = simLink({ duplicate: 0.25, seed: 2 });
    const out = simulate(clock, stream(link, 10_000, 0.1), [link.b]);
    const extra = out.length - 10_000;
    expectBinomial(extra, 10_000, 0.25);
    expect(link.stats().aToB.duplicated).toBe(extra);
  });

  it("counters add up under every impairment at once", () => {
    const { link, clock } = simLink({
      delayMs: 3,
      jitterMs: 2,
      loss: 0.1,
      duplicate: 0.1,
      reorder: 0.1,
      corrupt: 0.1,
      bandwidthBps: 1e6,
      queueBytes: 3000,
      mtu: 1000,
      seed: 77,
    });
    const sends = Array.from({ length: 3000 }, (_, i) => ({ at: i * 0.5, device: link.a, packet: numbered(i, 50 + (i * 37) % 1100) }));
    simulate(clock, sends.slice(0, 1500), [link.b]);
    for (const s of sends.slice(1500)) link.a.transmit(s.packet); // a burst, without receiving: some stay in flight
    const s = link.stats().aToB;
    const drops = s.dropped.loss + s.dropped.queue + s.dropped.mtu + s.dropped.down;
    expect(s.sent).toBe(3000);
    expect(s.sent + s.duplicated).toBe(s.delivered + drops + s.inFlight);
    for (const n of [s.dropped.loss, s.dropped.queue, s.dropped.mtu, s.duplicated, s.corrupted, s.reordered, s.inFlight]) {
      expect(n).toBeGreaterThan(0);
    }
    expect(link.stats().bToA.sent).toBe(0);
  });
});

describe("Link down", () => {
  it("drops what is on the wire and what is sent while down; arrived packets stay", () => {
    const { link, clock } = simLink({ delayMs: 10 });
    link.a.transmit(numbered(1));
    clock.advanceTo(5);
    link.a.transmit(numbered(2));
    link.b.transmit(numbered(3));
    clock.advanceTo(10); // 1 has arrived, not yet received
    link.setDown(true);
    expect(link.isDown()).toBe(true);
    link.a.transmit(numbered(4));
    expect(link.b.receive()).toEqual(numbered(1));
    expect(simulate(clock, [], [link.a, link.b])).toEqual([]);
    expect(link.stats().aToB.dropped.down).toBe(2);
    expect(link.stats().bToA.dropped.down).toBe(1);
    link.setDown(false);
    link.a.transmit(numbered(5));
    expect(simulate(clock, [], [link.b]).map((a) => [a.at, seqOf(a.packet)])).toEqual([[20, 5]]);
  });
});

describe("Link configure (a running link's impairments)", () => {
  it("a new delay applies to packets sent after it; those on the wire keep theirs, and new ones may overtake", () => {
    const { link, clock } = simLink({ delayMs: 50 });
    link.a.transmit(numbered(0));
    link.configure({ delayMs: 5 });
    const out = simulate(clock, [{ at: 10, device: link.a, packet: numbered(1) }], [link.b]);
    expect(out.map((a) => [seqOf(a.packet), a.at])).toEqual([
      [1, 15],
      [0, 50],
    ]);
  });

  it("loss 0 → 1 → 0: every packet sent while the loss is 1 is dropped, none else", () => {
    const { link, clock } = simLink({ delayMs: 1, seed: 4 });
    const out: number[] = [];
    for (const [loss, from] of [[0, 0], [1, 10], [0, 20]] as const) {
      link.configure({ loss });
      for (const a of simulate(clock, stream(link, 10, 1).map((s) => ({ ...s, at: clock.now() + s.at, packet: numbered(from + seqOf(s.packet)) })), [link.b])) out.push(seqOf(a.packet));
    }
    expect(out).toEqual([...Array(10).keys(), ...Array.from({ length: 10 }, (_, i) => 20 + i)]);
    expect(link.stats().aToB.dropped.loss).toBe(10);
  });

  it("a new rate serializes new packets behind what the transmitter still owes; lifting it keeps FIFO", () => {
    const { link, clock } = simLink({ bandwidthBps: 8000 }); // 1 byte per ms
    link.a.transmit(numbered(0, 100)); // done at 100
    link.configure({ bandwidthBps: 80_000 }); // 10 bytes per ms
    link.a.transmit(numbered(1, 100)); // 100 + 10
    link.configure({ bandwidthBps: 0 });
    link.a.transmit(numbered(2, 100)); // unlimited, but behind the queue: 110
    const out = simulate(clock, [], [link.b]);
    expect(out.map((a) => [seqOf(a.packet), a.at])).toEqual([
      [0, 100],
      [1, 110],
      [2, 110],
    ]);
  });

  it("leaves out what is not given; reorderDelayMs follows delayMs unless it was set", () => {
    const { link, clock } = simLink({ delayMs: 10, reorder: 1, seed: 2 });
    link.configure({ delayMs: 30 });
    link.a.transmit(numbered(0));
    expect(simulate(clock, [], [link.b]).map((a) => a.at)).toEqual([60]); // 30 + a hold-back of 30
    link.configure({ reorderDelayMs: 5 });
    link.configure({ delayMs: 40 });
    const t = clock.now();
    link.a.transmit(numbered(1));
    expect(simulate(clock, [], [link.b]).map((a) => a.at - t)).toEqual([45]);
  });

  it("refuses bad values and fixed options by name, changing nothing", () => {
    const { link, clock } = simLink({ delayMs: 7, checksumsVerified: true });
    expect(() => link.configure({ delayMs: 1, loss: 2 })).toThrow(/loss must be a probability in \[0, 1\], got 2/);
    expect(() => link.configure({ delayMs: -1 })).toThrow(/delayMs must be a finite number >= 0/);
    expect(() => link.configure({ queueBytes: 100 })).toThrow(/queueBytes must be >= mtu/);
    expect(() => link.configure({ mtu: 9000 } as never)).toThrow(/mtu is fixed/);
    expect(() => link.configure({ seed: 1 } as never)).toThrow(/seed is fixed/);
    expect(() => link.configure({ corrupt: 0.1 })).toThrow(/checksumsVerified cannot corrupt/);
    expect(() => link.configure(null as never)).toThrow(TypeError);
    link.a.transmit(numbered(0));
    expect(simulate(clock, [], [link.b]).map((a) => a.at)).toEqual([7]);
    expect(link.a.checksumsVerified).toBe(true);
  });
});

describe("Link onDrop", () => {
  it("shows each packet dropped at transmit with its reason and end; null stops it", () => {
    const { link, clock } = simLink({ mtu: 200, bandwidthBps: 8000, queueBytes: 300, loss: 0 });
    const seen: Array<[number, string, string]> = [];
    link.onDrop((p, reason, from) => seen.push([seqOf(p), reason, from === link.a ? "a" : "b"]));
    link.b.transmit(numbered(1, 300)); // over the MTU
    link.a.transmit(numbered(2, 150));
    link.a.transmit(numbered(3, 150));
    link.a.transmit(numbered(4, 150)); // the queue holds 300 bytes
    link.configure({ loss: 1 });
    clock.advanceTo(1000);
    link.a.transmit(numbered(5, 100));
    link.setDown(true);
    link.b.transmit(numbered(6, 100));
    link.onDrop(null);
    link.b.transmit(numbered(7, 100));
    expect(seen).toEqual([
      [1, "mtu", "b"],
      [4, "queue", "a"],
      [5, "loss", "a"],
      [6, "down", "b"],
    ]);
    expect(() => link.onDrop(42 as never)).toThrow(TypeError);
  });
});
