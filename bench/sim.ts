/**
 * How fast and how big a {@link Sim} is: simulated seconds per wall-clock
 * second for hosts with TCP traffic, and memory per host.
 *
 * 1. **Traffic**: `--hosts` hosts (10) on one switch, each linked to it with
 *    the `--profile` (lan: 1 ms, 100 Mbit/s, 0.1 % loss, MTU 1500; options
 *    below override single values); `--conns` TCP connections (100) spread
 *    over host pairs (connection i goes from host i mod H to host
 *    (i mod H + 1 + floor(i / H) mod (H - 1)) mod H, port 80), Nagle off on
 *    both ends. `--workload`:
 *    - `rr` (default): each connection sends a `--req-bytes` (1 KiB) request,
 *      waits for the whole `--resp-bytes` (4 KiB) response, and sends the
 *      next, until `--sim-seconds` (10) of virtual time have passed;
 *    - `bulk`: each connection's client writes 64 KiB chunks as fast as TCP
 *      takes them until then;
 *    - `mix`: every tenth connection bulk, the others rr.
 *    Then each client shuts down its sending side and the server reads to
 *    the end. Every byte read is compared with what was sent (a
 *    position-dependent pattern, memcmp), and each stream must end exactly
 *    where its writer stopped. Timed: that run (`sim.run`), wall clock
 *    against virtual time; connections are set up before, in a run of
 *    their own.
 * 2. **Memory**: heap used plus array buffers, after forced GCs, before the
 *    Sim is made and (a) after building hosts, links and connections
 *    (established, no data yet), (b) after the traffic run (connections
 *    still open, their buffers grown); divided by the number of hosts.
 * 3. **Idle**: `--idle-hosts` hosts (1000) on one switch, no connections:
 *    memory per host, time to build one, and the wall time of
 *    `--idle-seconds` (10) of virtual time driven by a 10 ms sim timer (each
 *    tick a step of the Sim over all idle hosts).
 *
 * Each round builds everything anew with the same `--seed` (so the virtual
 * outcome, requests, bytes and packets, must be the same in every round);
 * the table gives every round and the medians. Everything is virtual: no
 * real socket is opened.
 *
 *   node --import ./scripts/ts-loader.mjs bench/sim.ts [--rounds 3] [--sim-seconds 10] [--hosts 10] [--conns 100]
 *     [--workload rr|bulk|mix] [--req-bytes 1024] [--resp-bytes 4096] [--profile lan|clean|wan]
 *     [--delay-ms D] [--jitter-ms J] [--loss P] [--mbps B] [--mtu M] [--idle-hosts 1000] [--idle-seconds 10]
 *     [--only traffic|idle] [--seed 1] [--max-wall-s 900] [--idle-turns 2]
 *
 * The script re-executes itself with --expose-gc when started without it.
 */
import { spawnSync } from "node:child_process";
import os from "node:os";
import { Interest, Sim, WOULD_BLOCK, type Link, type SimLinkOptions, type Stack } from "../src/index.js";
import type { VirtualTcpListener } from "../src/stack/tcp/listener.js";
import type { VirtualTcpStream } from "../src/stack/tcp/socket.js";
import { MAX_SLICE, checkBytes, patternAt } from "./pattern.js";

