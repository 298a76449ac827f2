/**
 * ArrivalQueue: a FIFO while arrival times never decrease, a heap from the
 * first packet scheduled before one already waiting until it empties. Both
 * must give the order of a stable sort by arrival time.
 */
import { describe, expect, it } from "vitest";
import { ArrivalQueue } from "../../src/stack/iface/arrival-queue.js";
import { Random } from "../../src/random.js";

const tag = (n: number): Uint8Array => Uint8Array.of(n & 0xff, (n >> 8) & 0xff);
const id = (p: Uint8Array): number => p[0]! | (p[1]! << 8);

/** Drains everything due by `now`, as ids. */
function drain(q: ArrivalQueue, now: number): number[] {
  const out: number[] = [];
  for (let p = q.popDue(now); p !== null; p = q.popDue(now)) out.push(id(p));
  return out;
}

describe("ArrivalQueue", () => {
  it("gives packets in order of arrival time, in scheduling order among equal times", () => {
    const q = new ArrivalQueue();
    q.push(5, tag(0));
    q.push(5, tag(1));
    q.push(7, tag(2));
    expect([q.size, q.nextAt()]).toEqual([3, 5]);
    q.push(3, tag(3)); // earlier than what waits: the heap takes over
    q.push(5, tag(4));
    expect(q.nextAt()).toBe(3);
    expect(drain(q, 4)).toEqual([3]);
    expect(drain(q, 6)).toEqual([0, 1, 4]);
    expect(drain(q, 7)).toEqual([2]);
    expect([q.size, q.nextAt(), q.popDue(100)]).toEqual([0, null, null]);
    q.push(9, tag(5)); // empty again: back to the FIFO
    q.push(10, tag(6));
    expect(drain(q, 10)).toEqual([5, 6]);
  });

  it("removeAfter drops the packets arriving later, in either mode", () => {
    for (const jumbled of [false, true]) {
      const q = new ArrivalQueue();
      for (let i = 0; i < 10; i++) q.push(jumbled && i === 5 ? 0.5 : i, tag(i));
      expect(drain(q, 0.5)).toEqual(jumbled ? [0, 5] : [0]);
      expect(q.removeAfter(6)).toBe(3);
      expect(drain(q, 100)).toEqual(jumbled ? [1, 2, 3, 4, 6] : [1, 2, 3, 4, 5, 6]);
    }
  });

  it("matches a stable sort by time under random pushes and pops (seeded)", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rng = new Random(seed, "arrival-queue");
      const q = new ArrivalQueue();
      const model: { at: number; n: number }[] = [];
      let now = 0;
      let n = 0;
      const got: number[] = [];
      const want: number[] = [];
      for (let step = 0; step < 3000; step++) {
        if (rng.chance(0.6)) {
          // mostly nondecreasing times (a delay), sometimes jitter that goes backwards
          const at = now + (rng.chance(0.2) ? rng.float() * 5 : 2);
          q.push(at, tag(n));
          model.push({ at, n: n++ });
        } else {
          now += rng.float();
          got.push(...drain(q, now));
          model.sort((x, y) => x.at - y.at || x.n - y.n);
          while (model.length > 0 && model[0]!.at <= now) want.push(model.shift()!.n);
        }
        expect(q.size, `seed ${seed} step ${step}`).toBe(model.length);
      }
      got.push(...drain(q, Infinity));
      model.sort((x, y) => x.at - y.at || x.n - y.n);
      want.push(...model.map((m) => m.n));
      expect(got, `seed ${seed}`).toEqual(want);
    }
  });

  it("keeps the order through long runs of nondecreasing times while consumed slots are dropped", () => {
    const q = new ArrivalQueue();
    const got: number[] = [];
    for (let i = 0; i < 5000; i++) {
      q.push(i, tag(i));
      if (i % 3 === 2) got.push(...drain(q, i - 1000)); // the head moves far past 1024 slots
    }
    expect(q.size).toBe(5000 - got.length);
    got.push(...drain(q, Infinity));
    expect(got).toEqual(Array.from({ length: 5000 }, (_, i) => i));
  });
});
