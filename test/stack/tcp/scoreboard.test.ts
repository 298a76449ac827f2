import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { NextSeg, type NextSegKind, SackScoreboard } from "../../../src/stack/tcp/scoreboard.js";
import { seqAdd } from "../../../src/stack/tcp/seq.js";

const SMSS = 1000;

/**
 * The usual picture of RFC 6675 §§4–5: ten 1000-byte segments sent from
 * `una`; the receiver SACKs some. Sequence numbers are given relative to
 * `una` and shifted, so each example also runs across the 2^32 wrap.
 */
function flight(base: number) {
  const at = (off: number): number => seqAdd(base, off);
  const sb = new SackScoreboard(at(0), SMSS);
  const sndNxt = at(10 * SMSS);
  return {
    sb,
    at,
    sndNxt,
    /** an ACK for `ack` with SACK blocks (relative [left, right) pairs); returns the bytes newly SACKed */
    ack(ack: number, ...blocks: number[]): number {
      return sb.update(blocks.map(at), at(ack), sndNxt);
    },
    /** NextSeg as [kind, relative start, length] */
    next(sendable = 0): [NextSegKind, number, number] {
      const kind = sb.nextSeg(sndNxt, sendable);
      return [kind, kind === NextSeg.None ? -1 : (sb.segSeq - base) >>> 0, sb.segLen];
    },
  };
}

const bases = [1_000_000, 2 ** 32 - 4500];