if (typeof globalThis.gc !== "function") {
  const r = spawnSync(process.execPath, ["--expose-gc", ...process.execArgv, ...process.argv.slice(1)], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}
const gc = globalThis.gc as () => void;

// ---- options ---------------------------------------------------------------------

function str(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  if (v === undefined) throw new Error(`--${name} needs a value`);
  return v;
}
function num(name: string, fallback: number, min = 0): number {
  const s = str(name);
  if (s === undefined) return fallback;
  const v = Number(s);
  if (!Number.isFinite(v) || v < min) throw new Error(`--${name} must be a number >= ${min}, got ${s}`);
  return v;
}
function choice<T extends string>(name: string, values: readonly T[], fallback: T): T {
  const s = str(name) ?? fallback;
  if (!(values as readonly string[]).includes(s)) throw new Error(`--${name} must be one of ${values.join(", ")}, got ${s}`);
  return s as T;
}

/** Link profiles: what each host's link to the switch is like. */
const PROFILES = {
  lan: { delayMs: 1, jitterMs: 0, loss: 0.001, bandwidthBps: 100e6, mtu: 1500 },
  clean: { delayMs: 1, jitterMs: 0, loss: 0, bandwidthBps: 100e6, mtu: 1500 },
  wan: { delayMs: 20, jitterMs: 2, loss: 0.01, bandwidthBps: 20e6, mtu: 1500 },
} as const;
const PROFILE = choice("profile", ["lan", "clean", "wan"] as const, "lan");
const base = PROFILES[PROFILE];
const LINK: Required<Pick<SimLinkOptions, "delayMs" | "jitterMs" | "loss" | "bandwidthBps" | "mtu">> = {
  delayMs: num("delay-ms", base.delayMs),
  jitterMs: num("jitter-ms", base.jitterMs),
  loss: num("loss", base.loss),
  bandwidthBps: str("mbps") === undefined ? base.bandwidthBps : num("mbps", 0) * 1e6,
  mtu: num("mtu", base.mtu, 68),
};
const HOSTS = num("hosts", 10, 2);
const CONNS = num("conns", 100, 1);
const SIM_SECONDS = num("sim-seconds", 10);
const ROUNDS = num("rounds", 3, 1);
const WORKLOAD = choice("workload", ["rr", "bulk", "mix"] as const, "rr");
const REQ = num("req-bytes", 1024, 1);
const RESP = num("resp-bytes", 4096, 1);
const IDLE_HOSTS = num("idle-hosts", 1000, 1);
const IDLE_SECONDS = num("idle-seconds", 10);
const SEED = num("seed", 1);
const MAX_WALL_MS = num("max-wall-s", 900, 1) * 1000;
/** `sim.run`'s idleTurns: turns of Node's loop without progress before virtual time moves. */
const IDLE_TURNS = num("idle-turns", 2, 1);
const RUN = { maxWallMs: MAX_WALL_MS, idleTurns: IDLE_TURNS };
const ONLY = str("only") === undefined ? null : choice("only", ["traffic", "idle"] as const, "traffic");
/** Bulk writers' chunk. */
const CHUNK = 64 * 1024;
/** Sim timer period of the idle scenario, ms. */
const TICK_MS = 10;
if (REQ > MAX_SLICE || RESP > MAX_SLICE) throw new Error(`--req-bytes and --resp-bytes must be <= ${MAX_SLICE}`);
if (HOSTS > 65000 || IDLE_HOSTS > 65000) throw new Error("at most 65000 hosts (one /16)");

/** The address of host i: 10.0.0.1, 10.0.0.2, ... in one /16. */
function addressOf(i: number): string {
  const n = i + 1;
  return `10.0.${n >> 8}.${n & 255}`;
}

// ---- memory ----------------------------------------------------------------------

interface Mem {
  heap: number;
  buffers: number;
}
function measure(): Mem {
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers };
}
const minus = (a: Mem, b: Mem): Mem => ({ heap: a.heap - b.heap, buffers: a.buffers - b.buffers });

// ---- the network -------------------------------------------------------------------

/** A Sim with `n` hosts on one switch, each linked with the profile. */
function build(n: number): { sim: Sim; hosts: Stack[]; links: Link[] } {
  const sim = new Sim({ seed: SEED });
  const sw = sim.switch("sw");
  const hosts: Stack[] = [];
  const links: Link[] = [];
  for (let i = 0; i < n; i++) {
    const h = sim.host(`h${i}`, { addresses: [`${addressOf(i)}/16`] });
    links.push(sim.link(h, sw, LINK));
    hosts.push(h);
  }
  return { sim, hosts, links };
}

