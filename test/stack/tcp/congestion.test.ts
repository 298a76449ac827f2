/**
 * NewReno (RFC 5681, RFC 3465, RFC 6582) and CUBIC (RFC 9438) driven by
 * simulated rounds of ACKs: slow start, congestion avoidance, the decrease on
 * loss and timeout, the cubic curve and its regions, fast convergence; and
 * fast-check sequences of arbitrary events that must leave both algorithms
 * deterministic with sane windows.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CUBIC_ALPHA,
  CUBIC_C,
  Cubic,
  INFINITE_SSTHRESH,
  NewReno,
  createCongestionControl,
  type CongestionControl,
  type CongestionName,
} from "../../../src/stack/tcp/congestion/index.js";

const MSS = 1000;
const NAMES: CongestionName[] = ["newreno", "cubic"];

/**
 * One RTT of a sender that keeps its window full: a window's worth of ACKs,
 * `perAck` segments each, spread evenly over `rtt` ms from `now`. Returns the
 * time at the end of the round.
 */
function round(cc: CongestionControl, now: number, rtt: number, perAck = 1): number {
  const acks = Math.max(1, Math.floor(cc.cwnd / (perAck * MSS)));
  for (let i = 1; i <= acks; i++) cc.onAck(perAck * MSS, rtt, cc.cwnd, now + (i * rtt) / acks);
  return now + rtt;
}

/** A loss detected by duplicate ACKs with a full window in flight, recovered at once. */
function loss(cc: CongestionControl, now: number): void {
  cc.onEnterRecovery(cc.cwnd, now);
  cc.onExitRecovery(cc.cwnd, now);
}

/** Segments in cwnd. */
function segs(cc: CongestionControl): number {
  return cc.cwnd / MSS;
}

describe("createCongestionControl", () => {
  it("builds each algorithm with an initial window of 10 segments (RFC 6928, Linux)", () => {
    for (const name of NAMES) {
      const cc = createCongestionControl(name, { mss: MSS });
      expect(cc.name).toBe(name);
      expect(cc.cwnd).toBe(10 * MSS);
      expect(cc.ssthresh).toBe(INFINITE_SSTHRESH);
    }
    expect(createCongestionControl("newreno", { mss: MSS })).toBeInstanceOf(NewReno);
    expect(createCongestionControl("cubic", { mss: 1460, initialWindow: 4 }).cwnd).toBe(4 * 1460);
  });

  it("rejects an mss or initial window that is not a positive integer", () => {
    expect(() => createCongestionControl("cubic", { mss: 0 })).toThrow(RangeError);
    expect(() => createCongestionControl("newreno", { mss: 1.5 })).toThrow(RangeError);
    expect(() => createCongestionControl("newreno", { mss: MSS, initialWindow: 0 })).toThrow(RangeError);
  });
});

describe.each(NAMES)("%s slow start", (name) => {
  it("doubles cwnd every RTT with one ACK per segment", () => {
    const cc = createCongestionControl(name, { mss: MSS });
    let now = 0;
    const seen = [segs(cc)];
    for (let r = 0; r < 5; r++) {
      now = round(cc, now, 50);
      seen.push(segs(cc));
    }
    expect(seen).toEqual([10, 20, 40, 80, 160, 320]);
  });

  it("still doubles with delayed ACKs (byte counting, L = 2·SMSS)", () => {
    const cc = createCongestionControl(name, { mss: MSS });
    let now = 0;
    for (let r = 0; r < 4; r++) now = round(cc, now, 50, 2);
    expect(segs(cc)).toBe(160);
  });

  it("grows by at most 2·SMSS per ACK (RFC 3465 §2.2)", () => {
    const cc = createCongestionControl(name, { mss: MSS });
    cc.onAck(8 * MSS, 10, 10 * MSS, 10);
    expect(cc.cwnd).toBe(12 * MSS);
  });

  it("does not grow while the sender uses less than half its window", () => {
    const cc = createCongestionControl(name, { mss: MSS });
    cc.onAck(MSS, 10, 5 * MSS, 10);
    expect(cc.cwnd).toBe(10 * MSS);
    cc.onAck(MSS, 10, 5 * MSS + 1, 20);
    expect(cc.cwnd).toBe(11 * MSS);
  });

  it("ignores ACKs of nothing", () => {
    const cc = createCongestionControl(name, { mss: MSS });
    cc.onAck(0, 10, 10 * MSS, 10);
    cc.onAck(-5, 10, 10 * MSS, 10);
    expect(cc.cwnd).toBe(10 * MSS);
  });
});

