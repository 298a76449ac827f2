/**
 * The byte pattern the bulk benchmarks send and check: position-dependent,
 * with a prime period so that no segment or chunk size lines up with it;
 * any window of up to {@link MAX_SLICE} bytes is one subarray (no copy).
 */

/** The longest slice {@link patternAt} hands out. */
export const MAX_SLICE = 256 * 1024;
/** Pattern period: a prime. */
const PERIOD = 1_048_573;
/** PERIOD bytes of pattern followed by a MAX_SLICE-long copy of its start. */
const pattern = new Uint8Array(PERIOD + MAX_SLICE);
for (let i = 0; i < pattern.length; i++) {
  const j = i % PERIOD;
  pattern[i] = (Math.imul(j, 0x9e3779b1) >>> 24) ^ (j >>> 12);
}
const patternBuf = Buffer.from(pattern.buffer, pattern.byteOffset, pattern.byteLength);

/** The pattern bytes at stream offsets [at, at + n), n <= MAX_SLICE. */
export function patternAt(at: number, n: number): Uint8Array {
  const o = at % PERIOD;
  return pattern.subarray(o, o + n);
}

/** Throws unless `got[0..n)` equals the pattern at stream offset `at` (memcmp). */
export function checkBytes(got: Uint8Array, n: number, at: number): void {
  const o = at % PERIOD;
  const g = Buffer.from(got.buffer, got.byteOffset, n);
  if (g.compare(patternBuf, o, o + n) !== 0) {
    let i = 0;
    while (i < n && got[i] === pattern[o + i]) i++;
    throw new Error(`byte ${at + i} differs: got ${got[i]}, sent ${pattern[o + i]}`);
  }
}
