/**
 * Big-endian (network byte order) field access on a `Uint8Array`, by byte
 * math. Reads past the end give 0 bits (an out-of-range index reads
 * `undefined`, which shifts and ors as 0), so a view read before its `check()`
 * never throws.
 */

/** The byte at `i`, or 0 past the end (a bare index would give `undefined`). */
export function get8(b: Uint8Array, i: number): number {
  return b[i] | 0;
}

/** The 16-bit big-endian value at `i`. */
export function get16(b: Uint8Array, i: number): number {
  return (b[i] << 8) | b[i + 1];
}

/** The 32-bit big-endian value at `i`, as an unsigned number. */
export function get32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

/** Writes the low 16 bits of `v` big-endian at `i`. */
export function set16(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 8;
  b[i + 1] = v;
}

/** Writes the low 32 bits of `v` big-endian at `i`. */
export function set32(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 24;
  b[i + 1] = v >>> 16;
  b[i + 2] = v >>> 8;
  b[i + 3] = v;
}

/** Copies `n` bytes of `addr` into `b` at `i` (addresses are 4 or 16 bytes). */
export function setBytes(b: Uint8Array, i: number, addr: Uint8Array, n: number): void {
  if (addr.length !== n) throw new RangeError(`expected a ${n}-byte address, got ${addr.length} bytes`);
  b.set(addr, i);
}
