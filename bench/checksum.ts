/**
 * Internet checksum throughput: `onesSum` (src/stack/wire/checksum.ts) against
 * a naive byte-pair loop, measured in the same run on 64 B, 1500 B and 64 KiB
 * buffers. Each size uses 16 distinct buffers (so nothing rides on one cached
 * buffer), half of them at odd byte offsets; both functions must agree on
 * every one. Reports the best of 5 rounds of about 0.2 s each, in GB/s (10^9
 * bytes per second), and the speed-up.
 *
 * Usage: node --import ./scripts/ts-loader.mjs bench/checksum.ts
 */
import { onesSum } from "../src/stack/wire/checksum.js";

const SIZES = [64, 1500, 65536];
const BUFFERS = 16;
const ROUNDS = 5;
const ROUND_BYTES = 400e6;

/** The obvious RFC 1071 sum: big-endian byte pairs, odd byte padded, folded at the end. */
function naiveSum(b: Uint8Array): number {
  let s = 0;
  const n = b.length;
  let i = 0;
  for (; i + 1 < n; i += 2) s += (b[i] << 8) | b[i + 1];
  if (i < n) s += b[i] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** Seconds for `iterations` sums with the fast path (its own loop, so its call site stays monomorphic). */
function timeFast(bufs: Uint8Array[], iterations: number): number {
  let acc = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) acc += onesSum(bufs[i & (BUFFERS - 1)]);
  const t = Number(process.hrtime.bigint() - t0) / 1e9;
  if (acc < 0) throw new Error("unreachable");
  return t;
}

/** Seconds for `iterations` sums with the naive loop. */
function timeNaive(bufs: Uint8Array[], iterations: number): number {
  let acc = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) acc += naiveSum(bufs[i & (BUFFERS - 1)]);
  const t = Number(process.hrtime.bigint() - t0) / 1e9;
  if (acc < 0) throw new Error("unreachable");
  return t;
}

/** Best throughput in GB/s over the rounds. */
function best(time: (bufs: Uint8Array[], n: number) => number, bufs: Uint8Array[], size: number): number {
  const iterations = Math.max(BUFFERS, Math.round(ROUND_BYTES / size));
  let fastest = Infinity;
  for (let r = 0; r < ROUNDS; r++) fastest = Math.min(fastest, time(bufs, iterations));
  return (size * iterations) / fastest / 1e9;
}

console.log(`node ${process.version}, ${process.arch}`);
console.log("size       onesSum GB/s   naive GB/s   speed-up");
for (const size of SIZES) {
  const bufs = Array.from({ length: BUFFERS }, (_, k) => {
    const outer = new Uint8Array(size + 8);
    for (let i = 0; i < outer.length; i++) outer[i] = (i * 131 + k * 7) & 0xff;
    return outer.subarray(k & 1, (k & 1) + size);
  });
  for (const b of bufs) if (onesSum(b) !== naiveSum(b)) throw new Error(`sums differ on a ${size}-byte buffer`);
  const fast = best(timeFast, bufs, size);
  const naive = best(timeNaive, bufs, size);
  const label = size % 1024 === 0 ? `${size / 1024} KiB` : `${size} B`;
  console.log(`${label.padEnd(10)} ${fast.toFixed(2).padStart(12)} ${naive.toFixed(2).padStart(12)} ${(fast / naive).toFixed(1).padStart(9)}x`);
}
