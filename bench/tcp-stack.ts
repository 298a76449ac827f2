/**
 * TCP between two userspace Stacks, beside the kernel's loopback TCP, in one
 * run:
 *
 * 1. Bulk throughput, one direction, over a fault-free Link without delay
 *    (virtual time: the wall clock measures only the stacks' work), at MTU
 *    1500 and 65520, and the same amount through tsmio's kernel sockets on
 *    127.0.0.1 (TcpListener/TcpStream with a Poll). Gbit/s = payload bytes
 *    read by the receiving application × 8 / wall seconds. One thread runs
 *    both ends in each case. Every byte read is compared with what was
 *    written (memcmp against the sender's pattern, inside the timed part).
 *    Each round runs every case once; the table gives medians over the
 *    rounds and, per round, the process's CPU use over wall time (below
 *    100 %: the machine was shared) and Gbit per CPU-second. `--offload`
 *    turns on the Link's checksum offload (`checksumsVerified`).
 * 2. Memory per idle connection: 10,000 established connections between two
 *    Stacks, heap before and after (after forced GCs), and the cost of one
 *    Poll.poll with them all idle.
 *
 *   node --import ./scripts/ts-loader.mjs bench/tcp-stack.ts [--mib 256] [--warmup-mib 32] [--conns 10000] [--only bulk|memory] [--mtu 1500] [--rounds 3] [--offload]
 *
 * The script re-executes itself with --expose-gc when started without it.
 */
import { spawnSync } from "node:child_process";
import { Events, Interest, Link, Poll, SimClock, Stack, TcpListener, TcpStream, Token, WOULD_BLOCK } from "../src/index.js";
import type { TcpStream as TcpStreamApi } from "../src/net/network.js";
import type { VirtualTcpStream } from "../src/stack/tcp/socket.js";
import { MAX_SLICE, checkBytes, patternAt } from "./pattern.js";