/** Packets the links dropped (random loss, full transmit queues, ...), both directions. */
function linkDrops(links: Link[]): { loss: number; queue: number } {
  let loss = 0;
  let queue = 0;
  for (const l of links) {
    const { aToB, bToA } = l.stats();
    loss += aToB.dropped.loss + bToA.dropped.loss;
    queue += aToB.dropped.queue + bToA.dropped.queue;
  }
  return { loss, queue };
}

/** One TCP connection of the traffic scenario, both ends. */
interface Conn {
  client: VirtualTcpStream;
  server: VirtualTcpStream;
  bulk: boolean;
  /** where this connection's two streams start in the pattern */
  up: number;
  down: number;
}

/** Where a stream from `addr` starts in the pattern, so that streams differ. */
function patternBase(addr: string, direction: number): number {
  let h = direction * 7919;
  for (let i = 0; i < addr.length; i++) h = (Math.imul(h, 31) + addr.charCodeAt(i)) >>> 0;
  return h;
}

async function accept(sim: Sim, l: VirtualTcpListener): Promise<VirtualTcpStream> {
  for (;;) {
    const r = l.accept();
    if (r !== WOULD_BLOCK) return r[0];
    await sim.ready(l);
  }
}

/** Connects every connection (inside a run): listeners on port 80, clients, accepts, paired by address. */
async function connectAll(sim: Sim, hosts: Stack[]): Promise<Conn[]> {
  const listeners = hosts.map((h, i) => h.tcpBind(`${addressOf(i)}:80`));
  const plan: { from: number; to: number }[] = [];
  for (let i = 0; i < CONNS; i++) {
    const from = i % HOSTS;
    plan.push({ from, to: (from + 1 + (Math.floor(i / HOSTS) % (HOSTS - 1))) % HOSTS });
  }
  const accepted = new Map<string, VirtualTcpStream>();
  const servers = listeners.map(async (l, j) => {
    const want = plan.filter((p) => p.to === j).length;
    for (let k = 0; k < want; k++) {
      const s = await accept(sim, l);
      accepted.set(s.peerAddr().toString(), s);
    }
  });
  const clients = plan.map(async ({ from, to }) => {
    const s = hosts[from]!.tcpConnect(`${addressOf(to)}:80`);
    await sim.ready(s, Interest.WRITABLE);
    const err = s.takeError();
    if (err !== null) throw err;
    return s;
  });
  const streams = await Promise.all(clients);
  await Promise.all(servers);
  return streams.map((client, i) => {
    const key = client.localAddr().toString();
    const server = accepted.get(key);
    if (server === undefined) throw new Error(`no accepted stream for ${key}`);
    client.setNoDelay(true);
    server.setNoDelay(true);
    const bulk = WORKLOAD === "bulk" || (WORKLOAD === "mix" && i % 10 === 9);
    return { client, server, bulk, up: patternBase(key, 1), down: patternBase(key, 2) };
  });
}

// ---- traffic ------------------------------------------------------------------------

async function writeAll(sim: Sim, s: VirtualTcpStream, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const n = s.write(data.subarray(off));
    if (n === WOULD_BLOCK) await sim.ready(s, Interest.WRITABLE);
    else off += n;
  }
}

/**
 * Reads exactly `n` bytes, checking them against the pattern at `at`;
 * returns false at a clean end of stream before the first byte.
 */
async function readExact(sim: Sim, s: VirtualTcpStream, buf: Uint8Array, n: number, at: number): Promise<boolean> {
  let got = 0;
  while (got < n) {
    const r = s.read(buf.subarray(0, Math.min(buf.length, n - got)));
    if (r === WOULD_BLOCK) {
      await sim.ready(s);
      continue;
    }
    if (r === 0) {
      if (got === 0) return false;
      throw new Error(`end of stream ${got} bytes into a ${n}-byte message`);
    }
    checkBytes(buf, r, at + got);
    got += r;
  }
  return true;
}

