/**
 * The argument checks every socket shares, kernel-backed or virtual: buffers,
 * shutdown halves, linger times, TTLs. Pure: no descriptor, no Node module.
 */
import { C } from "../native.js";

/** Throws `TypeError` unless `buf` is a Uint8Array (a Buffer is one). */
export function checkBuf(buf: unknown, what = "buffer"): asserts buf is Uint8Array {
  if (!(buf instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
}

/** Throws `TypeError` unless `bufs` is an array of Uint8Array. */
export function checkBufs(bufs: unknown): asserts bufs is Uint8Array[] {
  if (!Array.isArray(bufs) || !bufs.every((b) => b instanceof Uint8Array)) {
    throw new TypeError("buffers must be an array of Uint8Array");
  }
}

/** `"read" | "write" | "both"` to SHUT_*. */
export function shutdownHow(how: "read" | "write" | "both"): number {
  switch (how) {
    case "read":
      return C.SHUT_RD;
    case "write":
      return C.SHUT_WR;
    case "both":
      return C.SHUT_RDWR;
    default:
      throw new TypeError(`shutdown expects "read", "write" or "both", got ${String(how)}`);
  }
}

/** Throws `TypeError` unless `seconds` is null or an SO_LINGER time (an integer in 0..2^31-1). */
export function checkLinger(seconds: number | null): void {
  if (seconds !== null && (!Number.isInteger(seconds) || seconds < 0 || seconds > 0x7fffffff)) {
    throw new TypeError(`linger must be null or a whole number of seconds >= 0, got ${String(seconds)}`);
  }
}

/** Throws `TypeError` unless `n` is a TTL / hop limit in 1..255. */
export function checkTtl(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 255) throw new TypeError(`ttl must be an integer in 1..255, got ${String(n)}`);
}
