/**
 * SYN cookies (RFC 4987 §3.6): the ISN made for a SYN gives back its MSS
 * index when the ACK returns it within the lifetime, and nothing for a
 * damaged, forged, expired or misdirected cookie; the SYN's window scale and
 * SACK-permitted survive in the low bits of our TSval.
 */
import { describe, expect, it } from "vitest";
import { Random } from "../../../src/random.js";
import {
  COOKIE_MAX_AGE,
  COOKIE_TICK_MS,
  SynCookies,
  cookieMss,
  decodeTsOptions,
  encodeTsOptions,
  type FourTuple,
} from "../../../src/stack/tcp/syn-cookie.js";
import { ip } from "../helpers.js";

const V4: FourTuple = { local: ip("10.0.0.2"), localPort: 80, remote: ip("10.0.0.1"), remotePort: 40_000 };
const V6: FourTuple = { local: ip("fd00::2"), localPort: 443, remote: ip("fd00::1"), remotePort: 50_000 };
const START = 1_000_000_000; // virtual ms, well into the counter

describe("SYN cookies", () => {
  it("round trip: the cookie checks and gives back the MSS of the table entry for the SYN's MSS", () => {
    const rnd = new Random(5, "cookie-test");
    const cookies = new SynCookies(new Random(1));
    const cases: Array<[FourTuple, number, number]> = [
      [V4, -1, 536],
      [V4, 536, 536],
      [V4, 1000, 536],
      [V4, 1300, 1300],
      [V4, 1459, 1440],
      [V4, 1460, 1460],
      [V4, 8960, 1460],
      [V6, -1, 1220],
      [V6, 1220, 1220],
      [V6, 1439, 1400],
      [V6, 1440, 1440],
      [V6, 65475, 1440],
    ];
    for (const [t, peerMss, want] of cases) {
      expect(cookieMss(t.local.length === 4 ? 4 : 6, peerMss)).toBe(want);
      for (let i = 0; i < 200; i++) {
        const peerIsn = rnd.u32();
        const now = START + rnd.int(10_000_000);
        const cookie = cookies.make(t, peerIsn, peerMss, now);
        expect(cookie).toBeGreaterThanOrEqual(0);
        expect(cookie).toBeLessThan(2 ** 32);
        expect(cookies.check(t, peerIsn, cookie, now), `mss ${peerMss} isn ${peerIsn} at ${now}`).toBe(want);
      }
    }
  });

  it("the same seed makes the same cookies; another seed other ones", () => {
    const a = new SynCookies(new Random(7));
    const b = new SynCookies(new Random(7));
    const c = new SynCookies(new Random(8));
    expect(a.make(V4, 12345, 1460, START)).toBe(b.make(V4, 12345, 1460, START));
    expect(a.tsOffset(V6)).toBe(b.tsOffset(V6));
    expect(a.make(V4, 12345, 1460, START)).not.toBe(c.make(V4, 12345, 1460, START));
    // a cookie of one stack means nothing to another
    expect(c.check(V4, 12345, a.make(V4, 12345, 1460, START), START)).toBe(-1);
  });

  it(`stays valid for ${COOKIE_MAX_AGE} counter ticks after the one it was made in, then expires`, () => {
    const cookies = new SynCookies(new Random(2));
    for (const made of [START, START + COOKIE_TICK_MS - 1, 0, 255 * COOKIE_TICK_MS + 17]) {
      const cookie = cookies.make(V4, 777, 1460, made);
      const tickStart = Math.floor(made / COOKIE_TICK_MS) * COOKIE_TICK_MS;
      const lastValid = tickStart + (COOKIE_MAX_AGE + 1) * COOKIE_TICK_MS - 1;
      expect(cookies.check(V4, 777, cookie, made)).toBe(1460);
      expect(cookies.check(V4, 777, cookie, lastValid), `made at ${made}`).toBe(1460);
      expect(cookies.check(V4, 777, cookie, lastValid + 1), `made at ${made}`).toBe(-1);
      expect(cookies.check(V4, 777, cookie, lastValid + 100 * COOKIE_TICK_MS)).toBe(-1);
      // the counter wraps every 256 ticks: still expired there
      expect(cookies.check(V4, 777, cookie, made + 256 * COOKIE_TICK_MS + (COOKIE_MAX_AGE + 1) * COOKIE_TICK_MS)).toBe(-1);
      // a cookie from the future (clock going back) is no good either
      if (made >= COOKIE_TICK_MS) expect(cookies.check(V4, 777, cookie, made - COOKIE_TICK_MS)).toBe(-1);
    }
  });

  it("rejects a tampered cookie: any changed bit, another peer ISN, another 4-tuple", () => {
    const cookies = new SynCookies(new Random(3));
    const rnd = new Random(9, "tamper");
    let accepted = 0;
    let tried = 0;
    for (let i = 0; i < 100; i++) {
      const peerIsn = rnd.u32();
      const cookie = cookies.make(V4, peerIsn, 1460, START);
      for (let bit = 0; bit < 32; bit++) {
        tried++;
        if (cookies.check(V4, peerIsn, (cookie ^ (1 << bit)) >>> 0, START) >= 0) accepted++;
      }
      tried += 4;
      if (cookies.check(V4, (peerIsn + 1) >>> 0, cookie, START) >= 0) accepted++;
      if (cookies.check({ ...V4, remotePort: V4.remotePort + 1 }, peerIsn, cookie, START) >= 0) accepted++;
      if (cookies.check({ ...V4, localPort: 81 }, peerIsn, cookie, START) >= 0) accepted++;
      if (cookies.check({ ...V4, remote: ip("10.0.0.3") }, peerIsn, cookie, START) >= 0) accepted++;
    }
    // a forged cookie passes with probability about (table size × lifetime) / 2^24: none in 3600 tries
    expect(accepted, `${accepted} of ${tried} tampered cookies accepted`).toBe(0);
    // random guesses fail too
    let guessed = 0;
    for (let i = 0; i < 100_000; i++) if (cookies.check(V6, rnd.u32(), rnd.u32(), START) >= 0) guessed++;
    expect(guessed).toBeLessThan(3);
  });

  it("differs for every 4-tuple, and for every peer ISN", () => {
    const cookies = new SynCookies(new Random(4));
    const seen = new Set<number>();
    let n = 0;
    for (let host = 1; host < 20; host++) {
      for (let port = 40_000; port < 40_050; port++) {
        seen.add(cookies.make({ ...V4, remote: ip(`10.0.1.${host}`), remotePort: port }, 1000, 1460, START));
        n++;
      }
    }
    for (let lp = 1; lp < 50; lp++) {
      seen.add(cookies.make({ ...V6, localPort: lp }, 1000, 1460, START));
      n++;
    }
    expect(seen.size).toBe(n);
    // the same tuple and ISN at once gives the same cookie (a retransmitted SYN gets the same SYN-ACK)
    expect(cookies.make(V4, 5, 1460, START)).toBe(cookies.make(V4, 5, 1460, START + 10));
    expect(cookies.make(V4, 5, 1460, START)).not.toBe(cookies.make(V4, 6, 1460, START));
    // the timestamp offsets of different tuples differ too
    expect(cookies.tsOffset(V4)).not.toBe(cookies.tsOffset({ ...V4, remotePort: V4.remotePort + 1 }));
  });

  it("window scale and SACK-permitted round-trip through the low bits of TSval, which never runs ahead of the clock", () => {
    const rnd = new Random(11, "ts");
    for (const windowScale of [-1, 0, 1, 7, 14]) {
      for (const sackPermitted of [false, true]) {
        for (let i = 0; i < 50; i++) {
          const now = i < 3 ? [0, 31, 0xffffffff][i]! : rnd.u32();
          const ts = encodeTsOptions(now, { windowScale, sackPermitted });
          expect(decodeTsOptions(ts)).toEqual({ windowScale, sackPermitted });
          const behind = (now - ts) >>> 0;
          expect(behind, `now ${now} ts ${ts}`).toBeLessThan(32);
        }
      }
    }
    // a shift above 14 is sent as 14 (RFC 7323 §2.3)
    expect(decodeTsOptions(encodeTsOptions(1000, { windowScale: 15, sackPermitted: false })).windowScale).toBe(14);
  });
});
