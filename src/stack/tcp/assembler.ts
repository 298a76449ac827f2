/**
 * Out-of-order bookkeeping of a TCP receiver: which byte ranges beyond the
 * contiguous receive point (RCV.NXT, RFC 9293 §3.10.7.4 "segment text") have
 * arrived, and the SACK blocks that report them (RFC 2018 §4).
 *
 * Offsets are relative to RCV.NXT: offset 0 is the next byte the application
 * would read. Ranges are kept sorted, merged and bounded in number (like
 * smoltcp's Assembler): a segment that would need one more range than
 * {@link Assembler.capacity} is refused, and the caller drops it (the sender
 * will retransmit it). The data itself lives in a {@link RingBuffer}; the
 * receive path is
 *
 * ```ts
 * const n = asm.add(offset, seg.length);
 * if (n !== TOO_MANY_HOLES) { rx.writeAt(offset, seg); rx.commit(n); rcvNxt = seqAdd(rcvNxt, n); }
 * ```
 */

/** What {@link Assembler.add} returns when it refuses a segment. */
export const TOO_MANY_HOLES = -1;

/** Default number of out-of-order ranges tracked (smoltcp uses 32 on hosted targets). */
export const DEFAULT_ASSEMBLER_RANGES = 32;

export class Assembler {
  /**
   * range i is [starts[i], ends[i]), sorted, disjoint, not touching, all > 0;
   * the arrays are allocated when the first out-of-order range is kept (in-order
   * data never needs them, so an idle or loss-free connection holds none)
   */
  private starts: Float64Array = NONE;
  private ends: Float64Array = NONE;
  /** when range i last received a segment (for SACK block order) */
  private stamps: Float64Array = NONE;
  private count = 0;
  private clock = 0;

  /** @param capacity the most out-of-order ranges kept at once (≥ 1) */
  constructor(readonly capacity: number = DEFAULT_ASSEMBLER_RANGES) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`bad assembler capacity ${capacity}`);
  }

  /** Whether no out-of-order data is held. */
  isEmpty(): boolean {
    return this.count === 0;
  }

  /** The number of out-of-order ranges held. */
  get ranges(): number {
    return this.count;
  }

  /** Forgets everything (connection reset, or the data was discarded). */
  clear(): void {
    this.count = 0;
  }

  /**
   * Records that bytes [offset, offset + length) arrived (offsets from
   * RCV.NXT; duplicates and overlaps are fine). If that makes the front
   * contiguous, the contiguous bytes are removed and their number returned:
   * the caller advances RCV.NXT by it, and every remaining offset shifts down
   * by it. Returns 0 if nothing became contiguous, or {@link TOO_MANY_HOLES}
   * (and records nothing) if the segment would need a new range while
   * {@link capacity} ranges are held.
   */
  add(offset: number, length: number): number {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0) {
      throw new RangeError(`bad range ${offset}+${length}`);
    }
    if (length === 0) return 0;
    let start = offset;
    let end = offset + length;
    // ranges [lo, hi) overlap or touch the new one
    let lo = 0;
    while (lo < this.count && this.ends[lo] < start) lo++;
    let hi = lo;
    while (hi < this.count && this.starts[hi] <= end) hi++;
    if (lo < hi) {
      start = Math.min(start, this.starts[lo]);
      end = Math.max(end, this.ends[hi - 1]);
    }
    if (start === 0) {
      // the front is contiguous now (lo is 0): hand it over and rebase the rest
      this.splice(0, hi, 0);
      for (let i = 0; i < this.count; i++) {
        this.starts[i] -= end;
        this.ends[i] -= end;
      }
      return end;
    }
    if (lo === hi && this.count === this.capacity) return TOO_MANY_HOLES;
    if (this.starts.length === 0) this.allocate();
    // replace ranges lo..hi-1 by the merged one at index lo
    this.splice(lo, hi - lo, 1);
    this.starts[lo] = start;
    this.ends[lo] = end;
    this.stamps[lo] = ++this.clock;
    return 0;
  }

  /**
   * The SACK blocks to send (RFC 2018 §4): up to `max` ranges as flat
   * [start, end) offset pairs from RCV.NXT, written into `out` (cleared
   * first) and returned. The most recently received range comes first, so
   * the first block contains the segment that triggered this ACK (unless
   * that segment advanced RCV.NXT); the others follow in order of their
   * latest arrival, which repeats the most recently reported blocks first.
   * An empty result means no SACK option is due. Add RCV.NXT
   * (with `seqAdd`) to turn offsets into sequence numbers.
   */
  sackBlocks(max: number, out: number[] = []): number[] {
    out.length = 0;
    let bound = Infinity;
    for (let k = 0; k < max; k++) {
      // the most recent range older than the last one taken (stamps are unique)
      let best = -1;
      for (let i = 0; i < this.count; i++) {
        const s = this.stamps[i];
        if (s < bound && (best < 0 || s > this.stamps[best])) best = i;
      }
      if (best < 0) break;
      bound = this.stamps[best];
      out.push(this.starts[best], this.ends[best]);
    }
    return out;
  }

  /** The range arrays, in one allocation. */
  private allocate(): void {
    const c = this.capacity;
    const all = new Float64Array(3 * c);
    this.starts = all.subarray(0, c);
    this.ends = all.subarray(c, 2 * c);
    this.stamps = all.subarray(2 * c);
  }

  /** Removes `remove` ranges at `at` and opens `insert` slots there. */
  private splice(at: number, remove: number, insert: number): void {
    const shift = insert - remove;
    if (shift !== 0) {
      const tail = at + remove;
      this.starts.copyWithin(at + insert, tail, this.count);
      this.ends.copyWithin(at + insert, tail, this.count);
      this.stamps.copyWithin(at + insert, tail, this.count);
      this.count += shift;
    }
  }
}

const NONE = new Float64Array(0);
