/**
 * RFC 6298 RTT estimation and RTO with Linux's bounds (200 ms .. 120 s,
 * initial 1 s), exponential backoff, and Linux's retransmission budget
 * (tcp_retries2 / tcp_syn_retries), checked against hand-computed values.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  RTO_FALLBACK,
  RTO_INITIAL,
  RTO_MAX,
  RTO_MIN,
  RtoEstimator,
  TCP_RETRIES2,
  TCP_SYN_RETRIES,
  retransmitBudget,
  retransmitsTimedOut,
} from "../../../src/stack/tcp/rto.js";

describe("RtoEstimator", () => {
  it("starts at 1 s with no estimate (RFC 6298 §2.1)", () => {
    const e = new RtoEstimator();
    expect(e.rto).toBe(RTO_INITIAL);
    expect(RTO_INITIAL).toBe(1000);
    expect(e.srtt).toBe(0);
    expect(e.rttvar).toBe(0);
    expect(e.hasSample).toBe(false);
    expect(e.backoffCount).toBe(0);
  });

  it("first sample R sets SRTT = R, RTTVAR = R/2, RTO = SRTT + 4·RTTVAR (§2.2)", () => {
    const e = new RtoEstimator();
    e.sample(100);
    expect(e.hasSample).toBe(true);
    expect(e.srtt).toBe(100);
    expect(e.rttvar).toBe(50);
    expect(e.rto).toBe(300);
  });

  it("later samples update RTTVAR (beta 1/4, from the old SRTT) then SRTT (alpha 1/8) (§2.3)", () => {
    const e = new RtoEstimator();
    e.sample(100);
    e.sample(200);
    // RTTVAR = 3/4·50 + 1/4·|100 − 200| = 62.5; SRTT = 7/8·100 + 1/8·200 = 112.5
    expect(e.rttvar).toBe(62.5);
    expect(e.srtt).toBe(112.5);
    expect(e.rto).toBe(112.5 + 4 * 62.5);
    e.sample(50);
    // RTTVAR = 3/4·62.5 + 1/4·|112.5 − 50| = 62.5; SRTT = 7/8·112.5 + 1/8·50 = 104.6875
    expect(e.rttvar).toBe(62.5);
    expect(e.srtt).toBe(104.6875);
    expect(e.rto).toBe(354.6875);
  });

  it("a steady RTT converges SRTT to it and RTTVAR toward 0", () => {
    const e = new RtoEstimator();
    for (let i = 0; i < 200; i++) e.sample(80);
    expect(e.srtt).toBe(80);
    expect(e.rttvar).toBeLessThan(1e-6);
    expect(e.rto).toBe(RTO_MIN); // 80 + max(G = 1, ~0) is below the floor
  });

  it("never goes below 200 ms (TCP_RTO_MIN)", () => {
    const e = new RtoEstimator();
    e.sample(10); // 10 + 4·5 = 30
    expect(e.rto).toBe(200);
    e.sample(0);
    expect(e.rto).toBe(200);
    expect(RTO_MIN).toBe(200);
  });

  it("never goes above 120 s (TCP_RTO_MAX)", () => {
    const e = new RtoEstimator();
    e.sample(100_000); // 100 s + 4·50 s
    expect(e.rto).toBe(RTO_MAX);
    expect(RTO_MAX).toBe(120_000);
    expect(e.srtt).toBe(100_000);
  });

  it("granularity 200 gives Linux's SRTT + max(4·RTTVAR, 200 ms)", () => {
    const e = new RtoEstimator({ granularity: 200 });
    for (let i = 0; i < 200; i++) e.sample(80);
    expect(e.rto).toBeCloseTo(280, 6);
  });

  it("honours custom bounds", () => {
    const e = new RtoEstimator({ initial: 500, min: 50, max: 1000 });
    expect(e.rto).toBe(500);
    e.sample(5);
    expect(e.rto).toBe(50);
    e.backoff();
    e.backoff();
    e.backoff();
    e.backoff();
    e.backoff();
    expect(e.rto).toBe(1000);
  });

  it("rejects bad options and samples", () => {
    expect(() => new RtoEstimator({ min: 0 })).toThrow(RangeError);
    expect(() => new RtoEstimator({ min: 500, max: 100 })).toThrow(RangeError);
    expect(() => new RtoEstimator({ granularity: Number.NaN })).toThrow(RangeError);
    const e = new RtoEstimator();
    expect(() => e.sample(-1)).toThrow(RangeError);
    expect(() => e.sample(Number.NaN)).toThrow(RangeError);
    expect(() => e.sample(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(e.hasSample).toBe(false);
    expect(e.rto).toBe(RTO_INITIAL);
  });

  it("backoff doubles the RTO up to the cap and counts (§5.5)", () => {
    const e = new RtoEstimator();
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) {
      e.backoff();
      seen.push(e.rto);
    }
    expect(seen).toEqual([2000, 4000, 8000, 16_000, 32_000, 64_000, 120_000, 120_000, 120_000, 120_000]);
    expect(e.backoffCount).toBe(10);
    expect(e.hasSample).toBe(false);
  });

  it("backoff keeps the estimate; a valid sample collapses the backoff (§5 note after 5.7)", () => {
    const e = new RtoEstimator();
    e.sample(100);
    e.backoff();
    e.backoff();
    expect(e.rto).toBe(1200);
    expect(e.srtt).toBe(100);
    expect(e.rttvar).toBe(50);
    e.sample(100);
    expect(e.backoffCount).toBe(0);
    // RTTVAR = 3/4·50 = 37.5, SRTT = 100
    expect(e.rto).toBe(250);
  });

  it("a handshake without a sample leaves RTO at 3 s when data begins (§5.7)", () => {
    const e = new RtoEstimator();
    e.backoff(); // the SYN timed out; its retransmission gives no sample (Karn)
    expect(e.rto).toBe(2000);
    e.establish();
    expect(e.rto).toBe(RTO_FALLBACK);
    expect(RTO_FALLBACK).toBe(3000);
    expect(e.backoffCount).toBe(0);
  });

  it("a handshake with a sample keeps the computed RTO", () => {
    const e = new RtoEstimator();
    e.sample(40);
    e.establish();
    expect(e.rto).toBe(200);
  });

  it("property: RTO stays within [200, 120000] and the estimate stays finite", () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant("sample" as const), rtt: fc.double({ min: 0, max: 1e7, noNaN: true }) }),
      fc.record({ kind: fc.constant("backoff" as const) }),
      fc.record({ kind: fc.constant("establish" as const) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 300 }), (steps) => {
        const e = new RtoEstimator();
        for (const s of steps) {
          if (s.kind === "sample") e.sample(s.rtt);
          else if (s.kind === "backoff") e.backoff();
          else e.establish();
          expect(e.rto).toBeGreaterThanOrEqual(RTO_MIN);
          expect(e.rto).toBeLessThanOrEqual(RTO_MAX);
          expect(Number.isFinite(e.srtt) && e.srtt >= 0).toBe(true);
          expect(Number.isFinite(e.rttvar) && e.rttvar >= 0).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("property: SRTT stays within the range of the samples", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 200 }), (samples) => {
        const e = new RtoEstimator();
        for (const r of samples) e.sample(r);
        expect(e.srtt).toBeGreaterThanOrEqual(Math.min(...samples) - 1e-6);
        expect(e.srtt).toBeLessThanOrEqual(Math.max(...samples) + 1e-6);
      }),
      { numRuns: 300 },
    );
  });
});

describe("retransmission budget (Linux tcp_model_timeout)", () => {
  it("15 retransmissions from 200 ms take 924.6 s (tcp_retries2)", () => {
    // 200·(2^10 − 1) for the nine doublings below 120 s, then 6 × 120 s
    expect(retransmitBudget(TCP_RETRIES2)).toBe(924_600);
  });

  it("6 SYN retransmissions from 1 s take 127 s (tcp_syn_retries)", () => {
    expect(retransmitBudget(TCP_SYN_RETRIES, RTO_INITIAL)).toBe(127_000);
  });

  it("is the sum of the backed-off timeouts for small boundaries", () => {
    expect(retransmitBudget(0)).toBe(200);
    expect(retransmitBudget(1)).toBe(600);
    expect(retransmitBudget(3, 1000)).toBe(15_000);
    expect(retransmitBudget(9)).toBe(204_600);
    expect(retransmitBudget(10)).toBe(324_600);
  });

  it("rejects a negative or fractional boundary", () => {
    expect(() => retransmitBudget(-1)).toThrow(RangeError);
    expect(() => retransmitBudget(1.5)).toThrow(RangeError);
  });

  it("times out only after a retransmission and once the budget has elapsed", () => {
    const since = 5000;
    expect(retransmitsTimedOut(0, since, since + 10_000_000, TCP_RETRIES2)).toBe(false);
    expect(retransmitsTimedOut(3, since, since + 924_599, TCP_RETRIES2)).toBe(false);
    expect(retransmitsTimedOut(3, since, since + 924_600, TCP_RETRIES2)).toBe(true);
    expect(retransmitsTimedOut(1, since, since + 126_999, TCP_SYN_RETRIES, RTO_INITIAL)).toBe(false);
    expect(retransmitsTimedOut(1, since, since + 127_000, TCP_SYN_RETRIES, RTO_INITIAL)).toBe(true);
  });
});