interface Tally {
  requests: number;
  /** payload bytes read by servers / by clients */
  up: number;
  down: number;
}

/** Request/response until `endAt`, then end of requests; the server answers until then. */
async function requestResponse(sim: Sim, c: Conn, endAt: number, tally: Tally): Promise<void> {
  const server = (async () => {
    const buf = new Uint8Array(REQ);
    let k = 0;
    while (await readExact(sim, c.server, buf, REQ, c.up + k * REQ)) {
      tally.up += REQ;
      await writeAll(sim, c.server, patternAt(c.down + k * RESP, RESP));
      k++;
    }
  })();
  const buf = new Uint8Array(RESP);
  let k = 0;
  while (sim.now() < endAt) {
    await writeAll(sim, c.client, patternAt(c.up + k * REQ, REQ));
    if (!(await readExact(sim, c.client, buf, RESP, c.down + k * RESP))) throw new Error("server ended the stream");
    tally.down += RESP;
    tally.requests++;
    k++;
  }
  c.client.shutdown("write");
  await server;
}

/** Client writes as fast as TCP takes it until `endAt`, then ends the stream; the server reads and checks all. */
async function bulkFlow(sim: Sim, c: Conn, endAt: number, tally: Tally): Promise<void> {
  let sent = 0;
  const writer = (async () => {
    while (sim.now() < endAt) {
      const n = c.client.write(patternAt(c.up + sent, CHUNK));
      if (n === WOULD_BLOCK) await sim.ready(c.client, Interest.WRITABLE);
      else sent += n;
    }
    c.client.shutdown("write");
  })();
  const buf = new Uint8Array(CHUNK);
  let got = 0;
  for (;;) {
    const r = c.server.read(buf);
    if (r === WOULD_BLOCK) {
      await sim.ready(c.server);
      continue;
    }
    if (r === 0) break;
    checkBytes(buf, r, c.up + got);
    got += r;
  }
  await writer;
  if (got !== sent) throw new Error(`bulk stream ended after ${got} of ${sent} bytes`);
  tally.up += got;
}

interface TrafficRound {
  virtualS: number;
  wallS: number;
  cpu: number;
  requests: number;
  up: number;
  down: number;
  /** in the timed run: packets hosts sent, and packets the links lost at random / dropped from full queues */
  packets: number;
  lost: number;
  queueDrops: number;
  /** TCP retransmissions, setup included */
  retransmits: number;
  setupMs: number;
  /** per host, after setup and after the run */
  memSetup: Mem;
  memAfter: Mem;
}

async function trafficRound(): Promise<TrafficRound> {
  const before = measure();
  const t0 = performance.now();
  const { sim, hosts, links } = build(HOSTS);
  try {
    const conns = await sim.run(() => connectAll(sim, hosts), RUN);
    const setupMs = performance.now() - t0;
    const memSetup = minus(measure(), before);
    const tally: Tally = { requests: 0, up: 0, down: 0 };
    const v0 = sim.now();
    const sent0 = sim.stats().sent;
    const drops0 = linkDrops(links);
    const endAt = v0 + SIM_SECONDS * 1000;
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    await sim.run(() => Promise.all(conns.map((c) => (c.bulk ? bulkFlow : requestResponse)(sim, c, endAt, tally))), RUN);
    const wallMs = performance.now() - w0;
    const cpu = process.cpuUsage(c0);
    const virtualS = (sim.now() - v0) / 1000;
    let retransmits = 0;
    for (const h of hosts) for (const st of Object.values(h.tcpStats())) retransmits += st.retransmits;
    const memAfter = minus(measure(), before);
    const drops = linkDrops(links);
    return {
      virtualS,
      wallS: wallMs / 1000,
      cpu: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
      requests: tally.requests,
      up: tally.up,
      down: tally.down,
      packets: sim.stats().sent - sent0,
      lost: drops.loss - drops0.loss,
      queueDrops: drops.queue - drops0.queue,
      retransmits,
      setupMs,
      memSetup: { heap: memSetup.heap / HOSTS, buffers: memSetup.buffers / HOSTS },
      memAfter: { heap: memAfter.heap / HOSTS, buffers: memAfter.buffers / HOSTS },
    };
  } finally {
    sim.close();
  }
}

