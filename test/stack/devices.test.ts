/**
 * Loopback and the middleware that wraps any device: Tracer, FaultInjector,
 * and what every wrapper passes through (mtu, fd, attach, pollAt).
 */
import { describe, expect, it } from "vitest";
import { type Clock, SimClock } from "../../src/poll/clock.js";
import {
  type Device,
  type Direction,
  FaultInjector,
  type FaultInjectorOptions,
  Link,
  Loopback,
  PcapTap,
  Tracer,
} from "../../src/stack/iface/index.js";
import { bitDistance, numbered, seqOf, simulate } from "./drive.js";

/** A device that records what it is given and hands out what the test queues. */
class FakeDevice implements Device {
  readonly mtu = 9000;
  readonly fd = 42;
  readonly inbox: Uint8Array[] = [];
  readonly sent: Uint8Array[] = [];
  attached: Clock | null = null;
  next: number | null = 123;

  receive(): Uint8Array | null {
    return this.inbox.shift() ?? null;
  }

  transmit(packet: Uint8Array): void {
    this.sent.push(packet.slice());
  }

  attach(clock: Clock): void {
    this.attached = clock;
  }

  pollAt(): number | null {
    return this.next;
  }
}

/** Receives until null (bounded). */
function drain(device: Device): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let p = device.receive(); p !== null; p = device.receive()) {
    out.push(p);
    if (out.length > 1_000_000) throw new Error("drain: no end");
  }
  return out;
}

describe("Loopback", () => {
  it("gives back what is transmitted, in order, as copies", () => {
    const lo = new Loopback();
    expect(lo.mtu).toBe(65535);
    expect(lo.receive()).toBeNull();
    const p = numbered(1);
    lo.transmit(p);
    lo.transmit(numbered(2, 65535));
    p.fill(0);
    const out = drain(lo);
    expect(out.length).toBe(2);
    expect(out[0]).toEqual(numbered(1));
    expect(Buffer.from(out[1]!).equals(numbered(2, 65535))).toBe(true);
    expect(lo.stats()).toEqual({ sent: 2, delivered: 2, queued: 0, dropped: { queue: 0, mtu: 0 } });
  });

  it("drops packets larger than its MTU", () => {
    const lo = new Loopback({ mtu: 1280 });
    lo.transmit(numbered(1, 1281));
    lo.transmit(numbered(2, 1280));
    expect(drain(lo).map(seqOf)).toEqual([2]);
    expect(lo.stats().dropped.mtu).toBe(1);
  });

  it("bounds its queue and counts the drops", () => {
    const lo = new Loopback({ queueLength: 3 });
    for (let i = 0; i < 5; i++) lo.transmit(numbered(i));
    expect(lo.stats()).toEqual({ sent: 5, delivered: 0, queued: 3, dropped: { queue: 2, mtu: 0 } });
    expect(lo.receive()).toEqual(numbered(0));
    lo.transmit(numbered(5));
    expect(drain(lo).map(seqOf)).toEqual([1, 2, 5]);
    expect(lo.stats().dropped.queue).toBe(2);
  });

  it("pollAt is now while packets wait", () => {
    const lo = new Loopback();
    const clock = new SimClock(50);
    lo.attach(clock);
    expect(lo.pollAt()).toBeNull();
    lo.transmit(numbered(1));
    expect(lo.pollAt()).toBe(50);
    lo.receive();
    expect(lo.pollAt()).toBeNull();
  });

  it("stays FIFO through many cycles of its queue", () => {
    const lo = new Loopback({ queueLength: 20_000 }); // one receive per three transmits: up to 13,334 wait
    const got: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      lo.transmit(numbered(i, 8));
      if (i % 3 === 0) got.push(seqOf(lo.receive()!));
    }
    got.push(...drain(lo).map(seqOf));
    expect(got).toEqual(Array.from({ length: 20_000 }, (_, i) => i));
  });

  it("rejects options out of range", () => {
    expect(() => new Loopback({ mtu: 10 })).toThrow(TypeError);
    expect(() => new Loopback({ queueLength: 0 })).toThrow(TypeError);
  });
});

