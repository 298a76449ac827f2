/**
 * Does a poll's cost depend on how many sources are registered, or only on how
 * many are ready? (epoll: only on the ready ones; that is what makes mio scale.)
 *
 * Poll A has 10,000 idle registered descriptors (5,000 Unix socketpairs, both
 * ends registered) of which 10 are made ready before every poll; poll B has
 * just those 10 registered. Each iteration writes one byte to the 10 peers
 * (a new edge each), times `poll(events, 0)` alone, checks it returned the 10
 * events, and reads the bytes back. Reports the mean time per poll of each
 * and the ratio A/B (target: at most 2x).
 *
 * Usage: node --import ./scripts/ts-loader.mjs bench/poll-scale.ts [--iterations N] [--descriptors D]
 * Socketpairs come straight from the native addon, so this needs no Unix
 * socket API. D (default 10,000) must fit under the open-file limit (`ulimit -n`).
 */
import { readFileSync } from "node:fs";
import { sys, C } from "../src/native.js";
import { check } from "../src/error.js";
import { Events, Interest, Poll, Token, type Source } from "../src/index.js";
import { selectorOf, type Registry } from "../src/poll/registry.js";

const READY = 10;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isSafeInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
}

/** The soft limit on open descriptors (RLIMIT_NOFILE), from /proc/self/limits. */
function openFileLimit(): number {
  const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"));
  const soft = line?.split(/\s{2,}/)[1];
  return soft === undefined || soft === "unlimited" ? Infinity : Number(soft);
}

/** A bare descriptor as a Source (the bench owns and closes it). */
class Fd implements Source {
  constructor(readonly fd: number) {}
  register(registry: Registry, token: Token, interest: Interest): void {
    selectorOf(registry).registerFd(this.fd, token, interest);
  }
  reregister(registry: Registry, token: Token, interest: Interest): void {
    selectorOf(registry).reregisterFd(this.fd, token, interest);
  }
  deregister(registry: Registry): void {
    selectorOf(registry).deregisterFd(this.fd);
  }
}

const iterations = arg("iterations", 100_000);
const wanted = arg("descriptors", 10_000);
const limit = openFileLimit();
const headroom = 64; // stdio, node's own descriptors, the epoll fds
const descriptors = Math.min(wanted, Math.floor((limit - headroom) / 2) * 2);
if (descriptors < wanted) {
  console.log(`open-file limit ${limit} allows only ${descriptors} of the ${wanted} descriptors asked for`);
}
if (descriptors < READY * 2) throw new Error("too few descriptors allowed to run");

// ends[2i] is registered in the polls, ends[2i + 1] is its peer we write to.
const ends: Fd[] = [];
const pair = new Int32Array(2);
for (let i = 0; i < descriptors / 2; i++) {
  check(sys.socketpair(C.AF_UNIX, C.SOCK_STREAM, pair), "socketpair");
  ends.push(new Fd(pair[0]!), new Fd(pair[1]!));
}

/** The 10 active pairs, spread over the whole set. */
const active = Array.from({ length: READY }, (_, k) => Math.floor((k * descriptors) / 2 / READY));

const one = new Uint8Array([1]);
const sink = new Uint8Array(16);
const events = new Events(256);

/** Mean ns per poll over `iterations`, with the 10 active pairs made ready before each. */
function measure(poll: Poll, n: number): number {
  let total = 0;
  for (let it = 0; it < n; it++) {
    for (const p of active) check(sys.write(ends[2 * p + 1]!.fd, one), "write");
    const t0 = performance.now();
    poll.poll(events, 0);
    total += performance.now() - t0;
    if (events.length !== READY) throw new Error(`expected ${READY} events, got ${events.length}`);
    for (const p of active) check(sys.read(ends[2 * p]!.fd, sink), "read");
  }
  return (total / n) * 1e6;
}

const big = new Poll();
const small = new Poll();
try {
  const r0 = performance.now();
  // Every descriptor in the big poll, both ends of every pair: `descriptors` registrations.
  for (let i = 0; i < ends.length; i++) big.registry().register(ends[i]!, Token(i), Interest.READABLE);
  const registerMs = performance.now() - r0;
  for (const p of active) small.registry().register(ends[2 * p]!, Token(2 * p), Interest.READABLE);

  measure(big, 10_000); // warm up the JIT on both paths
  measure(small, 10_000);
  // Alternate in slices so drift and other load hit both alike.
  const slices = 10;
  let bigNs = 0;
  let smallNs = 0;
  for (let s = 0; s < slices; s++) {
    bigNs += measure(big, iterations / slices) / slices;
    smallNs += measure(small, iterations / slices) / slices;
  }
  console.log(`poll-scale: ${iterations} polls each, ${READY} ready per poll, node ${process.version}`);
  console.log(`  registering ${descriptors} descriptors: ${registerMs.toFixed(1)} ms (${((registerMs * 1e6) / descriptors).toFixed(0)} ns each)`);
  console.log(`  ${String(descriptors).padStart(5)} registered: ${bigNs.toFixed(0)} ns per poll`);
  console.log(`  ${String(READY).padStart(5)} registered: ${smallNs.toFixed(0)} ns per poll`);
  console.log(`  ratio ${descriptors}/${READY}: ${(bigNs / smallNs).toFixed(2)}x (target <= 2x)`);
} finally {
  big.close();
  small.close();
  for (const e of ends) sys.close(e.fd);
}
