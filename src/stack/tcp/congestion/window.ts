/**
 * What NewReno and CUBIC share: slow start, the window used while
 * recovering, the loss window after a timeout, and the rule that the window
 * only grows while it is what limits the sender. Each algorithm supplies its
 * congestion avoidance and its multiplicative decrease.
 *
 * Loss recovery: on entering it cwnd = ssthresh (RFC 6675 §5 step 4.2),
 * not ssthresh + 3·SMSS (RFC 5681 §3.2 step 4). cwnd is never inflated
 * here: the interface has no duplicate-ACK hook to inflate it with, and
 * Linux never inflates cwnd either. The connection either compares cwnd with
 * `pipe`, its scoreboard's estimate of the bytes in the network (RFC 6675
 * §5), or, for a peer without SACK, keeps the RFC 5681 / RFC 6582 inflation
 * itself (3·SMSS on entry, +SMSS per further duplicate ACK, deflated by
 * partial ACKs) and sends while snd.nxt − snd.una < cwnd + inflation; with
 * cwnd = ssthresh that is exactly RFC 5681's inflated window.
 */
import type { CongestionControl, CongestionName, CongestionOptions } from "./controller.js";

/** "Infinite" initial ssthresh (RFC 5681 §3.1: arbitrarily high), as Linux's TCP_INFINITE_SSTHRESH. */
export const INFINITE_SSTHRESH = 0x7fffffff;
/** Initial window in segments when none is given (RFC 6928, Linux TCP_INIT_CWND). */
export const DEFAULT_INITIAL_WINDOW = 10;
/** Appropriate Byte Counting limit L in slow start, in segments (RFC 3465 §2.2). */
export const ABC_LIMIT = 2;

/** The state machine shared by the algorithms; see the module comment. */
export abstract class WindowedControl implements CongestionControl {
  abstract readonly name: CongestionName;
  /** sender maximum segment size, bytes */
  protected mss: number;
  /** congestion window, bytes (fractional: CUBIC grows it by fractions of a byte) */
  protected window: number;
  /** slow start threshold, bytes */
  protected threshold = INFINITE_SSTHRESH;
  private recovering = false;
  /** a timeout fired and no ACK has advanced since */
  private timedOut = false;

  constructor(options: CongestionOptions) {
    const { mss, initialWindow = DEFAULT_INITIAL_WINDOW } = options;
    if (!Number.isInteger(mss) || mss <= 0) throw new RangeError(`mss must be a positive integer, got ${mss}`);
    if (!Number.isInteger(initialWindow) || initialWindow <= 0) {
      throw new RangeError(`initialWindow must be a positive integer, got ${initialWindow}`);
    }
    this.mss = mss;
    this.window = initialWindow * mss;
  }

  setMss(mss: number): void {
    if (!Number.isInteger(mss) || mss <= 0) throw new RangeError(`mss must be a positive integer, got ${mss}`);
    this.mss = mss;
  }

  /** congestion window, whole bytes, never below one segment */
  get cwnd(): number {
    return Math.floor(this.window);
  }

  get ssthresh(): number {
    return this.threshold;
  }

  /** Whether fast recovery is in progress (between enter and exit). */
  get inRecovery(): boolean {
    return this.recovering;
  }

  /**
   * Slow start (RFC 5681 §3.1) with byte counting limited to L = 2·SMSS per
   * ACK (RFC 3465 §2.2), up to ssthresh; what is left of the ACK then counts
   * for congestion avoidance (as Linux's tcp_slow_start). No growth while
   * the sender does not use its window (RFC 7661's idea; Linux's
   * tcp_is_cwnd_limited): in slow start `inFlight` must exceed cwnd / 2, in
   * congestion avoidance cwnd − inFlight must be under one segment.
   */
  onAck(acked: number, rttMs: number | null, inFlight: number, now: number): void {
    if (!(acked > 0 && Number.isFinite(acked))) return;
    this.timedOut = false;
    if (rttMs !== null && rttMs >= 0) this.rttSample(rttMs);
    if (this.window < this.threshold) {
      if (this.window >= 2 * inFlight) return;
      const grow = Math.min(acked, ABC_LIMIT * this.mss, this.threshold - this.window);
      this.window += grow;
      const rest = acked - grow;
      if (this.window < this.threshold || rest <= 0) return;
      this.congestionAvoidance(rest, now);
    } else if (inFlight + this.mss > this.window) {
      this.congestionAvoidance(acked, now);
    } else {
      this.applicationLimited(now);
    }
  }

  /**
   * Fast retransmit: one multiplicative decrease per loss episode, then
   * cwnd = ssthresh (RFC 6675 §5 step 4.2). Ignored while already recovering
   * (RFC 6582 §3.2 step 2: no second reduction before the recovery point).
   */
  onEnterRecovery(inFlight: number, now: number): void {
    if (this.recovering) return;
    this.recovering = true;
    this.threshold = this.decrease(Math.max(inFlight, 0), false, now);
    this.window = this.threshold;
  }

  /**
   * A partial ACK (RFC 6582 §3.2 step 3) leaves cwnd at ssthresh: RFC 6582's
   * "deflate by the bytes acked, add back one SMSS" applies to the inflation,
   * which the connection keeps (see the module comment), and with pipe-based
   * sending the bytes acknowledged simply leave `pipe`. It still counts as
   * progress for the timeout rule of {@link onRetransmitTimeout}.
   */
  onPartialAck(acked: number): void {
    if (acked > 0) this.timedOut = false;
  }

  /**
   * Full ACK of the recovery point: cwnd = min(ssthresh, max(FlightSize,
   * SMSS) + SMSS), the burst-avoiding choice of RFC 6582 §3.2 step 3.
   * `inFlight`: bytes outstanding after that ACK. Ignored outside recovery.
   */
  onExitRecovery(inFlight: number, _now: number): void {
    if (!this.recovering) return;
    this.recovering = false;
    this.timedOut = false;
    this.window = Math.min(this.threshold, Math.max(inFlight, this.mss) + this.mss);
  }

  /**
   * Retransmission timeout: recovery ends, cwnd = LW = 1 SMSS (RFC 5681 §3.1)
   * and ssthresh takes the algorithm's decrease of FlightSize (RFC 5681 eq. 4;
   * RFC 9438 §4.8). A timeout that follows another with no ACK advancing in
   * between keeps ssthresh (RFC 5681 §3.1: only for a segment not yet
   * retransmitted by the timer; Linux tcp_enter_loss).
   */
  onRetransmitTimeout(inFlight: number, now: number): void {
    this.recovering = false;
    if (!this.timedOut) this.threshold = this.decrease(Math.max(inFlight, 0), true, now);
    this.timedOut = true;
    this.window = this.mss;
  }

  /** A new RTT sample, ms (≥ 0). */
  protected rttSample(_rttMs: number): void {}

  /** An ACK arrived in congestion avoidance while the sender did not fill cwnd. */
  protected applicationLimited(_now: number): void {}

  /** Congestion avoidance for `acked` newly acknowledged bytes. */
  protected abstract congestionAvoidance(acked: number, now: number): void;

  /**
   * A congestion event (`timeout` false: loss detected by ACKs; true: RTO):
   * updates the algorithm's own state and returns the new ssthresh, in whole
   * bytes, at least 2·SMSS. `this.window` still holds cwnd before the event.
   */
  protected abstract decrease(flightSize: number, timeout: boolean, now: number): number;
}