describe("middleware passes the device through", () => {
  const wrappers: [string, (d: Device) => Device & { inner: Device }][] = [
    ["Tracer", (d) => new Tracer(d, () => {})],
    ["FaultInjector", (d) => new FaultInjector(d)],
    ["PcapTap", (d) => new PcapTap(d, "/dev/null")],
  ];
  for (const [name, wrap] of wrappers) {
    it(`${name}: mtu, fd, attach, pollAt and packets`, () => {
      const inner = new FakeDevice();
      const w = wrap(inner);
      expect(w.inner).toBe(inner);
      expect(w.mtu).toBe(9000);
      expect(w.fd).toBe(42);
      expect(w.pollAt!()).toBe(123);
      inner.next = null;
      expect(w.pollAt!()).toBeNull();
      const clock = new SimClock();
      w.attach!(clock);
      expect(inner.attached).toBe(clock);
      w.transmit(numbered(1));
      expect(inner.sent).toEqual([numbered(1)]);
      inner.inbox.push(numbered(2));
      expect(w.receive()).toEqual(numbered(2));
      expect(w.receive()).toBeNull();
      if (w instanceof PcapTap) w.close();
    });
  }

  it("a device without fd, attach or pollAt stays without them", () => {
    const bare: Device = { mtu: 1500, receive: () => null, transmit: () => {} };
    const t = new Tracer(bare, () => {});
    expect(t.fd).toBeUndefined();
    expect(t.pollAt()).toBeNull();
    t.attach(new SimClock());
  });

  it("middleware stacks: Tracer over FaultInjector over a Link end", () => {
    const clock = new SimClock();
    const link = new Link({ delayMs: 2 });
    const seen: string[] = [];
    const b = new Tracer(new FaultInjector(link.b, { duplicate: 1, direction: "rx" }), (dir, p, t) => seen.push(`${dir}${seqOf(p)}@${t}`));
    link.a.attach(clock);
    b.attach(clock);
    const out = simulate(clock, [{ at: 1, device: link.a, packet: numbered(9) }], [b]);
    expect(out.map((a) => [a.at, seqOf(a.packet)])).toEqual([
      [3, 9],
      [3, 9],
    ]);
    expect(seen).toEqual(["rx9@3", "rx9@3"]);
  });
});

describe("Tracer", () => {
  it("sees both directions with the attached clock's time", () => {
    const clock = new SimClock(1000);
    const link = new Link({ delayMs: 5 });
    const seen: [Direction, number, number][] = [];
    const a = new Tracer(link.a, (dir, p, t) => seen.push([dir, seqOf(p), t]));
    a.attach(clock);
    link.b.attach(clock);
    simulate(
      clock,
      [
        { at: 1000, device: a, packet: numbered(1) },
        { at: 1001, device: link.b, packet: numbered(2) },
        { at: 1003, device: a, packet: numbered(3) },
      ],
      [a, link.b],
    );
    expect(seen).toEqual([
      ["tx", 1, 1000],
      ["tx", 3, 1003],
      ["rx", 2, 1006],
    ]);
  });

  it("requires a function", () => {
    expect(() => new Tracer(new Loopback(), 5 as unknown as () => void)).toThrow(TypeError);
  });
});