describe.each(bases)("SackScoreboard, RFC 6675 worked examples (SND.UNA = %d)", (base) => {
  it("IsLost by bytes: the first segment is lost once more than (DupThresh-1)*SMSS bytes above it are SACKed", () => {
    const f = flight(base);
    expect(f.ack(0, 1000, 2000)).toBe(1000);
    expect(f.sb.isLost(f.at(0))).toBe(false);
    expect(f.ack(0, 1000, 3000)).toBe(1000); // 2000 bytes: not more than 2 * SMSS
    expect(f.sb.isLost(f.at(0))).toBe(false);
    expect(f.ack(0, 1000, 4000)).toBe(1000);
    expect(f.sb.isLost(f.at(0))).toBe(true);
    expect(f.sb.isLost(f.at(999))).toBe(true);
    expect(f.sb.isLost(f.at(4000))).toBe(false); // nothing SACKed above
    expect([f.sb.sackedBytes, f.sb.ranges]).toEqual([3000, 1]);
  });

  it("IsLost by count: DupThresh discontiguous SACKed sequences above, however small", () => {
    const f = flight(base);
    f.ack(0, 1000, 1100, 2000, 2100);
    expect(f.sb.isLost(f.at(0))).toBe(false);
    f.ack(0, 3000, 3100);
    expect(f.sb.isLost(f.at(0))).toBe(true);
    expect(f.sb.isLost(f.at(1100))).toBe(false); // only two ranges above
  });

  it("SetPipe, entering recovery and NextSeg: retransmit the lost segment, then new data (rule 2) or nothing", () => {
    const f = flight(base);
    f.ack(0, 1000, 2000);
    f.ack(0, 1000, 3000);
    f.ack(0, 1000, 4000); // the third duplicate ACK: enter recovery (§5 step 4)
    // pipe: segment 1 is lost (0), 2..4 SACKed, 5..10 in flight
    expect(f.sb.pipe(f.sndNxt)).toBe(6000);
    f.sb.beginRecovery();
    expect(f.sb.holeAt(f.at(0), f.sndNxt)).toBe(1000); // (4.3): the first unSACKed segment
    expect(f.next()).toEqual([NextSeg.Lost, 0, 1000]);
    f.sb.retransmitted(f.at(0), 1000);
    expect(f.sb.highRxt).toBe(f.at(1000));
    // its retransmission is in flight now
    expect(f.sb.pipe(f.sndNxt)).toBe(7000);
    expect(f.next(2500)).toEqual([NextSeg.New, 10000, 1000]);
    expect(f.next(300)).toEqual([NextSeg.New, 10000, 300]);
    expect(f.next(0)).toEqual([NextSeg.None, -1, 0]);
  });

  it("NextSeg rule 3 takes an unSACKed segment not yet deemed lost when there is no new data", () => {
    const f = flight(base);
    f.ack(0, 1000, 2000, 3000, 4000); // segments 1 and 3 missing, two ranges, 2000 bytes
    expect(f.sb.isLost(f.at(0))).toBe(false);
    expect(f.next(1)).toEqual([NextSeg.New, 10000, 1]);
    expect(f.next(0)).toEqual([NextSeg.Unsacked, 0, 1000]);
    f.sb.retransmitted(f.at(0), 1000);
    expect(f.next(0)).toEqual([NextSeg.Unsacked, 2000, 1000]);
    f.sb.retransmitted(f.at(2000), 1000);
    expect(f.next(0)).toEqual([NextSeg.None, -1, 0]); // nothing unSACKed below the highest SACKed byte
  });

  it("NextSeg rule 1 walks the lost holes in order, at most SMSS and not into SACKed data", () => {
    const f = flight(base);
    // holes: [0,1500) [2000,3500) [4000,5000); SACKed: [1500,2000) [3500,4000) [5000,7000)
    f.ack(0, 1500, 2000, 3500, 4000, 5000, 7000);
    f.sb.beginRecovery();
    expect(f.next()).toEqual([NextSeg.Lost, 0, 1000]);
    f.sb.retransmitted(f.at(0), 1000);
    expect(f.next()).toEqual([NextSeg.Lost, 1000, 500]);
    f.sb.retransmitted(f.at(1000), 500);
    expect(f.next(5)).toEqual([NextSeg.Lost, 2000, 1000]); // two ranges, 2500 bytes above: lost
    f.sb.retransmitted(f.at(2000), 1000);
    expect(f.next(5)).toEqual([NextSeg.Lost, 3000, 500]);
    f.sb.retransmitted(f.at(3000), 500);
    // [4000,5000): one range, 2000 bytes above: not lost
    expect(f.sb.isLost(f.at(4000))).toBe(false);
    expect(f.next(5)).toEqual([NextSeg.New, 10000, 5]);
    expect(f.next(0)).toEqual([NextSeg.Unsacked, 4000, 1000]);
    // pipe: lost holes count only as retransmitted (3000), [4000,5000) once, [7000,10000) once
    expect(f.sb.pipe(f.sndNxt)).toBe(3000 + 1000 + 3000);
  });

  it("a partial ACK drops SACK information below it and keeps HighRxt", () => {
    const f = flight(base);
    f.ack(0, 1000, 4000, 5000, 6000);
    f.sb.beginRecovery();
    f.sb.retransmitted(f.at(0), 1000);
    f.ack(4000); // the retransmission filled the hole: cumulative ACK to the SACKed range's end
    expect(f.sb.sndUna).toBe(f.at(4000));
    expect([f.sb.sackedBytes, f.sb.ranges]).toEqual([1000, 1]);
    expect(f.sb.highRxt).toBe(f.at(4000));
    expect(f.next()).toEqual([NextSeg.Unsacked, 4000, 1000]);
    f.ack(5500); // within a SACKed range: it is clipped
    expect([f.sb.sackedBytes, f.sb.ranges]).toEqual([500, 1]);
    expect(f.sb.isSacked(f.at(5500))).toBe(true);
    expect(f.sb.pipe(f.sndNxt)).toBe(4000);
    f.ack(3000); // an old ACK changes nothing
    expect(f.sb.sndUna).toBe(f.at(5500));
  });

  it("ignores D-SACK, stale, empty and beyond-SND.NXT blocks, and counts only newly SACKed bytes", () => {
    const f = flight(base);
    expect(f.ack(1000, 0, 1000)).toBe(0); // D-SACK: below SND.UNA
    expect(f.ack(1000, 500, 1500)).toBe(0); // straddles SND.UNA
    expect(f.ack(1000, 9000, 10001)).toBe(0); // beyond SND.NXT
    expect(f.ack(1000, 3000, 3000, 4000, 3500)).toBe(0); // empty, inverted
    expect(f.sb.ranges).toBe(0);
    expect(f.ack(1000, 2000, 3000, 2500, 3500)).toBe(1500); // overlapping blocks in one ACK
    expect(f.ack(1000, 2000, 3500)).toBe(0); // a repeat
    expect(f.ack(1000, 1500, 4000)).toBe(1000);
    expect([f.sb.sackedBytes, f.sb.ranges]).toEqual([2500, 1]);
    expect(f.ack(1000, 9000, 10000)).toBe(1000); // up to SND.NXT is fine
  });

  it("holeAt and isSacked describe the gaps", () => {
    const f = flight(base);
    f.ack(0, 1000, 2000, 3000, 4000);
    expect(f.sb.holeAt(f.at(0), f.sndNxt)).toBe(1000);
    expect(f.sb.holeAt(f.at(500), f.sndNxt)).toBe(500);
    expect(f.sb.holeAt(f.at(1000), f.sndNxt)).toBe(0);
    expect(f.sb.holeAt(f.at(4000), f.sndNxt)).toBe(6000);
    expect(f.sb.holeAt(f.at(10000), f.sndNxt)).toBe(0);
    expect(f.sb.holeAt(f.at(-1), f.sndNxt)).toBe(0);
    expect([999, 1000, 1999, 2000].map((o) => f.sb.isSacked(f.at(o)))).toEqual([false, true, true, false]);
  });
});