// ---- idle hosts -------------------------------------------------------------------------

interface IdleRound {
  /** per host */
  mem: Mem;
  buildUs: number;
  /** wall ms of the idle run, and its steps (ticks) */
  runMs: number;
  ticks: number;
}

async function idleRound(): Promise<IdleRound> {
  const before = measure();
  const t0 = performance.now();
  const { sim } = build(IDLE_HOSTS);
  const buildUs = ((performance.now() - t0) * 1000) / IDLE_HOSTS;
  try {
    const mem = minus(measure(), before);
    let ticks = 0;
    const w0 = performance.now();
    await sim.run(
      async () => {
        for (let t = 0; t < (IDLE_SECONDS * 1000) / TICK_MS; t++) {
          await sim.sleep(TICK_MS);
          ticks++;
        }
      },
      RUN,
    );
    const runMs = performance.now() - w0;
    if (sim.stats().sent !== 0) throw new Error(`idle hosts sent ${sim.stats().sent} packets`);
    return { mem: { heap: mem.heap / IDLE_HOSTS, buffers: mem.buffers / IDLE_HOSTS }, buildUs, runMs, ticks };
  } finally {
    sim.close();
  }
}

// ---- report ------------------------------------------------------------------------------

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const kib = (n: number): string => (n / 1024).toFixed(1);
const mb = (n: number): string => (n / 1e6).toFixed(1);
const int = (n: number): string => Math.round(n).toLocaleString("en-US");
const pad = (cols: string[], widths: number[]): string => cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");

function describeWorkload(): string {
  const rr = `request/response (${REQ} B request, whole ${RESP} B response, next request)`;
  if (WORKLOAD === "rr") return rr;
  if (WORKLOAD === "bulk") return `bulk (client writes ${CHUNK / 1024} KiB chunks as fast as TCP takes them)`;
  return `mix: every tenth connection bulk, the others ${rr}`;
}