describe("NewReno", () => {
  /** A NewReno in congestion avoidance at `w` segments (ssthresh = w). */
  function avoiding(w: number): NewReno {
    const cc = new NewReno({ mss: MSS, initialWindow: 2 * w });
    cc.onEnterRecovery(2 * w * MSS, 0);
    cc.onExitRecovery(2 * w * MSS, 0);
    expect(cc.cwnd).toBe(w * MSS);
    expect(cc.ssthresh).toBe(w * MSS);
    return cc;
  }

  it("adds one MSS per RTT in congestion avoidance", () => {
    const cc = avoiding(20);
    let now = 0;
    const seen: number[] = [];
    for (let r = 0; r < 6; r++) {
      now = round(cc, now, 100);
      seen.push(segs(cc));
    }
    expect(seen).toEqual([21, 22, 23, 24, 25, 26]);
  });

  it("adds one MSS per RTT with delayed ACKs too (byte counting)", () => {
    const cc = avoiding(20);
    let now = 0;
    for (let r = 0; r < 10; r++) now = round(cc, now, 100, 2);
    expect(segs(cc)).toBeGreaterThanOrEqual(29);
    expect(segs(cc)).toBeLessThanOrEqual(30);
  });

  it("does not grow in congestion avoidance while the window is not full", () => {
    const cc = avoiding(20);
    for (let i = 0; i < 100; i++) cc.onAck(MSS, 100, 19 * MSS, i);
    expect(cc.cwnd).toBe(20 * MSS);
  });

  it("stops slow start at ssthresh and carries the rest of the ACK into avoidance", () => {
    const cc = new NewReno({ mss: MSS, initialWindow: 20 });
    cc.onEnterRecovery(20 * MSS, 0); // ssthresh = 10 segments
    cc.onExitRecovery(2 * MSS, 0); // burst avoidance: cwnd = 3 segments
    expect(cc.cwnd).toBe(3 * MSS);
    let now = 0;
    now = round(cc, now, 100);
    expect(segs(cc)).toBe(6);
    now = round(cc, now, 100);
    expect(segs(cc)).toBe(10); // capped at ssthresh, not 12
    round(cc, now, 100);
    expect(segs(cc)).toBe(11);
  });

  it("halves on loss: ssthresh = cwnd = FlightSize / 2 (RFC 5681 eq. 4, RFC 6675 §5)", () => {
    const cc = createCongestionControl("newreno", { mss: MSS, initialWindow: 40 });
    cc.onEnterRecovery(40 * MSS, 0);
    expect(cc.ssthresh).toBe(20 * MSS);
    expect(cc.cwnd).toBe(20 * MSS);
  });

  it("uses FlightSize, not cwnd, and never goes below 2·SMSS", () => {
    const a = createCongestionControl("newreno", { mss: MSS, initialWindow: 40 });
    a.onEnterRecovery(9 * MSS, 0);
    expect(a.ssthresh).toBe(4500);
    const b = createCongestionControl("newreno", { mss: MSS, initialWindow: 40 });
    b.onEnterRecovery(MSS, 0);
    expect(b.ssthresh).toBe(2 * MSS);
    expect(b.cwnd).toBe(2 * MSS);
  });

  it("reduces once per recovery; partial ACKs leave cwnd at ssthresh (RFC 6582)", () => {
    const cc = new NewReno({ mss: MSS, initialWindow: 40 });
    cc.onEnterRecovery(40 * MSS, 0);
    expect(cc.inRecovery).toBe(true);
    cc.onEnterRecovery(30 * MSS, 1);
    cc.onPartialAck(5 * MSS);
    cc.onPartialAck(MSS);
    expect(cc.cwnd).toBe(20 * MSS);
    expect(cc.ssthresh).toBe(20 * MSS);
  });

  it("leaves recovery with cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS) (RFC 6582 §3.2)", () => {
    const full = new NewReno({ mss: MSS, initialWindow: 40 });
    full.onEnterRecovery(40 * MSS, 0);
    full.onExitRecovery(25 * MSS, 1);
    expect(full.inRecovery).toBe(false);
    expect(full.cwnd).toBe(20 * MSS);
    const drained = new NewReno({ mss: MSS, initialWindow: 40 });
    drained.onEnterRecovery(40 * MSS, 0);
    drained.onExitRecovery(0, 1);
    expect(drained.cwnd).toBe(2 * MSS);
    // not in recovery: nothing happens
    drained.onExitRecovery(0, 2);
    expect(drained.cwnd).toBe(2 * MSS);
  });

  it("timeout: cwnd = 1 SMSS, ssthresh = max(FlightSize / 2, 2·SMSS) (RFC 5681 §3.1)", () => {
    const cc = new NewReno({ mss: MSS, initialWindow: 30 });
    cc.onRetransmitTimeout(30 * MSS, 0);
    expect(cc.cwnd).toBe(MSS);
    expect(cc.ssthresh).toBe(15 * MSS);
    // the same segment times out again: ssthresh is not lowered again,
    // whatever FlightSize is now
    cc.onRetransmitTimeout(10 * MSS, 1000);
    expect(cc.ssthresh).toBe(15 * MSS);
    expect(cc.cwnd).toBe(MSS);
    // after an ACK advanced, a new timeout is a new loss
    cc.onAck(MSS, null, MSS, 1500);
    expect(cc.cwnd).toBe(2 * MSS);
    cc.onRetransmitTimeout(4 * MSS, 2000);
    expect(cc.ssthresh).toBe(2 * MSS);
    expect(cc.cwnd).toBe(MSS);
  });

  it("timeout during recovery ends recovery", () => {
    const cc = new NewReno({ mss: MSS, initialWindow: 40 });
    cc.onEnterRecovery(40 * MSS, 0);
    cc.onRetransmitTimeout(40 * MSS, 1000);
    expect(cc.inRecovery).toBe(false);
    expect(cc.cwnd).toBe(MSS);
    expect(cc.ssthresh).toBe(20 * MSS);
  });

  it("slow-starts back to ssthresh after a timeout, then grows linearly", () => {
    const cc = new NewReno({ mss: MSS, initialWindow: 32 });
    cc.onRetransmitTimeout(32 * MSS, 0);
    let now = 0;
    const seen: number[] = [];
    for (let r = 0; r < 7; r++) {
      now = round(cc, now, 100);
      seen.push(segs(cc));
    }
    expect(seen).toEqual([2, 4, 8, 16, 17, 18, 19]);
  });
});

