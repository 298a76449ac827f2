/**
 * The latency client of bench/relay.ts, run inside a network namespace:
 * one TCP connection (Nagle off) to `HOST:PORT`, an echo server, then
 * `WARMUP` untimed and `COUNT` timed request/response round trips of `SIZE`
 * bytes, one at a time. Round trip i sends SIZE bytes of value i & 0xff and
 * waits for SIZE bytes back, every one of which must have that value. Each
 * round trip is timed from just before the write to the arrival of its last
 * byte (process.hrtime). Prints one JSON line: `{ "n", "medianUs", "p99Us",
 * "meanUs", "minUs", "maxUs" }`.
 *
 *   node bench/relay-rr.mjs HOST PORT COUNT WARMUP SIZE
 *
 * Exits non-zero on a wrong byte, an early end of stream, or after 60 s.
 */
import { connect } from "node:net";

const [host, portText, countText, warmupText, sizeText] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const warmup = Number(warmupText);
const size = Number(sizeText);
if (host === undefined || !(port > 0) || !(count > 0) || !(warmup >= 0) || !(size > 0)) {
  throw new Error("usage: node bench/relay-rr.mjs HOST PORT COUNT WARMUP SIZE");
}
setTimeout(() => {
  process.stderr.write("relay-rr: no result within 60 s\n");
  process.exit(1);
}, 60_000).unref();

const sock = connect({ host, port, noDelay: true });
await new Promise((resolve, reject) => {
  sock.once("connect", resolve);
  sock.once("error", reject);
});

/** Bytes of the current response still expected, its value, and who waits for its end. */
let expected = 0;
let value = 0;
let done = () => {};
let failure = null;
sock.on("data", (chunk) => {
  for (const b of chunk) {
    if (expected === 0 || b !== value) {
      failure = new Error(`unexpected byte ${b} (expected ${expected === 0 ? "nothing" : value})`);
      sock.destroy();
      done();
      return;
    }
    expected--;
  }
  if (expected === 0) done();
});
sock.on("error", (e) => {
  failure = e;
  done();
});
sock.on("end", () => {
  failure ??= new Error("end of stream from the echo server");
  done();
});

/** One round trip of value `i & 0xff`; its duration in µs. */
async function roundTrip(i) {
  value = i & 0xff;
  expected = size;
  const msg = Buffer.alloc(size, value);
  const wait = new Promise((resolve) => (done = resolve));
  const t0 = process.hrtime.bigint();
  sock.write(msg);
  await wait;
  const t1 = process.hrtime.bigint();
  if (failure !== null) throw failure;
  return Number(t1 - t0) / 1000;
}

for (let i = 0; i < warmup; i++) await roundTrip(i);
const us = [];
for (let i = 0; i < count; i++) us.push(await roundTrip(warmup + i));
sock.end();
us.sort((a, b) => a - b);
const at = (q) => us[Math.min(us.length - 1, Math.floor(q * us.length))];
const mean = us.reduce((a, b) => a + b, 0) / us.length;
process.stdout.write(
  `${JSON.stringify({ n: us.length, medianUs: at(0.5), p99Us: at(0.99), meanUs: mean, minUs: us[0], maxUs: us[us.length - 1] })}\n`,
);
