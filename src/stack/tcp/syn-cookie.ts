/**
 * SYN cookies (RFC 4987 §3.6): when a listener's SYN queue is full, the
 * SYN-ACK carries the whole half-open state in our initial sequence number,
 * and the ACK that completes the handshake gives it back, so a SYN flood
 * cannot fill memory nor lock out legitimate clients.
 *
 * The ISN is `H1(4-tuple) + peer ISN + (counter << 24) + low`, where
 * `counter` ticks once a minute and a cookie stays valid for
 * {@link COOKIE_MAX_AGE} ticks after its own, and the 24 bits of `low` are
 * the MSS index in the two lowest bits and 22 bits of `H2(4-tuple, counter,
 * MSS index)` above them, so changing any bit (the MSS index included)
 * makes the cookie invalid. The MSS index picks the largest entry of a small
 * per-family table not above the peer's MSS.
 * H1 and H2 are keyed hashes whose keys come from the stack's seeded Random,
 * so simulations stay reproducible. Only SYNs with timestamps keep window
 * scaling and SACK-permitted: they travel in the low bits of our TSval and
 * come back in the peer's TSecr; without timestamps they are lost.
 */
import type { Random } from "../../random.js";
import { seqGt } from "./seq.js";

/** Milliseconds per tick of the cookie counter (Linux: one minute). */
export const COOKIE_TICK_MS = 60_000;
/** Ticks a cookie stays valid after the one it was made in. */
export const COOKIE_MAX_AGE = 2;

/** The MSS values a cookie can carry (common paths: minimum, tunnels, Ethernet); at most 4. */
const MSS_TABLE: Record<4 | 6, readonly number[]> = {
  4: [536, 1300, 1440, 1460],
  6: [1220, 1400, 1440],
};

/** Low TSval bits: the window scale shift (15: none) and SACK-permitted. */
const TS_WSCALE_MASK = 0x0f;
const TS_NO_WSCALE = 0x0f;
const TS_SACK = 0x10;
const TS_BITS = 0x1f;
/** The cookie bits holding the MSS index; the other 22 of the low 24 authenticate it. */
const MSS_BITS = 0x3;
const MAC_BITS = 0xffffff & ~MSS_BITS;

/** The SYN options a cookie's TSval carries. */
export interface CookieTsOptions {
  /** the peer's window scale shift, or -1 when it sent none */
  windowScale: number;
  sackPermitted: boolean;
}

/** Identifies a connection: our address and port, the peer's. */
export interface FourTuple {
  local: Uint8Array;
  localPort: number;
  remote: Uint8Array;
  remotePort: number;
}

export class SynCookies {
  private readonly key: number[];

  constructor(random: Random) {
    this.key = [random.u32(), random.u32(), random.u32(), random.u32(), random.u32()];
  }

  /** Our ISN for a SYN with sequence number `peerIsn` and MSS option `peerMss` (-1: absent), at `nowMs`. */
  make(t: FourTuple, peerIsn: number, peerMss: number, nowMs: number): number {
    const counter = tick(nowMs);
    const index = mssIndex(familyOf(t), peerMss);
    const low = (this.mac(t, counter, index) & MAC_BITS) | index;
    return (this.hash(t, 0, 0) + peerIsn + ((counter & 0xff) << 24) + low) >>> 0;
  }

  /**
   * Checks `cookie` (the ACK's acknowledgment number minus one) against the
   * peer's ISN (its sequence number minus one) at `nowMs`. Returns the MSS
   * the cookie carried, or -1 when it is forged, damaged or too old.
   */
  check(t: FourTuple, peerIsn: number, cookie: number, nowMs: number): number {
    const v = (cookie - this.hash(t, 0, 0) - peerIsn) >>> 0;
    const counter = tick(nowMs);
    const age = (counter - (v >>> 24)) & 0xff;
    if (age > COOKIE_MAX_AGE) return -1;
    const index = v & MSS_BITS;
    const table = MSS_TABLE[familyOf(t)];
    if (index >= table.length || (v & MAC_BITS) !== (this.mac(t, counter - age, index) & MAC_BITS)) return -1;
    return table[index]!;
  }

  /**
   * The timestamp offset of a connection (our TSval is the clock in ms plus
   * this): a keyed hash of the 4-tuple, so the connection made when the
   * cookie comes back continues the TSval its SYN-ACK sent.
   */
  tsOffset(t: FourTuple): number {
    return this.hash(t, 2, 0);
  }

  /** H2: authenticates the counter and the MSS index for the 4-tuple. */
  private mac(t: FourTuple, counter: number, index: number): number {
    return this.hash(t, 1, ((counter << 2) | index) >>> 0);
  }

  /** A keyed hash of the 4-tuple, `which` selecting one of the independent functions. */
  private hash(t: FourTuple, which: number, extra: number): number {
    let h = this.key[which]! ^ 0x27d4eb2f;
    const mix = (v: number): void => {
      h = Math.imul(h ^ v, 0xcc9e2d51);
      h = (h << 15) | (h >>> 17);
      h = (Math.imul(h, 0x1b873593) + 0x6b43a9b5) | 0;
    };
    for (let i = 0; i < t.local.length; i += 4) mix(word(t.local, i));
    for (let i = 0; i < t.remote.length; i += 4) mix(word(t.remote, i));
    mix((t.localPort << 16) | t.remotePort);
    mix(extra);
    mix(this.key[3]!);
    mix(this.key[4]!);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    h = Math.imul(h, 0x297a2d39);
    h ^= h >>> 15;
    return h >>> 0;
  }
}

/** The MSS the table gives for `peerMss` (-1: the option was absent). */
export function cookieMss(family: 4 | 6, peerMss: number): number {
  return MSS_TABLE[family][mssIndex(family, peerMss)]!;
}

/**
 * Our TSval for a cookie SYN-ACK: `tsNow` with its low bits replaced by the
 * SYN's window scale and SACK-permitted, never ahead of `tsNow` (so later
 * TSvals of the connection do not go backwards).
 */
export function encodeTsOptions(tsNow: number, o: CookieTsOptions): number {
  const bits = (o.windowScale < 0 ? TS_NO_WSCALE : Math.min(o.windowScale, 14)) | (o.sackPermitted ? TS_SACK : 0);
  let v = ((tsNow & ~TS_BITS) | bits) >>> 0;
  if (seqGt(v, tsNow)) v = (v - (TS_BITS + 1)) >>> 0;
  return v;
}

/** The SYN options a cookie ACK's TSecr gives back ({@link encodeTsOptions}). */
export function decodeTsOptions(tsEcr: number): CookieTsOptions {
  const ws = tsEcr & TS_WSCALE_MASK;
  return { windowScale: ws === TS_NO_WSCALE ? -1 : Math.min(ws, 14), sackPermitted: (tsEcr & TS_SACK) !== 0 };
}

function tick(nowMs: number): number {
  return Math.floor(nowMs / COOKIE_TICK_MS) >>> 0;
}

function familyOf(t: FourTuple): 4 | 6 {
  return t.local.length === 4 ? 4 : 6;
}

/** Index of the largest table entry not above `peerMss` (the smallest when all are). */
function mssIndex(family: 4 | 6, peerMss: number): number {
  const table = MSS_TABLE[family];
  let i = table.length - 1;
  while (i > 0 && table[i]! > peerMss) i--;
  return i;
}

/** Four bytes of an address as a 32-bit word. */
function word(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) | 0;
}