describe("CUBIC", () => {
  /** A CUBIC flow that lost at `w` segments with a full window in flight. */
  function afterLoss(w: number, options: { fastConvergence?: boolean } = {}): Cubic {
    const cc = new Cubic({ mss: MSS, initialWindow: w, ...options });
    loss(cc, 0);
    return cc;
  }

  /** W_cubic(t) in segments for a curve with plateau `wMax` segments and delay `k` s. */
  function wCubic(t: number, wMax: number, k: number): number {
    return CUBIC_C * (t - k) ** 3 + wMax;
  }

  it("multiplies by β = 0.7 on loss and remembers W_max (RFC 9438 §4.6)", () => {
    const cc = afterLoss(100);
    expect(cc.ssthresh).toBe(70 * MSS);
    expect(cc.cwnd).toBe(70 * MSS);
    expect(cc.wMax).toBe(100 * MSS);
  });

  it("takes ssthresh from FlightSize, at least 2·SMSS", () => {
    const cc = new Cubic({ mss: MSS, initialWindow: 100 });
    cc.onEnterRecovery(50 * MSS, 0);
    expect(cc.ssthresh).toBe(35 * MSS);
    const tiny = new Cubic({ mss: MSS, initialWindow: 100 });
    tiny.onEnterRecovery(MSS, 0);
    expect(tiny.ssthresh).toBe(2 * MSS);
    expect(tiny.cwnd).toBe(2 * MSS);
  });

  it("follows the cubic curve: back at W_max at t ≈ K, beyond it after (RFC 9438 §4.2)", () => {
    const cc = afterLoss(100);
    const rtt = 100;
    const k = Math.cbrt(30 / CUBIC_C); // (W_max − cwnd_epoch) / C, segments → 4.217 s
    let now = 0;
    now = round(cc, now, rtt);
    expect(cc.k).toBeCloseTo(k, 9);
    const trace: Array<{ t: number; w: number }> = [];
    while (now < 6000) {
      now = round(cc, now, rtt);
      trace.push({ t: now / 1000, w: segs(cc) });
    }
    for (const { t, w } of trace) {
      // (beyond 5.5 s the Reno estimate, now growing by 1 per RTT, takes over)
      if (t < 0.5 || t > 5.5) continue;
      // cwnd chases W_cubic(t + RTT) from below, a little behind
      const target = wCubic(t + rtt / 1000, 100, k);
      expect(w).toBeLessThanOrEqual(target + 1e-9);
      expect(w).toBeGreaterThan(0.97 * target);
    }
    const atK = trace.find(({ t }) => t >= k);
    expect(atK?.w).toBeGreaterThan(99);
    expect(atK?.w).toBeLessThan(101);
    expect(trace.filter(({ t }) => t < k).every(({ w }) => w < 100)).toBe(true);
    expect(trace[trace.length - 1]?.w).toBeGreaterThan(101);
  });

  it("is concave below W_max and convex above it", () => {
    const cc = afterLoss(100);
    let now = 0;
    const perSecond: number[] = [segs(cc)];
    while (now < 6000) {
      now = round(cc, now, 100);
      if (now % 1000 === 0) perSecond.push(segs(cc));
    }
    const growth = perSecond.slice(1).map((w, i) => w - (perSecond[i] as number));
    // t = 0..4 s (K ≈ 4.2 s): each second adds less than the one before
    for (let i = 1; i < 4; i++) expect(growth[i]).toBeLessThan(growth[i - 1] as number);
    // t = 4..6 s: past the plateau each second adds more
    expect(growth[5]).toBeGreaterThan(growth[4] as number);
    expect(growth[4]).toBeGreaterThan(0);
  });

  it("grows like Reno (α_cubic per RTT, then 1) when the cubic curve is slower (§4.3)", () => {
    // 1 ms RTT, small window: W_cubic barely moves in a few ms, W_est wins.
    const cc = afterLoss(20);
    let now = 0;
    const seen: number[] = [segs(cc)];
    for (let r = 0; r < 30; r++) {
      now = round(cc, now, 1);
      seen.push(segs(cc));
    }
    // first rounds: about α_cubic = 0.529 segments per RTT
    expect(seen[1] as number).toBeCloseTo(14 + CUBIC_ALPHA, 1);
    expect((seen[8] as number) - (seen[2] as number)).toBeCloseTo(6 * CUBIC_ALPHA, 0);
    // once W_est reaches cwnd_prior (20 segments), α = 1: one segment per RTT
    // (a little less here: each round acknowledges only the whole segments of cwnd)
    const late = (seen[30] as number) - (seen[25] as number);
    expect(seen[25]).toBeGreaterThan(20);
    expect(late).toBeGreaterThan(4.7);
    expect(late).toBeLessThanOrEqual(5);
  });

  it("never grows faster than 1.5× per RTT in congestion avoidance", () => {
    const cc = afterLoss(100);
    let now = 0;
    for (let r = 0; r < 150; r++) {
      const before = cc.cwnd;
      now = round(cc, now, 100);
      expect(cc.cwnd).toBeLessThanOrEqual(1.5 * before + MSS);
    }
  });

  it("fast convergence lowers W_max when a loss comes before the last W_max (§4.7)", () => {
    for (const fastConvergence of [true, false]) {
      const cc = afterLoss(100, { fastConvergence });
      let now = 0;
      while (segs(cc) < 80) now = round(cc, now, 100);
      const w = cc.cwnd;
      loss(cc, now);
      // `w` is cwnd in whole bytes; the window itself carries a fraction of a byte
      const expected = fastConvergence ? (w * 1.7) / 2 : w;
      expect(cc.wMax).toBeGreaterThanOrEqual(expected);
      expect(cc.wMax).toBeLessThan(expected + 1);
      expect(cc.cwnd).toBe(Math.floor(w * 0.7));
    }
  });

  it("fast convergence leaves W_max = cwnd when the flow passed the last W_max", () => {
    const cc = afterLoss(100);
    let now = 0;
    while (segs(cc) < 110) now = round(cc, now, 100);
    const w = cc.cwnd;
    loss(cc, now);
    expect(cc.wMax).toBeGreaterThanOrEqual(w);
    expect(cc.wMax).toBeLessThan(w + 1);
  });

  it("a shorter K after fast convergence: the plateau comes sooner", () => {
    const k = (fastConvergence: boolean): number => {
      const cc = afterLoss(100, { fastConvergence });
      let now = 0;
      while (segs(cc) < 80) now = round(cc, now, 100);
      loss(cc, now);
      round(cc, now, 100);
      return cc.k;
    };
    expect(k(true)).toBeLessThan(k(false));
  });

  it("timeout: cwnd = 1 SMSS, ssthresh = β·FlightSize, W_max forgotten (§4.8)", () => {
    const cc = new Cubic({ mss: MSS, initialWindow: 100 });
    cc.onRetransmitTimeout(100 * MSS, 0);
    expect(cc.cwnd).toBe(MSS);
    expect(cc.ssthresh).toBe(70 * MSS);
    expect(cc.wMax).toBe(0);
    cc.onRetransmitTimeout(10 * MSS, 1000);
    expect(cc.ssthresh).toBe(70 * MSS);
  });

  it("after a timeout, the first avoidance stage starts with K = 0 and W_max = its first cwnd (§4.8)", () => {
    // an earlier loss left W_max = 100 segments; the timeout forgets it
    const cc = afterLoss(100);
    expect(cc.wMax).toBe(100 * MSS);
    cc.onRetransmitTimeout(60 * MSS, 0);
    expect(cc.ssthresh).toBe(42 * MSS);
    let now = 0;
    while (cc.cwnd < cc.ssthresh) now = round(cc, now, 100);
    // the round that reached ssthresh began the avoidance stage at cwnd = 42 segments
    expect(cc.k).toBe(0);
    expect(cc.wMax).toBe(42 * MSS);
    const growth: number[] = [];
    for (let r = 0; r < 60; r++) {
      const before = cc.cwnd;
      now = round(cc, now, 100);
      growth.push(cc.cwnd - before);
    }
    // W_cubic(t) = 42 + C·t³ starts flat, so at first W_est leads: α_cubic per RTT
    for (const g of growth.slice(0, 10)) expect(Math.abs(g - CUBIC_ALPHA * MSS)).toBeLessThan(0.05 * MSS);
    // 6 s later the convex curve dominates: dW/dt = 3·C·t² ≈ 43 segments/s
    expect(growth[59]).toBeGreaterThan(3 * MSS);
    expect(segs(cc)).toBeCloseTo(42 + CUBIC_C * 6.1 ** 3, -1);
  });

  it("does not count an idle period in t (RFC 9438 §4.2)", () => {
    const busy = afterLoss(100);
    const idle = afterLoss(100);
    let now = 0;
    for (let r = 0; r < 10; r++) {
      round(busy, now, 100);
      now = round(idle, now, 100);
    }
    // `idle` goes quiet for 30 s, `busy` does not; each then sends a little
    // (one ACK with little in flight, no growth) before filling its window again
    idle.onAck(MSS, 100, 2 * MSS, now + 30_000);
    busy.onAck(MSS, 100, 2 * MSS, now);
    expect(idle.cwnd).toBe(busy.cwnd);
    round(busy, now, 100);
    round(idle, now + 30_000, 100);
    // had the 30 s counted, W_cubic(31 s) ≫ W_max and cwnd would jump 1.5×
    expect(idle.cwnd).toBe(busy.cwnd);
  });

  it("bounds target by 1.5·cwnd: at most 1.5× per RTT however far the curve is ahead (§4.2)", () => {
    // a timeout with little in flight: ssthresh = 2 segments, W_max = 2 segments, K = 0;
    // with a 1 s RTT W_cubic(t + RTT) runs far ahead of cwnd
    const cc = new Cubic({ mss: MSS });
    cc.onRetransmitTimeout(MSS, 0);
    let now = round(cc, 0, 1000); // slow start: 1 → 2 segments
    expect(cc.cwnd).toBe(cc.ssthresh);
    let fastest = 0;
    for (let r = 0; r < 15; r++) {
      const before = cc.cwnd;
      now = round(cc, now, 1000);
      fastest = Math.max(fastest, cc.cwnd / before);
    }
    expect(fastest).toBeGreaterThan(1.4);
    expect(fastest).toBeLessThanOrEqual(1.5);
  });
});

