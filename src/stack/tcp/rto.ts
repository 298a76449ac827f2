/**
 * The round-trip time estimator and retransmission timeout of RFC 6298, with
 * the bounds Linux uses, plus Linux's model of when a connection has
 * retransmitted for too long (tcp_retries2 / tcp_syn_retries → ETIMEDOUT).
 *
 * Pure: no clock of its own. Times are milliseconds. Karn's algorithm
 * (RFC 6298 §3: never sample a retransmitted segment unless timestamps make
 * the sample unambiguous) is the caller's job.
 */

/** Initial RTO before any sample (RFC 6298 §2.1; Linux TCP_TIMEOUT_INIT): 1 s. */
export const RTO_INITIAL = 1000;
/** Lower bound of the RTO (Linux TCP_RTO_MIN; RFC 6298 §2.4 says 1 s): 200 ms. */
export const RTO_MIN = 200;
/** Upper bound of the RTO (Linux TCP_RTO_MAX; RFC 6298 §2.5 allows ≥ 60 s): 120 s. */
export const RTO_MAX = 120_000;
/** RTO after a handshake that gave no RTT sample (RFC 6298 §5.7; Linux TCP_TIMEOUT_FALLBACK): 3 s. */
export const RTO_FALLBACK = 3000;
/** Clock granularity G of RFC 6298 §2: our clock ticks in milliseconds. */
export const CLOCK_GRANULARITY = 1;
/** Gain of the smoothed RTT (RFC 6298 §2.3, alpha). */
export const RTT_ALPHA = 1 / 8;
/** Gain of the RTT variation (RFC 6298 §2.3, beta). */
export const RTT_BETA = 1 / 4;
/** Weight of the RTT variation in the RTO (RFC 6298 §2, K). */
export const RTTVAR_K = 4;

/** Retransmissions of data before ETIMEDOUT (Linux tcp_retries2 default). */
export const TCP_RETRIES2 = 15;
/** Retransmissions of a SYN before ETIMEDOUT (Linux tcp_syn_retries default). */
export const TCP_SYN_RETRIES = 6;
/** Retransmissions of a SYN-ACK before the embryonic connection is dropped (Linux tcp_synack_retries default). */
export const TCP_SYNACK_RETRIES = 5;

/** Bounds and granularity of an {@link RtoEstimator}; every field in ms. */
export interface RtoOptions {
  /** RTO before the first sample; default {@link RTO_INITIAL} */
  initial?: number;
  /** lower bound; default {@link RTO_MIN} */
  min?: number;
  /** upper bound, also the cap of the backoff; default {@link RTO_MAX} */
  max?: number;
  /**
   * G of RFC 6298 §2.2/§2.3, the floor of the variance term; default
   * {@link CLOCK_GRANULARITY}. Linux computes RTO = SRTT + max(4·RTTVAR,
   * TCP_RTO_MIN), which is this formula with `granularity: 200`.
   */
  granularity?: number;
}

