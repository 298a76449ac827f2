import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Assembler, TOO_MANY_HOLES } from "../../../src/stack/tcp/assembler.js";
import { seqAdd, seqDiff } from "../../../src/stack/tcp/seq.js";

describe("Assembler", () => {
  it("hands over in-order data at once", () => {
    const asm = new Assembler();
    expect(asm.add(0, 100)).toBe(100);
    expect(asm.isEmpty()).toBe(true);
    expect(asm.sackBlocks(4)).toEqual([]);
  });

  it("allocates its range arrays only when out-of-order data must be kept", () => {
    const asm = new Assembler(8);
    const stored = (): number => (asm as unknown as { starts: Float64Array }).starts.length;
    for (let i = 0; i < 10; i++) expect(asm.add(0, 1000)).toBe(1000);
    expect(asm.add(0, 0)).toBe(0);
    expect(stored()).toBe(0);
    expect(asm.sackBlocks(4)).toEqual([]);
    expect(asm.add(500, 10)).toBe(0);
    expect(stored()).toBe(8);
    expect(asm.sackBlocks(4)).toEqual([500, 510]);
    expect(asm.add(0, 500)).toBe(510);
  });

  it("holds out-of-order data until the hole fills, then hands over the whole run", () => {
    const asm = new Assembler();
    expect(asm.add(100, 100)).toBe(0);
    expect(asm.add(300, 50)).toBe(0);
    expect(asm.sackBlocks(4)).toEqual([300, 350, 100, 200]);
    expect(asm.add(0, 100)).toBe(200); // [0, 200) is contiguous now
    expect(asm.sackBlocks(4)).toEqual([100, 150]); // offsets rebased on the new RCV.NXT
    expect(asm.add(0, 100)).toBe(150);
    expect(asm.isEmpty()).toBe(true);
  });

  it("merges overlapping, adjacent and duplicate segments", () => {
    const asm = new Assembler();
    asm.add(10, 10);
    asm.add(30, 10);
    asm.add(50, 10);
    expect(asm.ranges).toBe(3);
    asm.add(15, 30); // bridges [10,20) and [30,40), stops short of [50,60)
    expect(asm.sackBlocks(4)).toEqual([10, 45, 50, 60]);
    asm.add(45, 5); // adjacent on both sides
    expect(asm.sackBlocks(4)).toEqual([10, 60]);
    asm.add(20, 5); // a duplicate
    expect(asm.ranges).toBe(1);
    expect(asm.add(0, 12)).toBe(60);
  });

  /**
   * A receiver at RCV.NXT = `rcvNxt`, taking segments and giving ACKs and SACK
   * blocks in sequence numbers shifted by `base` (RFC 2018 §4's examples,
   * also across the 2^32 wrap).
   */
  function receiver(rcvNxt: number, base: number) {
    const asm = new Assembler();
    let nxt = seqAdd(rcvNxt, base);
    return {
      /** a segment arrives; returns the ACK and the SACK blocks (at most 3, as with timestamps) */
      segment(seq: number, len: number): { ack: number; blocks: number[] } {
        const n = asm.add(seqDiff(seqAdd(seq, base), nxt), len);
        expect(n).not.toBe(TOO_MANY_HOLES);
        nxt = seqAdd(nxt, n);
        const unshift = (s: number): number => seqAdd(s, -base);
        return { ack: unshift(nxt), blocks: asm.sackBlocks(3).map((o) => unshift(seqAdd(nxt, o))) };
      },
    };
  }

  const bases = [0, 2 ** 32 - 7000];

  it.each(bases)("RFC 2018 §4 case 2: the first segment is lost, the other seven arrive (shifted by %d)", (base) => {
    const rx = receiver(5000, base);
    for (let i = 1; i < 8; i++) {
      expect(rx.segment(5000 + 500 * i, 500)).toEqual({ ack: 5000, blocks: [5500, 5500 + 500 * i] });
    }
  });

  it.each(bases)("RFC 2018 §4 case 3: segments 2, 4, 6, 8 are lost; the latest block first (shifted by %d)", (base) => {
    const rx = receiver(5000, base);
    expect(rx.segment(5000, 500)).toEqual({ ack: 5500, blocks: [] });
    expect(rx.segment(6000, 500)).toEqual({ ack: 5500, blocks: [6000, 6500] });
    expect(rx.segment(7000, 500)).toEqual({ ack: 5500, blocks: [7000, 7500, 6000, 6500] });
    expect(rx.segment(8000, 500)).toEqual({ ack: 5500, blocks: [8000, 8500, 7000, 7500, 6000, 6500] });
    // the 4th segment arrives out of order: its merged block goes first
    expect(rx.segment(6500, 500)).toEqual({ ack: 5500, blocks: [6000, 7500, 8000, 8500] });
    // then the 2nd: the ACK advances and one block is left
    expect(rx.segment(5500, 500)).toEqual({ ack: 7500, blocks: [8000, 8500] });
  });

  it("limits the blocks to the most recent `max`", () => {
    const asm = new Assembler();
    for (let i = 1; i <= 5; i++) asm.add(10 * i, 5);
    expect(asm.sackBlocks(2)).toEqual([50, 55, 40, 45]);
    asm.add(20, 3);
    expect(asm.sackBlocks(2)).toEqual([20, 25, 50, 55]);
    expect(asm.sackBlocks(0)).toEqual([]);
  });

  it("refuses a segment that needs a new range when full, but takes ones that merge or fill the front", () => {
    const asm = new Assembler(2);
    asm.add(10, 5);
    asm.add(30, 5);
    expect(asm.add(50, 5)).toBe(TOO_MANY_HOLES);
    expect(asm.add(20, 5)).toBe(TOO_MANY_HOLES);
    expect(asm.sackBlocks(4)).toEqual([30, 35, 10, 15]);
    expect(asm.add(35, 10)).toBe(0); // extends a range
    expect(asm.add(0, 5)).toBe(5); // a new front range never needs a slot
    expect(asm.sackBlocks(4)).toEqual([25, 40, 5, 10]);
    expect(asm.add(0, 5)).toBe(10);
  });

  it("reuses the output array and clears", () => {
    const asm = new Assembler();
    const out = [9, 9, 9];
    asm.add(5, 1);
    expect(asm.sackBlocks(4, out)).toBe(out);
    expect(out).toEqual([5, 6]);
    asm.clear();
    expect(asm.isEmpty()).toBe(true);
    expect(asm.sackBlocks(4, out)).toEqual([]);
    expect(asm.add(0, 1)).toBe(1);
  });

  it("ignores empty segments and rejects negative ones", () => {
    const asm = new Assembler();
    expect(asm.add(5, 0)).toBe(0);
    expect(asm.isEmpty()).toBe(true);
    expect(() => asm.add(-1, 2)).toThrow(RangeError);
    expect(() => new Assembler(0)).toThrow(RangeError);
  });

  it("matches a bitmap model: contiguous counts, refusals, and blocks most recent first", () => {
    const W = 64;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: W - 1 }), fc.integer({ min: 0, max: 12 })), { maxLength: 80 }),
        fc.integer({ min: 1, max: 5 }),
        (capacity, segs, max) => {
          const asm = new Assembler(capacity);
          // stamp[i]: when byte i (offset from RCV.NXT) last arrived, 0 if it has not
          let stamp: number[] = new Array<number>(W + 12).fill(0);
          let clock = 0;
          for (const [offset, length] of segs) {
            const next = stamp.slice();
            clock++;
            for (let i = offset; i < offset + length; i++) next[i] = clock;
            const runs = runsOf(next);
            const front = runs.length > 0 && runs[0].start === 0 ? runs[0].end : 0;
            const held = runs.length - (front > 0 ? 1 : 0);
            const refused = length > 0 && held > capacity;
            const got = asm.add(offset, length);
            if (refused) {
              expect(got).toBe(TOO_MANY_HOLES);
            } else {
              expect(got).toBe(front);
              stamp = next.slice(front).concat(new Array<number>(front).fill(0));
            }
            const want = runsOf(stamp)
              .sort((a, b) => b.recent - a.recent)
              .slice(0, max)
              .flatMap((r) => [r.start, r.end]);
            expect(asm.sackBlocks(max)).toEqual(want);
            expect(asm.isEmpty()).toBe(want.length === 0);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});

/** Maximal runs of arrived bytes, with the latest arrival in each. */
function runsOf(stamp: number[]): Array<{ start: number; end: number; recent: number }> {
  const runs: Array<{ start: number; end: number; recent: number }> = [];
  for (let i = 0; i < stamp.length; i++) {
    if (stamp[i] === 0) continue;
    const last = runs[runs.length - 1];
    if (last !== undefined && last.end === i) {
      last.end = i + 1;
      last.recent = Math.max(last.recent, stamp[i]);
    } else {
      runs.push({ start: i, end: i + 1, recent: stamp[i] });
    }
  }
  return runs;
}