describe("SackScoreboard limits", () => {
  it("ignores a block that needs a new range when full, but merges into existing ones", () => {
    const sb = new SackScoreboard(0, 10, 2);
    expect(sb.update([10, 20, 30, 40], 0, 100)).toBe(20);
    expect(sb.update([50, 60], 0, 100)).toBe(0);
    expect(sb.update([20, 25, 40, 45], 0, 100)).toBe(10);
    expect(sb.update([25, 30], 0, 100)).toBe(5); // joins both: a slot frees up
    expect(sb.ranges).toBe(1);
    expect(sb.update([50, 60], 0, 100)).toBe(10);
    expect([sb.sackedBytes, sb.ranges]).toEqual([45, 2]);
  });

  it("clear forgets everything and restarts at the given SND.UNA", () => {
    const sb = new SackScoreboard(100, 10);
    sb.update([110, 120], 100, 200);
    sb.retransmitted(100, 10);
    sb.clear(2 ** 32 - 5);
    expect([sb.sackedBytes, sb.ranges, sb.sndUna, sb.highRxt]).toEqual([0, 0, 2 ** 32 - 5, 2 ** 32 - 5]);
    expect(sb.update([2 ** 32 - 1, 3], 2 ** 32 - 5, 10)).toBe(4);
    expect(sb.isSacked(0)).toBe(true);
  });

  it("rejects a bad capacity", () => {
    expect(() => new SackScoreboard(0, 10, 0)).toThrow(RangeError);
  });
});

/**
 * The reference model: one flag per byte, indexes counting from the first
 * SND.UNA (sequence number `base + index`), every rule of RFC 6675 §4
 * applied byte by byte.
 */
class Model {
  una = 0;
  nxt = 0;
  rxt = 0;
  private readonly sacked = new Set<number>();
  /** per index from una - 2: SACKed bytes and runs strictly above it; rebuilt after changes */
  private table: { bytes: number[]; runs: number[] } | null = null;
  constructor(readonly smss: number) {}

  send(n: number): void {
    this.nxt += n;
    this.table = null;
  }
  isSacked(i: number): boolean {
    return i >= this.una && i < this.nxt && this.sacked.has(i);
  }
  update(blocks: Array<[number, number]>, ack: number): number {
    this.advance(ack);
    let fresh = 0;
    for (const [l, r] of blocks) {
      if (l >= r || l < this.una || r > this.nxt) continue;
      for (let i = l; i < r; i++) {
        if (!this.sacked.has(i)) fresh++;
        this.sacked.add(i);
      }
    }
    this.table = null;
    return fresh;
  }
  advance(ack: number): void {
    this.una = Math.max(this.una, ack);
    this.rxt = Math.max(this.rxt, this.una);
    this.table = null;
  }
  /** SACKed bytes strictly above i, and SACKed runs with a byte above i (for i >= una - 2) */
  above(i: number): [number, number] {
    if (this.table === null) {
      const bytes: number[] = [];
      const runs: number[] = [];
      let b = 0;
      let r = 0;
      for (let j = this.nxt + 2; j >= this.una - 2; j--) {
        bytes[j - this.una + 2] = b;
        runs[j - this.una + 2] = r;
        if (this.isSacked(j)) {
          b++;
          if (!this.isSacked(j + 1)) r++;
        }
      }
      this.table = { bytes, runs };
    }
    const k = Math.min(i, this.nxt + 2) - this.una + 2;
    return [this.table.bytes[k], this.table.runs[k]];
  }
  isLost(i: number): boolean {
    const [bytes, runs] = this.above(i);
    return runs >= 3 || bytes > 2 * this.smss;
  }
  holeAt(i: number): number {
    let n = 0;
    while (i + n >= this.una && i + n < this.nxt && !this.isSacked(i + n)) n++;
    return n;
  }
  pipe(): number {
    let pipe = 0;
    for (let i = this.una; i < this.nxt; i++) {
      if (this.isSacked(i)) continue;
      if (!this.isLost(i)) pipe++;
      if (i < this.rxt) pipe++;
    }
    return pipe;
  }
  nextSeg(sendable: number): [NextSegKind, number, number] {
    let high = -1;
    for (let i = this.una; i < this.nxt; i++) if (this.isSacked(i)) high = i;
    let rule3: [NextSegKind, number, number] | null = null;
    for (let i = Math.max(this.una, this.rxt); i < high; i++) {
      if (this.isSacked(i)) continue;
      const len = Math.min(this.smss, this.holeAt(i));
      if (this.isLost(i)) return [NextSeg.Lost, i, len];
      rule3 ??= [NextSeg.Unsacked, i, len];
    }
    if (sendable > 0) return [NextSeg.New, this.nxt, Math.min(this.smss, sendable)];
    return rule3 ?? [NextSeg.None, -1, 0];
  }
}

