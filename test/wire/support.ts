/**
 * Shared helpers for the wire suites: a naive checksum to compare against,
 * address literals, and fast-check arbitraries for addresses and payloads.
 */
import fc from "fast-check";
import { parseIp } from "../../src/net/socket-addr.js";

/** The RFC 1071 sum the slow, obvious way: big-endian byte pairs, then fold. */
export function naiveSum(b: Uint8Array, initial = 0): number {
  let s = initial;
  for (let i = 0; i < b.length; i += 2) s += (b[i] << 8) | (i + 1 < b.length ? b[i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** The bytes of an address literal (`"10.0.0.1"`, `"fd00::1"`). */
export function ip(s: string): Uint8Array {
  const b = parseIp(s);
  if (!b) throw new Error(`bad address literal ${s}`);
  return b;
}

/** Bytes from hex. */
export function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
}

/** Whether two byte arrays hold the same bytes (cheaper than a deep equal in hot properties). */
export function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

/** A copy of `b` (so a test can mutate it). */
export function copy(b: Uint8Array): Uint8Array {
  return Uint8Array.from(b);
}

export const addr4 = fc.uint8Array({ minLength: 4, maxLength: 4 });
export const addr6 = fc.uint8Array({ minLength: 16, maxLength: 16 });
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u32 = fc.integer({ min: 0, max: 0xffffffff });

/** A payload of up to `max` bytes. */
export function payload(max: number): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ maxLength: max });
}

/**
 * Byte-level damage to a packet: overwrite, flip, truncate, or extend; applied
 * to a copy. Used by the "never throws" properties.
 */
export const mutation = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("extend" as const), extra: fc.uint8Array({ maxLength: 16 }) }),
);
export type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

/** `b` with the mutations applied, in order. */
export function mutate(b: Uint8Array, ms: readonly Mutation[]): Uint8Array {
  let out = copy(b);
  for (const m of ms) {
    if (m.kind === "extend") {
      const e = new Uint8Array(out.length + m.extra.length);
      e.set(out);
      e.set(m.extra, out.length);
      out = e;
    } else if (out.length > 0) {
      const at = m.at % (m.kind === "truncate" ? out.length + 1 : out.length);
      if (m.kind === "set") out[at] = m.value;
      else if (m.kind === "flip") out[at] ^= 1 << m.bit;
      else out = out.slice(0, at);
    }
  }
  return out;
}
