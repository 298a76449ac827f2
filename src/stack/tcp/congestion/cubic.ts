/**
 * CUBIC congestion control (RFC 9438), the Linux default: after a loss the
 * window follows W_cubic(t) = C·(t − K)³ + W_max, concave up to the previous
 * maximum and convex beyond it, never slower than Reno would be.
 *
 * Windows are kept in bytes; the cubic function is evaluated in segments
 * and seconds, as RFC 9438 §4.1 defines it. Slow start is the standard one
 * of RFC 5681 (see {@link WindowedControl}); HyStart++ (RFC 9406), which
 * RFC 9438 §4.10 recommends and Linux runs as HyStart, is not implemented.
 */
import type { CongestionOptions } from "./controller.js";
import { WindowedControl } from "./window.js";

/** C of RFC 9438 §5, segments / s³. */
export const CUBIC_C = 0.4;
/** β_cubic, the multiplicative decrease factor (RFC 9438 §4.6; Linux 717/1024). */
export const CUBIC_BETA = 0.7;
/** α_cubic = 3(1 − β)/(1 + β), the Reno-friendly additive increase (RFC 9438 §4.3). */
export const CUBIC_ALPHA = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);

/** Options of {@link Cubic}. */
export interface CubicOptions extends CongestionOptions {
  /**
   * Fast convergence (RFC 9438 §4.7): release bandwidth faster when the
   * saturation point drops. Default true, as in Linux.
   */
  fastConvergence?: boolean;
}

/** CUBIC (RFC 9438). */
export class Cubic extends WindowedControl {
  readonly name = "cubic";
  private readonly fastConvergence: boolean;
  /** W_max, bytes; 0 while unknown (before the first loss, after a timeout) */
  private maxWindow = 0;
  /** cwnd_prior, bytes: cwnd when ssthresh was last set (RFC 9438 §4.1) */
  private priorWindow = 0;
  /** t_epoch, ms: start of the current congestion avoidance stage, null outside one */
  private epochStart: number | null = null;
  /** K, seconds */
  private plateauDelay = 0;
  /** W_est, bytes (RFC 9438 §4.3) */
  private renoWindow = 0;
  /** smoothed RTT, ms (RFC 9438 §4.1 asks for the RFC 6298 SRTT); null before a sample */
  private smoothedRtt: number | null = null;
  private lastAckAt: number | null = null;

  constructor(options: CubicOptions) {
    super(options);
    this.fastConvergence = options.fastConvergence ?? true;
  }

  /** W_max in bytes, the plateau of the cubic curve; 0 while unknown. */
  get wMax(): number {
    return this.maxWindow;
  }

  /** K in seconds: how long the current curve takes to climb back to W_max. */
  get k(): number {
    return this.plateauDelay;
  }

  /** The time of every new ACK, to leave idle periods out of t (see {@link applicationLimited}). */
  override onAck(acked: number, rttMs: number | null, inFlight: number, now: number): void {
    super.onAck(acked, rttMs, inFlight, now);
    if (acked > 0 && Number.isFinite(acked)) this.lastAckAt = now;
  }

  /** Smooths RTT samples with the gain 1/8 of RFC 6298 §2.3. */
  protected override rttSample(rttMs: number): void {
    this.smoothedRtt = this.smoothedRtt === null ? rttMs : this.smoothedRtt + (rttMs - this.smoothedRtt) / 8;
  }

  /**
   * t must not count time during which the sender did not use its window
   * (RFC 9438 §4.2): the epoch moves forward by the time since the last ACK,
   * as Linux does when sending resumes after idle.
   */
  protected override applicationLimited(now: number): void {
    if (this.epochStart !== null && this.lastAckAt !== null && now > this.lastAckAt) {
      this.epochStart += now - this.lastAckAt;
    }
  }

  /**
   * One new ACK in congestion avoidance (RFC 9438 §4.2–§4.5): the window
   * moves toward target = W_cubic(t + RTT), bounded to [cwnd, 1.5·cwnd], by
   * (target − cwnd)/cwnd per segment acknowledged, unless W_cubic(t) is below
   * the Reno estimate W_est, in which case cwnd follows W_est.
   */
  protected congestionAvoidance(acked: number, now: number): void {
    if (this.epochStart === null) this.startEpoch(now);
    const t = (now - (this.epochStart ?? now)) / 1000;
    const rtt = (this.smoothedRtt ?? 0) / 1000;
    const cwnd = this.window;
    const target = Math.min(Math.max(this.cubicWindow(t + rtt), cwnd), 1.5 * cwnd);
    // §4.3: W_est grows by α_cubic segments per window of data acknowledged,
    // by 1 once it has reached cwnd_prior.
    const alpha = this.renoWindow >= this.priorWindow ? 1 : CUBIC_ALPHA;
    this.renoWindow += (alpha * acked * this.mss) / cwnd;
    if (this.cubicWindow(t) < this.renoWindow) {
      this.window = Math.max(cwnd, this.renoWindow);
    } else {
      this.window = cwnd + ((target - cwnd) * acked) / cwnd;
    }
  }

  /**
   * Multiplicative decrease (RFC 9438 §4.6) with fast convergence (§4.7):
   * W_max = cwnd, or cwnd·(1 + β)/2 when cwnd has not climbed back to the
   * previous W_max; ssthresh = max(β·FlightSize, 2·SMSS). After a timeout
   * (§4.8) W_max is forgotten: the next stage starts with K = 0 and W_max
   * equal to its first cwnd.
   */
  protected decrease(flightSize: number, timeout: boolean): number {
    const cwnd = this.window;
    if (timeout) this.maxWindow = 0;
    else this.maxWindow = this.fastConvergence && cwnd < this.maxWindow ? (cwnd * (1 + CUBIC_BETA)) / 2 : cwnd;
    this.priorWindow = cwnd;
    this.epochStart = null;
    return Math.max(Math.floor(flightSize * CUBIC_BETA), 2 * this.mss);
  }

  /**
   * The start of a congestion avoidance stage (RFC 9438 §4.2, §4.3, §4.8):
   * K = ∛((W_max − cwnd_epoch)/C), or 0 with W_max = cwnd_epoch when cwnd
   * is already at or above W_max (or W_max is unknown); W_est = cwnd_epoch.
   */
  private startEpoch(now: number): void {
    this.epochStart = now;
    const cwnd = this.window;
    if (cwnd >= this.maxWindow) {
      this.maxWindow = cwnd;
      this.plateauDelay = 0;
    } else {
      this.plateauDelay = Math.cbrt((this.maxWindow - cwnd) / this.mss / CUBIC_C);
    }
    this.renoWindow = cwnd;
  }

  /** W_cubic(t) in bytes, t in seconds (RFC 9438 eq. 1). */
  private cubicWindow(t: number): number {
    return this.maxWindow + CUBIC_C * (t - this.plateauDelay) ** 3 * this.mss;
  }
}
