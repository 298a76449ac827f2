/**
 * The Internet checksum (RFC 1071): the 16-bit one's complement of the one's
 * complement sum of the data taken as big-endian 16-bit words, an odd last
 * byte padded with a zero byte. Also the pseudo-header sums that TCP, UDP and
 * ICMPv6 add in (RFC 768, RFC 9293 §3.1, RFC 8200 §8.1) and the incremental
 * update of RFC 1624.
 *
 * Sums here are "partial": one's complement sums folded to 16 bits but not
 * complemented, so they can be added together (RFC 1071 §2(A)).
 * {@link finishChecksum} turns one into the value to store in a header.
 */
import { get16 } from "./bytes.js";

/** Whether this machine stores a Uint32Array element little-endian. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Below this length, byte math beats setting up a 32-bit view. */
const SMALL = 128;
/** 32-bit words added before folding: keeps a double accumulator exact (< 2^53). */
const CHUNK_WORDS = 1 << 20;

/**
 * Folds a non-negative sum (at most 2^53) into 16 bits with end-around
 * carry. A non-zero sum folds to a non-zero result, so a one's complement
 * "negative zero" stays 0xffff.
 */
export function fold(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = s > 0xffffffff ? (s % 0x10000) + Math.floor(s / 0x10000) : (s & 0xffff) + (s >>> 16);
  return s;
}

/** The value to store in a checksum field for a partial sum: its complement. */
export function finishChecksum(sum: number): number {
  return ~fold(sum) & 0xffff;
}

/**
 * The one's complement sum of `bytes` (RFC 1071 §4.1) plus `initial` (another
 * partial sum), folded to 16 bits. Data verifies when the sum over it,
 * checksum field included, is 0xffff.
 *
 * Fast path: byte order independence, parallel summation and deferred carries
 * (RFC 1071 §2(B-D)) let aligned data be added as 32-bit words from a
 * Uint32Array (8 per loop turn, two accumulators, carries kept in a double
 * and folded once), then byte-swapped back when its lanes were read in the
 * other byte order. The Uint32Array is a view of the whole underlying
 * ArrayBuffer, kept for the next sums over the same buffer (a stack sums
 * packets in a few buffers over and over).
 *
 * `length` sums only `bytes[0..length)` (like `bytes.subarray(0, length)`:
 * default and at most all of `bytes`).
 */
export function onesSum(bytes: Uint8Array, initial = 0, length = bytes.length): number {
  const n = Math.min(length, bytes.length);
  if (n < SMALL) return fold(smallSum(bytes, n, initial));
  const off = bytes.byteOffset;
  // Bytes before the first 4-aligned address; relative index parity says
  // whether a byte is the high (even) or low (odd) half of its word.
  const head = (4 - (off & 3)) & 3;
  let s = initial;
  for (let i = 0; i < head; i++) s += i & 1 ? bytes[i] : bytes[i] << 8;
  const words = (n - head) >>> 2;
  const first = (off + head) >>> 2;
  let u32 = wordsOf(bytes.buffer);
  let w = first;
  if (first + words > u32.length) {
    // a buffer that grew after its view was made
    u32 = new Uint32Array(bytes.buffer, off + head, words);
    w = 0;
  }
  const stop = w + words;
  let lanes = 0;
  while (w < stop) {
    const end = Math.min(stop, w + CHUNK_WORDS);
    const end8 = w + ((end - w) & ~7);
    let a = 0;
    let b = 0;
    for (; w < end8; w += 8) {
      a += u32[w] + u32[w + 1] + u32[w + 2] + u32[w + 3];
      b += u32[w + 4] + u32[w + 5] + u32[w + 6] + u32[w + 7];
    }
    for (; w < end; w++) a += u32[w];
    lanes = fold(lanes + a + b);
  }
  // Lanes are in data order when a little-endian load starts on an odd index
  // (or a big-endian one on an even index); otherwise swap the folded bytes.
  if (((head & 1) === 1) !== LITTLE_ENDIAN) lanes = ((lanes & 0xff) << 8) | (lanes >>> 8);
  s += lanes;
  for (let i = head + words * 4; i < n; i++) s += i & 1 ? bytes[i] : bytes[i] << 8;
  return fold(s);
}

/** Word views of the last few buffers summed, replaced round-robin. */
const VIEWS = 4;
const viewBuffers: (ArrayBufferLike | null)[] = new Array<ArrayBufferLike | null>(VIEWS).fill(null);
const views: Uint32Array[] = Array.from({ length: VIEWS }, () => new Uint32Array(0));
let nextView = 0;

/** A Uint32Array over all of `buffer` (its whole 4-byte words), made once per buffer while it stays among the last few. */
function wordsOf(buffer: ArrayBufferLike): Uint32Array {
  for (let i = 0; i < VIEWS; i++) if (viewBuffers[i] === buffer) return views[i]!;
  const v = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
  viewBuffers[nextView] = buffer;
  views[nextView] = v;
  nextView = (nextView + 1) % VIEWS;
  return v;
}

/** The Internet checksum of `bytes`: the value for a zeroed checksum field. */
export function internetChecksum(bytes: Uint8Array): number {
  return finishChecksum(onesSum(bytes));
}

/**
 * The partial sum of an upper-layer pseudo-header. With 4-byte addresses, the
 * IPv4 form (RFC 768, RFC 9293 §3.1): source, destination, zero, protocol,
 * 16-bit length. With 16-byte addresses, the IPv6 form (RFC 8200 §8.1):
 * source, destination, 32-bit upper-layer length, three zero bytes, next
 * header. `length` is the upper-layer length in bytes.
 */
export function pseudoHeaderSum(src: Uint8Array, dst: Uint8Array, protocol: number, length: number): number {
  let s = (protocol & 0xff) + (length & 0xffff) + (length >>> 16);
  for (let i = 0; i + 1 < src.length; i += 2) s += get16(src, i);
  for (let i = 0; i + 1 < dst.length; i += 2) s += get16(dst, i);
  return fold(s);
}

/**
 * The new checksum after a 16-bit word of the covered data changes from
 * `oldWord` to `newWord` (RFC 1624 §3, eqn. 3: HC' = ~(~HC + ~m + m')).
 */
export function updateChecksum(checksum: number, oldWord: number, newWord: number): number {
  return ~fold((~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff)) & 0xffff;
}

/** {@link updateChecksum} for a 32-bit field (a sequence number, an IPv4 address). */
export function updateChecksum32(checksum: number, oldValue: number, newValue: number): number {
  return updateChecksum(updateChecksum(checksum, oldValue >>> 16, newValue >>> 16), oldValue & 0xffff, newValue & 0xffff);
}

/** Byte-math sum of `b[0..n)` plus `s`, unfolded; 8 bytes per turn. */
function smallSum(b: Uint8Array, n: number, s: number): number {
  const end8 = n & ~7;
  let i = 0;
  for (; i < end8; i += 8) {
    s += ((b[i] << 8) | b[i + 1]) + ((b[i + 2] << 8) | b[i + 3]) + ((b[i + 4] << 8) | b[i + 5]) + ((b[i + 6] << 8) | b[i + 7]);
  }
  for (; i + 1 < n; i += 2) s += (b[i] << 8) | b[i + 1];
  if (i < n) s += b[i] << 8;
  return s;
}
