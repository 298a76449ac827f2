/**
 * NewReno congestion control: RFC 5681 slow start and congestion avoidance,
 * halving on loss, with the recovery of RFC 6582 as laid out in
 * {@link WindowedControl}.
 */
import { WindowedControl } from "./window.js";

/** NewReno (RFC 5681, RFC 6582, byte counting of RFC 3465). */
export class NewReno extends WindowedControl {
  readonly name = "newreno";
  /** bytes acknowledged since cwnd last grew in congestion avoidance (RFC 3465 §2.1) */
  private bytesAcked = 0;

  /**
   * Congestion avoidance with byte counting (RFC 5681 §3.1, RFC 3465 §2.1):
   * each time the bytes acknowledged reach cwnd, cwnd grows by one SMSS,
   * which is one SMSS per RTT whatever the ACK pattern (delayed ACKs too).
   */
  protected congestionAvoidance(acked: number): void {
    this.bytesAcked += acked;
    if (this.bytesAcked < this.window) return;
    const segments = Math.floor(this.bytesAcked / this.window);
    this.bytesAcked -= segments * this.window;
    this.window += segments * this.mss;
  }

  /** ssthresh = max(FlightSize / 2, 2·SMSS) (RFC 5681 eq. 4), for loss and timeout alike. */
  protected decrease(flightSize: number): number {
    this.bytesAcked = 0;
    return Math.max(Math.floor(flightSize / 2), 2 * this.mss);
  }
}