type Action =
  | { kind: "send"; n: number }
  | { kind: "sack"; ack: number | null; blocks: Array<[boolean, number, number]> }
  | { kind: "recover" }
  | { kind: "next"; sendable: number };

/**
 * Raw numbers, mapped onto the current window when the action runs. A block
 * is either anywhere near the window, or whole segments of a fixed size (so
 * that blocks often touch, as a real receiver's do).
 */
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("send" as const), n: fc.integer({ min: 0, max: 40 }) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("sack" as const),
      ack: fc.option(fc.nat(), { freq: 3 }),
      blocks: fc.array(fc.tuple(fc.boolean(), fc.nat(), fc.integer({ min: -3, max: 40 })), { maxLength: 4 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("recover" as const) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("next" as const), sendable: fc.integer({ min: -1, max: 20 }) }) },
);

describe("SackScoreboard against a byte-by-byte model of RFC 6675 §4", () => {
  it("agrees on Update, IsLost, SetPipe, NextSeg, holeAt and the SACKed bytes, across the 2^32 wrap", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 2 ** 32 - 300, max: 2 ** 32 - 1 }), fc.nat()),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(action, { maxLength: 50 }),
        (base, smss, seg, actions) => {
          const seq = (i: number): number => seqAdd(base, i);
          const sb = new SackScoreboard(seq(0), smss, 1024);
          const m = new Model(smss);
          for (const a of actions) {
            switch (a.kind) {
              case "send":
                m.send(a.n);
                break;
              case "sack": {
                const span = m.nxt - m.una + 20;
                const segments = Math.ceil((m.nxt - m.una) / seg) + 1;
                const blocks = a.blocks.map(([aligned, x, len]): [number, number] => {
                  if (aligned) {
                    const l = m.una + (x % segments) * seg;
                    return [l, l + (1 + (Math.abs(len) % 3)) * seg];
                  }
                  const l = m.una - 10 + (x % span);
                  return [l, l + len];
                });
                const ack = a.ack === null ? m.una : m.una + (a.ack % (m.nxt - m.una + 1));
                const flat = blocks.flatMap(([l, r]) => [seq(l), seq(r)]);
                expect(sb.update(flat, seq(ack), seq(m.nxt))).toBe(m.update(blocks, ack));
                break;
              }
              case "recover":
                sb.beginRecovery();
                m.rxt = m.una;
                break;
              case "next": {
                const want = m.nextSeg(a.sendable);
                const kind = sb.nextSeg(seq(m.nxt), a.sendable);
                expect([kind, kind === NextSeg.None ? -1 : (sb.segSeq - base) >>> 0, sb.segLen]).toEqual(want);
                if (kind === NextSeg.New) m.send(sb.segLen);
                if (kind === NextSeg.Lost || kind === NextSeg.Unsacked) {
                  sb.retransmitted(sb.segSeq, sb.segLen);
                  m.rxt = Math.max(m.rxt, want[1] + want[2]);
                }
                break;
              }
            }
            expect(sb.sndUna).toBe(seq(m.una));
            expect(sb.highRxt).toBe(seq(m.rxt));
            expect(sb.sackedBytes).toBe(m.above(m.una - 1)[0]);
            expect(sb.ranges).toBe(m.above(m.una - 1)[1]);
            expect(sb.pipe(seq(m.nxt))).toBe(m.pipe());
            for (let i = m.una - 2; i <= m.nxt + 1; i++) {
              expect(sb.isSacked(seq(i))).toBe(m.isSacked(i));
              expect(sb.isLost(seq(i))).toBe(m.isLost(i));
              expect(sb.holeAt(seq(i), seq(m.nxt))).toBe(m.holeAt(i));
            }
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
