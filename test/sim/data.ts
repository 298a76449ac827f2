/** Test data for the Sim suites: seeded byte patterns and their hashes. */
import { createHash } from "node:crypto";

/** `n` bytes of a pattern that differs with `seed` and along the stream. */
export function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + seed * 17 + (i >> 9)) & 0xff;
  return b;
}

/** SHA-256 of `b`, hex. */
export const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
