/**
 * The sender's SACK scoreboard and the loss-recovery routines of RFC 6675 §4
 * (Update, IsLost, SetPipe, NextSeg), byte-granular.
 *
 * Vocabulary (RFC 6675 §2) and how it maps here, every bound exclusive:
 * - HighACK is SND.UNA, the scoreboard's {@link SackScoreboard.sndUna}.
 * - HighData is the end of the data ever sent (BSD's snd_max). Methods taking
 *   `sndNxt` want that: pass SND.NXT only if the control block never moves it
 *   back (after an RTO, for instance); otherwise pass the highest value it held.
 * - HighRxt is {@link SackScoreboard.highRxt}: every byte below it was
 *   retransmitted during the current recovery (RFC 6675's HighRxt is the last
 *   such byte; this is one past it).
 * - The scoreboard holds the SACKed ranges within [SND.UNA, HighData), sorted,
 *   merged, at most `capacity` of them.
 *
 * The control block's loss recovery (RFC 6675 §5) then reads:
 * ```ts
 * sb.update(blocks, ack, sndMax);              // every ACK with or without SACK blocks
 * // entering recovery (§5 step 4): RecoveryPoint = sndMax; cwnd = ssthresh = FlightSize / 2
 * sb.beginRecovery();
 * const len = Math.min(smss, sb.holeAt(sb.sndUna, sndMax)); // (4.3): the first segment
 * send(sb.sndUna, len); sb.retransmitted(sb.sndUna, len);
 * // (C): while cwnd - sb.pipe(sndMax) >= smss and sb.nextSeg(sndMax, sendable) !== NextSeg.None,
 * //      send [sb.segSeq, sb.segSeq + sb.segLen); if it was a retransmission, sb.retransmitted(...)
 * ```
 * The rescue retransmission (NextSeg rule 4) is not implemented; Linux
 * covers that case with tail loss probes (RFC 8985) instead.
 */
import { seqAdd, seqDiff, seqGt, seqLt, seqMax } from "./seq.js";

/** DupThresh of RFC 6675 §2 (and RFC 5681 §3.2). */
export const DUP_THRESH = 3;

/** Default number of SACKed ranges remembered. */
export const DEFAULT_SCOREBOARD_RANGES = 64;

/** What {@link SackScoreboard.nextSeg} found to send (RFC 6675 §4 NextSeg). */
export const NextSeg = {
  /** nothing: rules 1–3 all fail */
  None: 0,
  /** rule 1: a lost segment, not yet retransmitted in this recovery */
  Lost: 1,
  /** rule 2: new data starting at HighData */
  New: 2,
  /** rule 3: an unSACKed segment below the highest SACKed byte, not known to be lost */
  Unsacked: 3,
} as const;

/** One of the {@link NextSeg} values. */
export type NextSegKind = (typeof NextSeg)[keyof typeof NextSeg];

export class SackScoreboard {
  /**
   * The sender maximum segment size (SMSS, RFC 5681 §2), bytes: IsLost's
   * byte threshold is `(DUP_THRESH - 1) * smss` and NextSeg returns at most
   * this much. Settable once the MSS is negotiated.
   */
  smss: number;
  /** Where the segment chosen by the last {@link nextSeg} starts. */
  segSeq = 0;
  /** The length of the segment chosen by the last {@link nextSeg} (0 when it returned `None`). */
  segLen = 0;

  private una: number;
  private rxt: number;
  /** SACKed range i is [starts[i], ends[i]) in sequence space, sorted, disjoint, not touching */
  private readonly starts: Uint32Array;
  private readonly ends: Uint32Array;
  private count = 0;
  private sacked = 0;