type Step =
  | { kind: "ack"; acked: number; rtt: number | null; inFlight: number; dt: number }
  | { kind: "enter"; inFlight: number; dt: number }
  | { kind: "partial"; acked: number; dt: number }
  | { kind: "exit"; inFlight: number; dt: number }
  | { kind: "rto"; inFlight: number; dt: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("ack" as const),
      acked: fc.integer({ min: 0, max: 64 * MSS }),
      rtt: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: null }),
      inFlight: fc.integer({ min: 0, max: 10_000 * MSS }),
      dt: fc.integer({ min: 0, max: 20_000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("enter" as const), inFlight: fc.integer({ min: 0, max: 10_000 * MSS }), dt: fc.nat(5000) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("partial" as const), acked: fc.nat(64 * MSS), dt: fc.nat(5000) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("exit" as const), inFlight: fc.integer({ min: 0, max: 10_000 * MSS }), dt: fc.nat(5000) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("rto" as const), inFlight: fc.integer({ min: 0, max: 10_000 * MSS }), dt: fc.nat(120_000) }),
  },
);

/** Runs `steps` on a fresh controller, checking invariants; returns the (cwnd, ssthresh) trace. */
function run(name: CongestionName, steps: Step[], mss: number): number[] {
  const cc = createCongestionControl(name, { mss });
  const trace: number[] = [];
  let now = 0;
  for (const s of steps) {
    now += s.dt;
    const before = cc.cwnd;
    if (s.kind === "ack") cc.onAck(s.acked, s.rtt, s.inFlight, now);
    else if (s.kind === "enter") cc.onEnterRecovery(s.inFlight, now);
    else if (s.kind === "partial") cc.onPartialAck(s.acked);
    else if (s.kind === "exit") cc.onExitRecovery(s.inFlight, now);
    else cc.onRetransmitTimeout(s.inFlight, now);
    expect(Number.isInteger(cc.cwnd)).toBe(true);
    expect(Number.isInteger(cc.ssthresh)).toBe(true);
    expect(cc.cwnd).toBeGreaterThanOrEqual(mss);
    expect(cc.ssthresh).toBeGreaterThanOrEqual(2 * mss);
    expect(cc.ssthresh).toBeLessThanOrEqual(INFINITE_SSTHRESH);
    if (s.kind === "ack" || s.kind === "partial") expect(cc.cwnd).toBeGreaterThanOrEqual(before);
    if (cc instanceof Cubic) {
      expect(Number.isFinite(cc.wMax) && cc.wMax >= 0).toBe(true);
      expect(Number.isFinite(cc.k) && cc.k >= 0).toBe(true);
    }
    trace.push(cc.cwnd, cc.ssthresh);
  }
  return trace;
}

describe.each(NAMES)("%s under arbitrary event sequences", (name) => {
  it("keeps cwnd ≥ 1 SMSS, ssthresh ≥ 2·SMSS, integers, never NaN; ACKs never shrink cwnd", () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 200 }), fc.integer({ min: 1, max: 9000 }), (steps, mss) => {
        run(name, steps, mss);
      }),
      { numRuns: 300 },
    );
  });

  it("is deterministic: the same events give the same windows", () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 200 }), (steps) => {
        expect(run(name, steps, MSS)).toEqual(run(name, steps, MSS));
      }),
      { numRuns: 100 },
    );
  });
});