function positive(value: number, what: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${what} must be a positive number of ms, got ${value}`);
  return value;
}

/**
 * The RTT estimator and RTO of RFC 6298 for one connection.
 *
 * ```ts
 * const rto = new RtoEstimator();
 * rto.sample(now - sentAt);      // a valid sample (Karn: not a retransmission)
 * setTimer(now + rto.rto);
 * // on expiry: rto.backoff(); retransmit; setTimer(now + rto.rto)
 * ```
 */
export class RtoEstimator {
  private readonly initial: number;
  private readonly min: number;
  private readonly max: number;
  private readonly g: number;
  private smoothed = 0;
  private variation = 0;
  private sampled = false;
  private current: number;
  private backoffs = 0;

  constructor(options: RtoOptions = {}) {
    this.min = positive(options.min ?? RTO_MIN, "min");
    this.max = positive(options.max ?? RTO_MAX, "max");
    if (this.max < this.min) throw new RangeError(`max (${this.max}) is below min (${this.min})`);
    this.initial = positive(options.initial ?? RTO_INITIAL, "initial");
    this.g = positive(options.granularity ?? CLOCK_GRANULARITY, "granularity");
    this.current = this.clamp(this.initial);
  }

  /** Smoothed RTT (SRTT), ms; 0 until the first sample (as Linux's tcpi_rtt). */
  get srtt(): number {
    return this.smoothed;
  }

  /** RTT variation (RTTVAR), ms; 0 until the first sample. */
  get rttvar(): number {
    return this.variation;
  }

  /** The current retransmission timeout, ms, backoff included. */
  get rto(): number {
    return this.current;
  }

  /** Timer expiries since the last valid sample (Linux icsk_backoff). */
  get backoffCount(): number {
    return this.backoffs;
  }

  /** Whether a valid sample has been taken. */
  get hasSample(): boolean {
    return this.sampled;
  }

  /**
   * A valid RTT measurement `rttMs` (RFC 6298 §2.2 for the first, §2.3 after).
   * Recomputes the RTO from the new estimate, which collapses any backoff
   * (RFC 6298 §5, the note after step 5.7; Linux resets icsk_backoff only
   * here). Throws RangeError for a negative or non-finite sample.
   */
  sample(rttMs: number): void {
    if (!Number.isFinite(rttMs) || rttMs < 0) throw new RangeError(`RTT sample must be a finite number ≥ 0, got ${rttMs}`);
    if (this.sampled) {
      // §2.3: RTTVAR first, from the SRTT before this sample.
      this.variation = (1 - RTT_BETA) * this.variation + RTT_BETA * Math.abs(this.smoothed - rttMs);
      this.smoothed = (1 - RTT_ALPHA) * this.smoothed + RTT_ALPHA * rttMs;
    } else {
      this.smoothed = rttMs;
      this.variation = rttMs / 2;
      this.sampled = true;
    }
    this.backoffs = 0;
    this.current = this.clamp(this.smoothed + Math.max(this.g, RTTVAR_K * this.variation));
  }

  /**
   * The retransmission timer expired: RTO ← min(2·RTO, max) (RFC 6298 §5.5,
   * §2.5). The estimate itself is kept.
   */
  backoff(): void {
    this.backoffs += 1;
    this.current = Math.min(this.current * 2, this.max);
  }

  /**
   * Data transmission begins (the three-way handshake completed). If the
   * handshake produced no valid sample (its segments were retransmitted, so
   * Karn forbade one), the RTO becomes 3 s (RFC 6298 §5.7; Linux does this
   * whenever the handshake left no sample) and the backoff is cleared.
   */
  establish(): void {
    if (this.sampled) return;
    this.backoffs = 0;
    this.current = this.clamp(RTO_FALLBACK);
  }

  private clamp(rto: number): number {
    return Math.min(Math.max(rto, this.min), this.max);
  }
}

/**
 * How long Linux lets a connection retransmit before it gives up: the total
 * time of `boundary` retransmissions with exponential backoff starting at
 * `rtoBase` and capped at `rtoMax` (Linux tcp_model_timeout). With the
 * defaults, 15 retransmissions from 200 ms give 924.6 s for an established
 * connection, and 6 SYN retransmissions from 1 s give 127 s.
 */
export function retransmitBudget(boundary: number, rtoBase: number = RTO_MIN, rtoMax: number = RTO_MAX): number {
  if (!Number.isInteger(boundary) || boundary < 0) throw new RangeError(`boundary must be an integer ≥ 0, got ${boundary}`);
  positive(rtoBase, "rtoBase");
  if (rtoMax < rtoBase) throw new RangeError(`rtoMax (${rtoMax}) is below rtoBase (${rtoBase})`);
  // Number of doublings that stay below rtoMax: floor(log2(rtoMax / rtoBase)).
  const linear = 31 - Math.clz32(Math.floor(rtoMax / rtoBase));
  if (boundary <= linear) return (2 ** (boundary + 1) - 1) * rtoBase;
  return (2 ** (linear + 1) - 1) * rtoBase + (boundary - linear) * rtoMax;
}

/**
 * Whether retransmission has gone on too long and the connection must fail
 * with ETIMEDOUT (Linux retransmits_timed_out): at least one retransmission,
 * and `now - since` has reached {@link retransmitBudget}`(boundary, rtoBase)`.
 * `since`: when the oldest unacknowledged segment was first sent (Linux
 * retrans_stamp). Use `boundary` {@link TCP_RETRIES2} and `rtoBase`
 * {@link RTO_MIN} once established; {@link TCP_SYN_RETRIES} and
 * {@link RTO_INITIAL} in SYN-SENT, where Linux also gives up once that many
 * SYNs were retransmitted.
 */
export function retransmitsTimedOut(
  retransmits: number,
  since: number,
  now: number,
  boundary: number,
  rtoBase: number = RTO_MIN,
): boolean {
  return retransmits > 0 && now - since >= retransmitBudget(boundary, rtoBase);
}