  /**
   * @param sndUna SND.UNA now (usually ISS + 1 once the SYN is acknowledged)
   * @param smss the sender maximum segment size
   * @param capacity the most separate SACKed ranges remembered; a block that
   *   would need one more is ignored (its bytes count as not SACKed, which
   *   costs at most a needless retransmission)
   */
  constructor(sndUna: number, smss: number, readonly capacity: number = DEFAULT_SCOREBOARD_RANGES) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`bad scoreboard capacity ${capacity}`);
    this.una = this.rxt = sndUna >>> 0;
    this.smss = smss;
    this.starts = new Uint32Array(capacity);
    this.ends = new Uint32Array(capacity);
  }

  /** HighACK: SND.UNA as the scoreboard last saw it. */
  get sndUna(): number {
    return this.una;
  }

  /** One past the last byte retransmitted in this recovery (SND.UNA when none was). */
  get highRxt(): number {
    return this.rxt;
  }

  /** Bytes SACKed above SND.UNA. */
  get sackedBytes(): number {
    return this.sacked;
  }

  /** The number of separate SACKed ranges held. */
  get ranges(): number {
    return this.count;
  }

  /** Forgets all SACK information and starts over at `sndUna` (RFC 2018 §8: after an RTO the sender may have to). */
  clear(sndUna: number): void {
    this.count = this.sacked = 0;
    this.una = this.rxt = sndUna >>> 0;
  }

  /**
   * The cumulative ACK moved to `sndUna`: SACK information below it is
   * dropped. An ACK that does not move forward changes nothing.
   */
  advance(sndUna: number): void {
    if (!seqGt(sndUna, this.una)) return;
    const una = sndUna >>> 0;
    let drop = 0;
    while (drop < this.count && !seqGt(this.ends[drop], una)) {
      this.sacked -= seqDiff(this.ends[drop], this.starts[drop]);
      drop++;
    }
    this.remove(0, drop);
    if (this.count > 0 && seqLt(this.starts[0], una)) {
      this.sacked -= seqDiff(una, this.starts[0]);
      this.starts[0] = una;
    }
    this.una = una;
    this.rxt = seqMax(this.rxt, una);
  }

  /**
   * RFC 6675 §4 Update(): an ACK arrived acknowledging up to `sndUna` and
   * carrying `blocks`, SACK blocks as flat left/right pairs (left0, right0,
   * left1, …; an odd trailing value is ignored). Blocks that are empty, start
   * below SND.UNA (D-SACK, RFC 2883, or stale) or end beyond `sndNxt`
   * (HighData) are ignored, as RFC 2018 §8 and Linux do. Returns the number
   * of bytes newly SACKed (RFC 6675 §5 counts an ACK as a duplicate when it
   * SACKs new data).
   */
  update(blocks: ArrayLike<number>, sndUna: number, sndNxt: number): number {
    this.advance(sndUna);
    let fresh = 0;
    for (let k = 0; k + 1 < blocks.length; k += 2) fresh += this.addBlock(blocks[k]!, blocks[k + 1]!, sndNxt);
    return fresh;
  }

  /**
   * One SACK block [left, right) of an arriving ACK, after {@link advance}
   * moved SND.UNA: the per-block half of {@link update}, for callers that
   * read blocks straight from a segment. Returns the bytes newly SACKed.
   */
  addBlock(left: number, right: number, sndNxt: number): number {
    left >>>= 0;
    right >>>= 0;
    if (!seqLt(left, right) || seqLt(left, this.una) || seqGt(right, sndNxt)) return 0;
    return this.insert(left, right);
  }

  /** The end of the SACKed range holding byte `seq`, or `seq` itself when it is not SACKed. */
  sackedEnd(seq: number): number {
    const q = seqDiff(seq, this.una);
    for (let i = 0; i < this.count; i++) {
      if (q < this.off(this.starts[i])) break;
      if (q < this.off(this.ends[i])) return this.ends[i]!;
    }
    return seq >>> 0;
  }

  /** Bytes SACKed below `seq`: what of [SND.UNA, seq) the receiver already holds. */
  sackedBelow(seq: number): number {
    const q = seqDiff(seq, this.una);
    let n = 0;
    for (let i = 0; i < this.count; i++) {
      const a = this.off(this.starts[i]);
      if (a >= q) break;
      n += Math.min(q, this.off(this.ends[i])) - a;
    }
    return n;
  }

  /** Whether byte `seq` was SACKed. */
  isSacked(seq: number): boolean {
    const q = seqDiff(seq, this.una);
    for (let i = 0; i < this.count; i++) {
      if (q < this.off(this.starts[i])) return false;
      if (q < this.off(this.ends[i])) return true;
    }
    return false;
  }

  /**
   * The length of the unSACKed run starting at `seq`: up to the next SACKed
   * byte or `sndNxt` (HighData), 0 if `seq` is SACKed or outside
   * [SND.UNA, HighData). What to retransmit from `seq` without resending
   * SACKed data (RFC 6675 §5 step 4.3, and after an RTO §5.1).
   */
  holeAt(seq: number, sndNxt: number): number {
    const q = seqDiff(seq, this.una);
    const high = this.off(sndNxt);
    if (q < 0 || q >= high) return 0;
    for (let i = 0; i < this.count; i++) {
      const a = this.off(this.starts[i]);
      if (q < a) return Math.min(a, high) - q;
      if (q < this.off(this.ends[i])) return 0;
    }
    return high - q;
  }

  /**
   * RFC 6675 §4 IsLost(SeqNum): true when at least DupThresh separate SACKed
   * ranges lie (at least partly) above `seq`, or more than
   * `(DUP_THRESH - 1) * smss` SACKed bytes have sequence numbers above `seq`.
   * (The RFC's "discontiguous SACKed sequences" are counted as the
   * scoreboard's merged ranges: contiguous SACKed segments cannot be told apart.)
   */
  isLost(seq: number): boolean {
    const q = seqDiff(seq, this.una);
    let bytes = 0;
    let above = 0;
    for (let i = this.count - 1; i >= 0; i--) {
      const b = this.off(this.ends[i]);
      if (b <= q + 1) break;
      above++;
      bytes += b - Math.max(this.off(this.starts[i]), q + 1);
    }
    return above >= DUP_THRESH || bytes > (DUP_THRESH - 1) * this.smss;
  }

  /**
   * RFC 6675 §4 SetPipe(): the bytes estimated in flight. Each unSACKed byte
   * in [SND.UNA, `sndNxt`) counts once if it is not lost (IsLost false: the
   * original may still arrive) and once more if it lies below HighRxt (its
   * retransmission may still arrive).
   */
  pipe(sndNxt: number): number {
    const high = this.off(sndNxt);
    const rxt = this.off(this.rxt);
    let pipe = 0;
    let prev = 0;
    let above = this.sacked;
    for (let i = 0; i < this.count; i++) {
      const a = this.off(this.starts[i]);
      // IsLost is the same for every byte of the hole [prev, a)
      if (!this.lostBelow(i, above)) pipe += a - prev;
      pipe += Math.max(0, Math.min(a, rxt) - prev);
      prev = this.off(this.ends[i]);
      above -= prev - a;
    }
    if (high > prev) pipe += high - prev + Math.max(0, Math.min(high, rxt) - prev);
    return pipe;
  }

  /**
   * RFC 6675 §4 NextSeg(): what to send next during loss recovery. The choice
   * is returned and the segment left in {@link segSeq} / {@link segLen}:
   * 1. `Lost`: the lowest unSACKed byte at or above HighRxt, below the highest
   *    SACKed byte, with IsLost true; up to `smss` bytes, not past the next
   *    SACKed byte;
   * 2. `New`: otherwise, if `sendable` > 0 (bytes of unsent data the
   *    receiver's window allows now), up to `min(smss, sendable)` bytes at
   *    `sndNxt` (HighData);
   * 3. `Unsacked`: otherwise the segment rule 1 would pick but without the
   *    IsLost condition;
   * and `None` when all fail. Nothing is recorded: call {@link retransmitted}
   * after sending a rule 1 or 3 segment (RFC 6675 §5 step C.2).
   */
  nextSeg(sndNxt: number, sendable: number): NextSegKind {
    const rxt = this.off(this.rxt);
    let prev = 0;
    let above = this.sacked;
    let found: NextSegKind = NextSeg.None;
    for (let i = 0; i < this.count; i++) {
      const a = this.off(this.starts[i]);
      const from = Math.max(prev, rxt);
      if (from < a) {
        // holes above this one are not lost if this one is not: the first candidate decides
        this.segSeq = seqAdd(this.una, from);
        this.segLen = Math.min(this.smss, a - from);
        found = this.lostBelow(i, above) ? NextSeg.Lost : NextSeg.Unsacked;
        break;
      }
      prev = this.off(this.ends[i]);
      above -= prev - a;
    }
    if (found === NextSeg.Lost) return found;
    if (sendable > 0) {
      this.segSeq = sndNxt >>> 0;
      this.segLen = Math.min(this.smss, sendable);
      return NextSeg.New;
    }
    if (found === NextSeg.None) this.segLen = 0;
    return found;
  }

  /** Starts a recovery episode: nothing counts as retransmitted yet (HighRxt = HighACK). */
  beginRecovery(): void {
    this.rxt = this.una;
  }

  /** Records a retransmission of [seq, seq + len) during recovery (RFC 6675 §5 step C.2): HighRxt moves past it. */
  retransmitted(seq: number, len: number): void {
    this.rxt = seqMax(this.rxt, seqAdd(seq, len));
  }

  /** Whether the unSACKed bytes just below range `i` are lost, `above` being the bytes SACKed from range `i` up. */
  private lostBelow(i: number, above: number): boolean {
    return this.count - i >= DUP_THRESH || above > (DUP_THRESH - 1) * this.smss;
  }

  /** Offset of `seq` from SND.UNA. */
  private off(seq: number): number {
    return seqDiff(seq, this.una);
  }

  /** Adds SACKed [left, right) (within [SND.UNA, HighData)); returns the bytes not SACKed before. */
  private insert(left: number, right: number): number {
    let a = this.off(left);
    let b = this.off(right);
    // ranges lo..hi-1 overlap or touch [a, b)
    let lo = 0;
    while (lo < this.count && this.off(this.ends[lo]) < a) lo++;
    let hi = lo;
    let overlap = 0;
    for (; hi < this.count; hi++) {
      const s = this.off(this.starts[hi]);
      if (s > b) break;
      overlap += Math.max(0, Math.min(b, this.off(this.ends[hi])) - Math.max(a, s));
    }
    if (lo === hi && this.count === this.capacity) return 0;
    const fresh = b - a - overlap;
    if (lo < hi) {
      a = Math.min(a, this.off(this.starts[lo]));
      b = Math.max(b, this.off(this.ends[hi - 1]));
    }
    if (lo < hi) {
      this.remove(lo + 1, hi - lo - 1);
    } else {
      this.starts.copyWithin(lo + 1, lo, this.count);
      this.ends.copyWithin(lo + 1, lo, this.count);
      this.count++;
    }
    this.starts[lo] = seqAdd(this.una, a);
    this.ends[lo] = seqAdd(this.una, b);
    this.sacked += fresh;
    return fresh;
  }

  /** Removes `n` ranges at `at`. */
  private remove(at: number, n: number): void {
    if (n === 0) return;
    this.starts.copyWithin(at, at + n, this.count);
    this.ends.copyWithin(at, at + n, this.count);
    this.count -= n;
  }
}