if (typeof globalThis.gc !== "function") {
  const r = spawnSync(process.execPath, ["--expose-gc", ...process.execArgv, ...process.argv.slice(1)], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}
const gc = globalThis.gc as () => void;

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const only = ((): string | null => {
  const i = process.argv.indexOf("--only");
  return i >= 0 ? process.argv[i + 1]! : null;
})();
const MIB = 1 << 20;
const TOTAL = arg("mib", 256) * MIB;
const WARMUP = arg("warmup-mib", 32) * MIB;
const CONNS = arg("conns", 10_000);
const ROUNDS = arg("rounds", 3);
/** Checksum offload on the Link (`checksumsVerified`): receivers take TCP/UDP checksums on trust. */
const OFFLOAD = process.argv.includes("--offload");
/** Wall-clock limit of one transfer, in case something stalls. */
const MAX_WALL_MS = 120_000;
const CHUNK = MAX_SLICE;

/** Targets (2 vCPUs): 3 Gbit/s with the large MTU, 1 Gbit/s with Ethernet's. */
const targetFor = (mtu: number): number => (mtu >= 65520 ? 3 : 1);
const TARGET_KIB_BEYOND = 4;

// ---- bulk transfer --------------------------------------------------------------

interface Bulk {
  poll: Poll;
  /** the virtual clock of a stack pair */
  clock?: SimClock;
  tx: TcpStreamApi;
  rx: TcpStreamApi;
  close(): void;
}

interface BulkResult {
  gbps: number;
  /** CPU time of the process over wall time, % (below ~100: the machine was shared) */
  cpu: number;
  /** payload bits per CPU second of the process (GC threads included), in Gbit */
  cpuGbps: number;
  wallMs: number;
  polls: number;
  virtualMs: number;
}

/**
 * Moves WARMUP + TOTAL bytes from `tx` to `rx`, timing the last TOTAL:
 * write until WOULD_BLOCK, read until WOULD_BLOCK, poll when neither moved.
 */
function transfer(b: Bulk): BulkResult {
  const { poll, tx, rx } = b;
  const clock = b.clock ?? null;
  const events = new Events(64);
  const reg = poll.registry();
  reg.register(tx, Token(1), Interest.WRITABLE);
  reg.register(rx, Token(2), Interest.READABLE);
  const end = WARMUP + TOTAL;
  const buf = new Uint8Array(CHUNK);
  let sent = 0;
  let got = 0;
  let polls = 0;
  let t0 = performance.now();
  let c0 = process.cpuUsage();
  let v0 = clock?.now() ?? 0;
  let timing = WARMUP === 0;
  let timedFrom = 0;
  const limit = performance.now() + MAX_WALL_MS;
  while (got < end) {
    let moved = false;
    while (sent < end) {
      const r = tx.write(patternAt(sent, Math.min(CHUNK, end - sent)));
      if (r === WOULD_BLOCK) break;
      sent += r;
      moved = true;
    }
    for (;;) {
      const r = rx.read(buf);
      if (r === WOULD_BLOCK) break;
      if (r === 0) throw new Error(`end of stream after ${got} bytes`);
      checkBytes(buf, r, got);
      got += r;
      moved = true;
      if (!timing && got >= WARMUP) {
        timing = true;
        timedFrom = got;
        polls = 0;
        t0 = performance.now();
        c0 = process.cpuUsage();
        v0 = clock?.now() ?? 0;
      }
    }
    if (!moved || sent === end) {
      poll.poll(events, 100);
      polls++;
      if (performance.now() > limit) throw new Error(`stalled: ${got} of ${end} bytes after ${MAX_WALL_MS} ms`);
    }
  }
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const bytes = got - timedFrom;
  const cpu = ((c.user + c.system) / 1000 / wallMs) * 100;
  const cpuGbps = (bytes * 8) / ((c.user + c.system) / 1e6) / 1e9;
  const res = { gbps: (bytes * 8) / (wallMs / 1000) / 1e9, cpu, cpuGbps, wallMs, polls, virtualMs: (clock?.now() ?? 0) - v0 };
  b.close();
  return res;
}

function stackBulk(mtu: number): Bulk {
  const clock = new SimClock();
  const poll = new Poll({ clock });
  const link = new Link({ mtu, checksumsVerified: OFFLOAD });
  const a = new Stack({ poll, device: link.a, addresses: ["10.0.0.1/24"] });
  const b = new Stack({ poll, device: link.b, addresses: ["10.0.0.2/24"] });
  const listener = b.tcpBind("10.0.0.2:5000");
  const tx = a.tcpConnect("10.0.0.2:5000");
  const events = new Events(8);
  let rx: VirtualTcpStream | null = null;
  for (let i = 0; i < 100 && rx === null; i++) {
    poll.poll(events, 10);
    const r = listener.accept();
    if (r !== WOULD_BLOCK) rx = r[0];
  }
  if (rx === null) throw new Error("no connection");
  const server = rx;
  return {
    poll,
    clock,
    tx,
    rx: server,
    close: () => {
      tx.close();
      server.close();
      listener.close();
      a.close();
      b.close();
      poll.close();
    },
  };
}

function kernelBulk(): Bulk {
  const poll = new Poll();
  const listener = TcpListener.bind("127.0.0.1:0");
  const tx = TcpStream.connect(listener.localAddr());
  let rx: TcpStreamApi | null = null;
  const limit = Date.now() + 5000;
  while (rx === null && Date.now() < limit) {
    const r = listener.accept();
    if (r !== WOULD_BLOCK) rx = r[0];
  }
  if (rx === null) throw new Error("no kernel connection");
  const server = rx;
  listener.close();
  return {
    poll,
    tx,
    rx: server,
    close: () => {
      tx.close();
      server.close();
      poll.close();
    },
  };
}

function bulk(): void {
  const mtus = process.argv.includes("--mtu") ? [arg("mtu", 1500)] : [1500, 65520];
  console.log(`Bulk TCP, one direction, ${TOTAL / MIB} MiB timed after ${WARMUP / MIB} MiB of warm-up, every byte checked; ${ROUNDS} rounds, medians`);
  console.log(
    `(stack->stack: two Stacks on a Link without delay or loss, virtual time, checksum offload ${OFFLOAD ? "on" : "off"}; kernel: 127.0.0.1, tsmio kernel sockets)`,
  );
  const runs = new Map<number, { v: BulkResult[]; k: BulkResult[] }>(mtus.map((m) => [m, { v: [], k: [] }]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const mtu of mtus) {
      const r = runs.get(mtu)!;
      r.v.push(transfer(stackBulk(mtu)));
      r.k.push(transfer(kernelBulk()));
    }
  }
  console.log("MTU     stack->stack  kernel loopback  ratio  target (stack)          stack per round: Gbit/s (CPU%, Gbit per CPU-second)");
  for (const mtu of mtus) {
    const { v, k } = runs.get(mtu)!;
    const vg = median(v.map((x) => x.gbps));
    const kg = median(k.map((x) => x.gbps));
    const target = targetFor(mtu);
    const rounds = v.map((x) => `${x.gbps.toFixed(2)} (${x.cpu.toFixed(0)}%, ${x.cpuGbps.toFixed(2)})`).join(" ");
    console.log(
      `${String(mtu).padEnd(6)} ${vg.toFixed(2).padStart(7)} Gbit/s ${kg.toFixed(2).padStart(9)} Gbit/s  ${(vg / kg).toFixed(2)}x  >= ${target} Gbit/s: ${vg >= target ? "met    " : "NOT met"}  ${rounds}`,
    );
  }
  const v0 = runs.get(mtus[0]!)!.v[0]!;
  console.log(`(one stack run: ${v0.wallMs.toFixed(0)} ms wall, ${v0.virtualMs.toFixed(1)} ms virtual, ${v0.polls} polls)`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// ---- idle connections -------------------------------------------------------------

interface HeapSample {
  heap: number;
  arrayBuffers: number;
}

function heapNow(): HeapSample {
  for (let i = 0; i < 4; i++) gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, arrayBuffers: m.arrayBuffers };
}

/** Bytes of ring-buffer storage a connection end holds (RingBuffer allocates on demand: 0 until data is written). */
function bufferBytes(s: VirtualTcpStream): number {
  return s.conn.sndBuf.allocated + s.conn.rcvBuf.allocated;
}

function idleMemory(): void {
  const clock = new SimClock();
  const poll = new Poll({ clock });
  const link = new Link({ mtu: 1500 });
  const a = new Stack({ poll, device: link.a, addresses: ["10.0.0.1/24"] });
  const b = new Stack({ poll, device: link.b, addresses: ["10.0.0.2/24"] });
  const listener = b.tcpBind("10.0.0.2:5000");
  const events = new Events(1024);
  const clients: VirtualTcpStream[] = [];
  const servers: VirtualTcpStream[] = [];
  // warm up the code paths (and their allocations) before the first sample
  {
    const c = a.tcpConnect("10.0.0.2:5000");
    for (let i = 0; i < 10; i++) poll.poll(events, 0);
    const r = listener.accept();
    if (r === WOULD_BLOCK) throw new Error("warm-up connection not accepted");
    r[0].close();
    c.close();
    const live = (): number => Object.keys(a.tcpStats()).length + Object.keys(b.tcpStats()).length;
    for (let i = 0; i < 1000 && live() > 0; i++) poll.poll(events, 1000);
    if (live() > 0) throw new Error("warm-up connection did not finish");
  }
  const before = heapNow();
  const BATCH = 200; // under the SYN queue (256)
  const t0 = performance.now();
  let setupPolls = 0;
  let pollMs = 0;
  let connectMs = 0;
  while (clients.length < CONNS) {
    const n = Math.min(BATCH, CONNS - clients.length);
    const batch: VirtualTcpStream[] = [];
    const c0 = performance.now();
    for (let i = 0; i < n; i++) batch.push(a.tcpConnect("10.0.0.2:5000"));
    connectMs += performance.now() - c0;
    let accepted = 0;
    for (let round = 0; accepted < n; round++) {
      if (round > 1000) throw new Error(`only ${accepted} of ${n} accepted`);
      const p0 = performance.now();
      poll.poll(events, 0);
      pollMs += performance.now() - p0;
      setupPolls++;
      for (let r = listener.accept(); r !== WOULD_BLOCK; r = listener.accept()) {
        servers.push(r[0]);
        accepted++;
      }
    }
    for (const c of batch) {
      if (c.conn.state !== "ESTABLISHED") throw new Error(`client in ${c.conn.state}`);
      clients.push(c);
    }
  }
  const setupMs = performance.now() - t0;
  const after = heapNow();
  const ends = clients.length + servers.length;
  let buffers = 0;
  for (const s of clients) buffers += bufferBytes(s);
  for (const s of servers) buffers += bufferBytes(s);
  const capacity = clients[0]!.conn.sndBuf.capacity + clients[0]!.conn.rcvBuf.capacity;
  const dHeap = after.heap - before.heap;
  const dAb = after.arrayBuffers - before.arrayBuffers;
  const total = dHeap + dAb;
  const kib = (x: number): string => (x / 1024).toFixed(2);
  console.log(`\nIdle connections: ${clients.length} established between two Stacks = ${ends} connection ends (client + accepted server)`);
  console.log("counted: everything reachable from the stacks and the two arrays of streams (TcpConnection, buffers,");
  console.log("  VirtualTcpStream, SocketAddrs, demultiplexing map entries); streams not registered with a Poll");
  console.log(`heapUsed +${kib(dHeap / ends)} KiB, arrayBuffers +${kib(dAb / ends)} KiB per connection end`);
  console.log(`total ${kib(total / ends)} KiB per connection end (${kib((2 * total) / ends)} KiB per connection)`);
  console.log(`ring buffers allocated: ${kib(buffers / ends)} KiB per connection end (send + receive capacity ${kib(capacity)} KiB)`);
  const beyond = (total - buffers) / ends;
  console.log(
    `beyond its buffers: ${kib(beyond)} KiB per connection end, ${kib(2 * beyond)} KiB per connection   target < ${TARGET_KIB_BEYOND} KiB (per end): ${beyond / 1024 < TARGET_KIB_BEYOND ? "met" : "NOT met"}`,
  );
  console.log(
    `setup: ${setupMs.toFixed(0)} ms for ${clients.length} connections in batches of ${BATCH}: ${connectMs.toFixed(0)} ms in tcpConnect, ` +
      `${pollMs.toFixed(0)} ms in ${setupPolls} Poll.poll calls (handshakes + timer scans), the rest accept and bookkeeping`,
  );
  // the cost of a poll with every connection idle (timers scanned per connection)
  const N = 200;
  const p0 = performance.now();
  for (let i = 0; i < N; i++) poll.poll(events, 0);
  const perPoll = (performance.now() - p0) / N;
  console.log(`idle Poll.poll with ${ends} connection ends: ${(perPoll * 1000).toFixed(0)} µs (${((perPoll * 1e6) / ends).toFixed(1)} ns per connection end)`);
  // where it goes: each stack's poll (runs due timers: a scan of its connections) and pollAt (the next deadline: another scan)
  const now = clock.now();
  const s0 = performance.now();
  for (let i = 0; i < N; i++) a.poll(now);
  const stackPoll = (performance.now() - s0) / N;
  const d0 = performance.now();
  for (let i = 0; i < N; i++) a.pollAt();
  const stackPollAt = (performance.now() - d0) / N;
  console.log(
    `  one Stack (${clients.length} connection ends): poll ${(stackPoll * 1000).toFixed(0)} µs, pollAt ${(stackPollAt * 1000).toFixed(0)} µs; ` +
      `a Poll.poll calls each stack's poll once and pollAt twice`,
  );
  for (const s of [...clients, ...servers]) s.close();
  listener.close();
  a.close();
  b.close();
  poll.close();
}

if (only === null || only === "bulk") bulk();
if (only === null || only === "memory") idleMemory();