async function main(): Promise<void> {
  const cpus = os.cpus();
  console.log(`$ node ${[...process.execArgv, ...process.argv.slice(1)].join(" ")}`);
  console.log(`Machine: ${os.availableParallelism()} CPUs (${cpus[0]?.model.trim() ?? "?"}), Node ${process.version}, ${os.type()} ${os.release()}`);
  const lossPct = +(LINK.loss * 100).toFixed(4);
  const linkText = `${LINK.delayMs} ms${LINK.jitterMs > 0 ? ` + ${LINK.jitterMs} ms jitter` : ""}, ${LINK.bandwidthBps / 1e6} Mbit/s, loss ${lossPct}%, MTU ${LINK.mtu}`;
  console.log(`Links (profile ${PROFILE}): host <-> switch ${linkText}; seed ${SEED}; ${ROUNDS} round(s), medians`);
  if (ONLY !== "idle") {
    console.log(`\nTraffic: ${HOSTS} hosts on one switch, ${CONNS} TCP connections, ${SIM_SECONDS} s of virtual time, Nagle off`);
    console.log(`  workload: ${describeWorkload()}; every byte checked`);
    const widths = [6, 9, 8, 11, 5, 10, 11, 11, 10, 7, 7, 8, 15, 15];
    console.log(pad(["round", "virtual s", "wall s", "sim s/wall s", "CPU%", "requests", "MB c->s", "MB s->c", "packets", "lost", "q-drop", "retrans", "KiB/host setup", "KiB/host after"], widths));
    const rounds: TrafficRound[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t = await trafficRound();
      rounds.push(t);
      const row = [
        String(r + 1),
        t.virtualS.toFixed(3),
        t.wallS.toFixed(2),
        (t.virtualS / t.wallS).toFixed(2),
        t.cpu.toFixed(0),
        int(t.requests),
        mb(t.up),
        mb(t.down),
        int(t.packets),
        int(t.lost),
        int(t.queueDrops),
        int(t.retransmits),
        `${kib(t.memSetup.heap + t.memSetup.buffers)}`,
        `${kib(t.memAfter.heap + t.memAfter.buffers)}`,
      ];
      console.log(pad(row, widths));
    }
    const m = (f: (t: TrafficRound) => number): number => median(rounds.map(f));
    console.log(
      pad(
        [
          "median",
          m((t) => t.virtualS).toFixed(3),
          m((t) => t.wallS).toFixed(2),
          m((t) => t.virtualS / t.wallS).toFixed(2),
          m((t) => t.cpu).toFixed(0),
          "",
          "",
          "",
          "",
          "",
          "",
          "",
          kib(m((t) => t.memSetup.heap + t.memSetup.buffers)),
          kib(m((t) => t.memAfter.heap + t.memAfter.buffers)),
        ],
        widths,
      ),
    );
    const key = (t: TrafficRound): string => [t.virtualS, t.requests, t.up, t.down, t.packets, t.lost, t.queueDrops, t.retransmits].join("/");
    const same = rounds.every((t) => key(t) === key(rounds[0]!));
    const t0 = rounds[0]!;
    console.log(`  same virtual outcome in every round (time, requests, bytes, packets, losses): ${same ? "yes" : "NO"}`);
    console.log(
      `  per virtual second: ${int(t0.requests / t0.virtualS)} requests, ${((8 * (t0.up + t0.down)) / t0.virtualS / 1e6).toFixed(1)} Mbit/s of payload, ${int(t0.packets / t0.virtualS)} packets`,
    );
    console.log(`  wall per packet sent: ${((m((t) => t.wallS / t.packets)) * 1e6).toFixed(2)} µs (each crosses two links and the switch)`);
    console.log(
      `  memory per host (heap + array buffers): setup ${kib(m((t) => t.memSetup.heap))} + ${kib(m((t) => t.memSetup.buffers))} KiB, after the run ${kib(m((t) => t.memAfter.heap))} + ${kib(m((t) => t.memAfter.buffers))} KiB`,
    );
    console.log(`  (a host here: its Stack, its link and switch port, its share of ${CONNS} connections = ${((2 * CONNS) / HOSTS).toFixed(0)} connection ends; setup ${int(m((t) => t.setupMs))} ms wall)`);
  }
  if (ONLY !== "traffic") {
    console.log(`\nIdle: ${IDLE_HOSTS} hosts on one switch, no connections; then ${IDLE_SECONDS} s of virtual time with a ${TICK_MS} ms sim timer`);
    const widths = [6, 14, 14, 14, 10, 12, 14];
    console.log(pad(["round", "heap KiB/host", "buf KiB/host", "total KiB/host", "build µs", "idle run ms", "µs per step"], widths));
    const rounds: IdleRound[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t = await idleRound();
      rounds.push(t);
      console.log(
        pad([String(r + 1), kib(t.mem.heap), kib(t.mem.buffers), kib(t.mem.heap + t.mem.buffers), t.buildUs.toFixed(0), t.runMs.toFixed(0), ((t.runMs * 1000) / t.ticks).toFixed(1)], widths),
      );
    }
    const m = (f: (t: IdleRound) => number): number => median(rounds.map(f));
    console.log(
      pad(
        ["median", kib(m((t) => t.mem.heap)), kib(m((t) => t.mem.buffers)), kib(m((t) => t.mem.heap + t.mem.buffers)), m((t) => t.buildUs).toFixed(0), m((t) => t.runMs).toFixed(0), m((t) => (t.runMs * 1000) / t.ticks).toFixed(1)],
        widths,
      ),
    );
  }
}

await main();