describe("FaultInjector", () => {
  /** Sends `n` packets through `fi` on a Loopback; returns what came out of its rx side. */
  function roundTrip(options: FaultInjectorOptions, n: number): { fi: FaultInjector; out: Uint8Array[]; lo: Loopback } {
    const lo = new Loopback({ queueLength: 3 * n });
    const fi = new FaultInjector(lo, options);
    for (let i = 0; i < n; i++) fi.transmit(numbered(i, 40));
    return { fi, out: drain(fi), lo };
  }

  it("loss on tx drops about p and counts it", () => {
    const { fi, out, lo } = roundTrip({ loss: 0.2, seed: 1, direction: "tx" }, 10_000);
    const s = fi.stats();
    expect(s.tx.packets).toBe(10_000);
    expect(lo.stats().sent).toBe(10_000 - s.tx.dropped);
    expect(Math.abs(s.tx.dropped - 2000)).toBeLessThanOrEqual(5 * 40); // sd = sqrt(10000·0.2·0.8) = 40
    expect(out.length).toBe(10_000 - s.tx.dropped);
    expect(s.rx).toEqual({ packets: out.length, dropped: 0, duplicated: 0, corrupted: 0 });
  });

  it("loss on rx drops about p and counts it", () => {
    const { fi, out } = roundTrip({ loss: 0.2, seed: 1, direction: "rx" }, 10_000);
    const s = fi.stats();
    expect(s.tx).toEqual({ packets: 10_000, dropped: 0, duplicated: 0, corrupted: 0 });
    expect(s.rx.packets).toBe(10_000);
    expect(out.length).toBe(10_000 - s.rx.dropped);
    expect(Math.abs(s.rx.dropped - 2000)).toBeLessThanOrEqual(200);
    const seqs = out.map(seqOf);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
  });

  it("both directions by default, with independent draws", () => {
    const { fi, out } = roundTrip({ loss: 0.5, seed: 3 }, 2000);
    const s = fi.stats();
    expect(s.tx.dropped).toBeGreaterThan(800);
    expect(s.rx.dropped).toBeGreaterThan(400);
    expect(out.length).toBe(2000 - s.tx.dropped - s.rx.dropped);
  });

  it("duplicate passes a packet on twice, in each direction", () => {
    const tx = roundTrip({ duplicate: 1, direction: "tx" }, 3);
    expect(tx.out.map(seqOf)).toEqual([0, 0, 1, 1, 2, 2]);
    expect(tx.fi.stats().tx.duplicated).toBe(3);
    const rx = roundTrip({ duplicate: 1, direction: "rx" }, 3);
    expect(rx.out.map(seqOf)).toEqual([0, 0, 1, 1, 2, 2]);
    expect(rx.out[0]).not.toBe(rx.out[1]);
    expect(rx.fi.stats().rx.duplicated).toBe(3);
  });

  it("pollAt is now while a duplicate waits", () => {
    const clock = new SimClock(7);
    const lo = new Loopback();
    const fi = new FaultInjector(lo, { duplicate: 1, direction: "rx" });
    fi.attach(clock);
    lo.transmit(numbered(1));
    fi.receive();
    expect(lo.pollAt()).toBeNull();
    expect(fi.pollAt()).toBe(7);
    fi.receive();
    expect(fi.pollAt()).toBeNull();
  });

  it("corruption flips exactly one bit, at about rate p", () => {
    const { fi, out } = roundTrip({ corrupt: 0.1, seed: 4, direction: "rx" }, 10_000);
    expect(out.length).toBe(10_000);
    // the flipped bit may be in the sequence number itself: compare with what was sent, in order
    const exact = out.map((p, i) => bitDistance(p, numbered(i, 40)));
    expect(new Set(exact)).toEqual(new Set([0, 1]));
    const corrupted = exact.filter((d) => d === 1).length;
    expect(fi.stats().rx.corrupted).toBe(corrupted);
    expect(Math.abs(corrupted - 1000)).toBeLessThanOrEqual(5 * 30); // sd = 30
  });

  it("corrupts a copy, never the caller's buffer", () => {
    const lo = new Loopback();
    const fi = new FaultInjector(lo, { corrupt: 1, direction: "tx" });
    const p = numbered(1);
    fi.transmit(p);
    expect(p).toEqual(numbered(1));
    expect(bitDistance(lo.receive()!, p)).toBe(1);
  });

  it("the same seed gives the same faults; another seed does not", () => {
    const run = (seed: number) => roundTrip({ loss: 0.1, duplicate: 0.1, corrupt: 0.1, seed }, 1000).out.map((p) => [...p]);
    expect(run(8)).toEqual(run(8));
    expect(run(8)).not.toEqual(run(9));
  });

  it("rejects options out of range", () => {
    const lo = new Loopback();
    expect(() => new FaultInjector(lo, { loss: 2 })).toThrow(TypeError);
    expect(() => new FaultInjector(lo, { seed: 0.5 })).toThrow(TypeError);
    expect(() => new FaultInjector(lo, { direction: "up" as "rx" })).toThrow(TypeError);
  });
});
