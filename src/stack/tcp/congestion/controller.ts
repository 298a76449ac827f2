/**
 * The interface every congestion control algorithm implements (RFC 5681
 * vocabulary). The TCP connection calls these hooks; the algorithm owns
 * `cwnd` and `ssthresh` (in bytes). Implementations: NewReno (RFC 5681 +
 * RFC 6582) and CUBIC (RFC 9438, the default, as in Linux).
 */
export interface CongestionControl {
  /** "newreno" or "cubic" */
  readonly name: string;
  /** congestion window, bytes */
  readonly cwnd: number;
  /** slow start threshold, bytes */
  readonly ssthresh: number;
  /**
   * New data was cumulatively acknowledged outside loss recovery.
   * `acked`: bytes newly acknowledged; `rttMs`: the latest RTT sample or null;
   * `inFlight`: bytes outstanding before this ACK; `now`: ms.
   */
  onAck(acked: number, rttMs: number | null, inFlight: number, now: number): void;
  /**
   * Loss detected by duplicate ACKs / SACK (fast retransmit, RFC 5681 §3.2,
   * RFC 6675): enter recovery. `inFlight`: bytes outstanding (FlightSize).
   */
  onEnterRecovery(inFlight: number, now: number): void;
  /** A partial ACK during recovery (RFC 6582 §3.2 step 3): `acked` bytes. */
  onPartialAck(acked: number): void;
  /** Recovery ended (the recovery point was acknowledged, RFC 6582 step 4). */
  onExitRecovery(inFlight: number, now: number): void;
  /** The retransmission timer expired (RFC 5681 §3.1 eq. 4; RFC 6298 §5.5). */
  onRetransmitTimeout(inFlight: number, now: number): void;
  /**
   * The sender's segment size changed (path MTU discovery): later growth
   * and floors count in segments of `mss`; the window keeps its bytes.
   */
  setMss(mss: number): void;
}

/** Options shared by every algorithm. */
export interface CongestionOptions {
  /** sender maximum segment size, bytes */
  mss: number;
  /** initial window in segments; default 10 (RFC 6928, as Linux) */
  initialWindow?: number;
}

/** The algorithms by name. */
export type CongestionName = "newreno" | "cubic";
