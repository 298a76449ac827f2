/**
 * `tsmio run` beside slirp4netns: a command in a network namespace of its
 * own reaching a server on the host's loopback through the namespace's
 * gateway 10.0.2.2, at MTU 1500 and 65520, in one run.
 *
 * - tsmio: `tsmio run --mtu N --host-loopback -- CMD` (src/cli/main.ts from
 *   source): the namespace's interface is a TUN device driven by tsmio's
 *   userspace stack, whose connections the relay carries over host kernel
 *   sockets; with `--host-loopback` 10.0.2.2 is the host's 127.0.0.1.
 * - slirp4netns: a sleeper started with `unshare -n` holds a fresh network
 *   namespace; `slirp4netns --configure --mtu=N PID tap0` gives it a tap
 *   device (10.0.2.100/24, gateway 10.0.2.2, which is the host's 127.0.0.1
 *   by default); once slirp4netns says so on its `--ready-fd`, CMD runs in
 *   the namespace through `nsenter -t PID -n`. A fresh namespace and
 *   slirp4netns for every command, as `tsmio run` has.
 *
 * Throughput: an iperf3 server on the host (`iperf3 -s -B 127.0.0.1`, a free
 * port), and inside the namespace `iperf3 -c 10.0.2.2 -t T -O 1 -J`:
 * `upload` as is (the namespace sends), `download` with `-R`. Gbit/s =
 * `end.sum_received.bits_per_second`: what the receiving side read over the
 * T seconds after the omitted first one (slow start). Relay CPU% is the CPU
 * time of the relaying process (the `tsmio run` Node process; slirp4netns)
 * over wall time, sampled from /proc/PID/stat every 100 ms, over the last
 * T - 0.5 s of the transfer less the last 0.25 s before the process ended.
 * On this machine it shares the CPUs with both iperf3 ends (not pinned).
 *
 * Latency: an echo server in this process (Node `net`, Nagle off) on
 * 127.0.0.1; inside the namespace bench/relay-rr.mjs (run with this Node)
 * makes one connection to 10.0.2.2 and times `--count` (2000) sequential
 * round trips of `--size` (64) bytes after `--warmup` (200) untimed ones,
 * checking every byte; the table gives the median and p99 in µs.
 *
 * Each round runs every case once through both, alternating which goes
 * first; the table gives medians over the rounds and their ratio,
 * tsmio / slirp4netns (higher is better for Gbit/s, lower for µs). As a
 * reference (`loopback`), the same commands on the host itself to
 * 127.0.0.1 (no namespace, no relay; once per round, the MTU is lo's).
 *
 *   node --import ./scripts/ts-loader.mjs bench/relay.ts [--rounds 3] [--seconds 5] [--mtu 1500|65520]
 *     [--only tput|latency] [--count 2000] [--warmup 200] [--size 64]
 *
 * Needs root, iperf3, slirp4netns, unshare and nsenter (util-linux). Talks
 * only to 127.0.0.1 and inside the namespaces it creates; every command is
 * bounded in time; everything it starts is ended at the end, on failure and
 * on Ctrl-C (a namespace goes away with its last process).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync, readlinkSync } from "node:fs";
import { createServer, type AddressInfo, type Server } from "node:net";
import { availableParallelism, cpus } from "node:os";
import { fileURLToPath } from "node:url";

const LOADER = fileURLToPath(new URL("../scripts/ts-loader.mjs", import.meta.url));
const MAIN = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
const RR = fileURLToPath(new URL("./relay-rr.mjs", import.meta.url));
const GATEWAY = "10.0.2.2";
/** Time a command may take beyond what it is asked to do, ms. */
const SLACK_MS = 30_000;
/** How long slirp4netns may take to configure the namespace, ms. */
const SLIRP_READY_MS = 10_000;
const SAMPLE_MS = 100;
const TICKS_PER_S = 100; // USER_HZ

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const option = (name: string): string | null => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? null) : null;
};

// ---- child processes ---------------------------------------------------------------

const children = new Set<ChildProcess>();

/** Starts `cmd`, remembered until it exits (for {@link cleanup}). */
function start(cmd: string, args: string[], stdio: Array<"ignore" | "pipe"> = ["ignore", "pipe", "pipe"]): ChildProcess {
  const child = spawn(cmd, args, { stdio });
  children.add(child);
  child.on("close", () => children.delete(child));
  return child;
}

/** What a finished command wrote, and how it ended. */
interface Finished {
  out: string;
  err: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Waits for `child` to end, SIGKILLing it after `limitMs`. */
function finish(child: ChildProcess, limitMs: number): Promise<Finished> {
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), limitMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ out, err, code, signal });
    });
  });
}

/** CPU time (user + system) of process `pid` so far, s; null once it is gone. */
function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / TICKS_PER_S; // fields 14 and 15: utime, stime
  } catch {
    return null;
  }
}

/** Samples a process's CPU time every {@link SAMPLE_MS} until it is gone or {@link CpuSampler.stop}. */
class CpuSampler {
  private readonly samples: Array<{ t: number; cpu: number }> = [];
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    this.take();
    this.timer = setInterval(() => this.take(), SAMPLE_MS);
  }

  private take(): void {
    const cpu = cpuSeconds(this.pid);
    if (cpu === null) clearInterval(this.timer);
    else this.samples.push({ t: performance.now() / 1000, cpu });
  }

  /** The last sample taken at or before `t`. */
  private lastBefore(t: number): { t: number; cpu: number } | undefined {
    for (let i = this.samples.length - 1; i >= 0; i--) if (this.samples[i]!.t <= t) return this.samples[i];
    return undefined;
  }

  /** Takes a last sample and stops. */
  stop(): void {
    this.take();
    clearInterval(this.timer);
  }

  /**
   * CPU% over the `seconds` before a point 0.25 s before the last sample
   * (the transfer's end, about), NaN without samples enough.
   */
  percentOver(seconds: number): number {
    const last = this.samples.at(-1);
    if (last === undefined) return NaN;
    const end = this.lastBefore(last.t - 0.25);
    const begin = end && this.lastBefore(end.t - seconds);
    if (end === undefined || begin === undefined || end.t - begin.t < seconds / 2) return NaN;
    return ((end.cpu - begin.cpu) / (end.t - begin.t)) * 100;
  }
}

// ---- the ways in ------------------------------------------------------------------------

/**
 * A way to the host's loopback: `target` is the host's 127.0.0.1 as the
 * command sees it; `run` runs a command that way, and resolves with its
 * output and a sampler of the relaying process (null: no relay).
 */
interface Via {
  target: string;
  run(mtu: number, cmd: string[], limitMs: number): Promise<{ done: Finished; relay: CpuSampler | null }>;
}

/** `tsmio run --host-loopback`. */
const viaTsmio: Via = {
  target: GATEWAY,
  run: async (mtu, cmd, limitMs) => {
    const child = start(process.execPath, ["--import", LOADER, MAIN, "run", "--mtu", String(mtu), "--host-loopback", "--", ...cmd]);
    const relay = new CpuSampler(child.pid!);
    const done = await finish(child, limitMs);
    relay.stop();
    return { done, relay };
  },
};

/** A fresh namespace with slirp4netns. */
const viaSlirp: Via = {
  target: GATEWAY,
  run: async (mtu, cmd, limitMs) => {
    const sleeper = start("unshare", ["--net", "sleep", String(Math.ceil(limitMs / 1000) + 60)], ["ignore", "ignore", "pipe"]);
    let slirp: ChildProcess | null = null;
    try {
      const sleeperEnd = finish(sleeper, limitMs + SLACK_MS);
      // unshare execs sleep: its pid is the sleeper's, in the new namespace once unshare(2) is done
      const own = nsOf(process.pid);
      await waitFor(() => {
        const ns = nsOf(sleeper.pid!);
        return ns !== null && ns !== own;
      }, 5000, "unshare --net");
      slirp = start("slirp4netns", ["--configure", `--mtu=${mtu}`, "--ready-fd=3", String(sleeper.pid), "tap0"], [
        "ignore",
        "pipe",
        "pipe",
        "pipe",
      ]);
      const slirpEnd = finish(slirp, limitMs + SLACK_MS);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("slirp4netns: not ready within 10 s")), SLIRP_READY_MS);
        slirp!.stdio[3]!.once("data", () => {
          clearTimeout(timer);
          resolve();
        });
        void slirpEnd.then((f) => reject(new Error(`slirp4netns exited with ${f.signal ?? f.code}: ${f.err.trim()}`)));
        void sleeperEnd.then((f) => reject(new Error(`the sleeper exited with ${f.signal ?? f.code}: ${f.err.trim()}`)));
      });
      const relay = new CpuSampler(slirp.pid!);
      const done = await finish(start("nsenter", ["-t", String(sleeper.pid), "-n", ...cmd]), limitMs);
      relay.stop();
      return { done, relay };
    } finally {
      slirp?.kill("SIGTERM");
      sleeper.kill("SIGTERM");
    }
  },
};

/** The reference: the command on the host itself, to 127.0.0.1 (no namespace, no relay; the MTU is lo's). */
const viaHost: Via = {
  target: "127.0.0.1",
  run: async (_mtu, cmd, limitMs) => {
    const [file, ...args] = cmd;
    return { done: await finish(start(file!, args), limitMs), relay: null };
  },
};

/** The network namespace of `pid` (its /proc link), null if unreadable. */
function nsOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return null;
  }
}

async function waitFor(ok: () => boolean, limitMs: number, what: string): Promise<void> {
  const end = Date.now() + limitMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`${what}: not ready within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// ---- the servers on host loopback -------------------------------------------------

/** A free TCP port on 127.0.0.1 (bound, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.listen(0, "127.0.0.1", resolve).once("error", reject));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `iperf3 -s` on 127.0.0.1:port, once it listens. */
async function startIperfServer(port: number): Promise<ChildProcess> {
  const server = start("iperf3", ["-s", "-B", "127.0.0.1", "-p", String(port), "--forceflush"]);
  let out = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`iperf3 -s: not listening within 5 s: ${out}`)), 5000);
    server.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (/Server listening/.test(out)) {
        clearTimeout(timer);
        out = "";
        resolve();
      }
    });
    server.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    server.once("close", (code) => reject(new Error(`iperf3 -s exited with ${code}: ${out}`)));
  });
  return server;
}

/** An echo server on 127.0.0.1 (Nagle off). */
async function startEchoServer(): Promise<{ server: Server; port: number }> {
  const server = createServer({ noDelay: true }, (sock) => {
    sock.on("data", (d) => sock.write(d));
    sock.on("error", () => sock.destroy());
  });
  await new Promise<void>((resolve, reject) => server.listen(0, "127.0.0.1", resolve).once("error", reject));
  return { server, port: (server.address() as AddressInfo).port };
}

// ---- cases ----------------------------------------------------------------------------

/** One case's figures through one way in. */
interface Sample {
  value: number;
  /** the relaying process's CPU% (throughput cases) */
  cpu: number;
}

const failed = (what: string, f: Finished): Error =>
  new Error(`${what} exited with ${f.signal ?? f.code}: ${(f.err + f.out).trim().slice(-2000)}`);

/** iperf3 through `via`: Gbit/s received, and the relay's CPU%. */
async function throughput(via: Via, mtu: number, port: number, seconds: number, download: boolean): Promise<Sample> {
  const cmd = ["iperf3", "-c", via.target, "-p", String(port), "-t", String(seconds), "-O", "1", "-J", ...(download ? ["-R"] : [])];
  const { done, relay } = await via.run(mtu, cmd, (seconds + 1) * 1000 + SLACK_MS);
  const json = done.out.slice(done.out.indexOf("{"));
  let report: { error?: string; end?: { sum_received?: { bits_per_second?: number } } };
  try {
    report = JSON.parse(json) as typeof report;
  } catch {
    throw failed("iperf3 -c", done);
  }
  const bps = report.end?.sum_received?.bits_per_second;
  if (report.error !== undefined || done.code !== 0 || bps === undefined) {
    throw new Error(`iperf3 -c: ${report.error ?? "no result"} (exit ${done.signal ?? done.code}) ${done.err.trim()}`);
  }
  return { value: bps / 1e9, cpu: relay?.percentOver(seconds - 0.5) ?? NaN };
}

/** What relay-rr.mjs reports. */
interface RrResult {
  n: number;
  medianUs: number;
  p99Us: number;
}

/** Request/response round trips through `via` to the echo server. */
async function latency(via: Via, mtu: number, port: number, count: number, warmup: number, size: number): Promise<RrResult> {
  const cmd = [process.execPath, RR, via.target, String(port), String(count), String(warmup), String(size)];
  const { done } = await via.run(mtu, cmd, 60_000 + SLACK_MS);
  const line = done.out.split("\n").find((l) => l.startsWith("{"));
  if (done.code !== 0 || line === undefined) throw failed("relay-rr.mjs", done);
  const r = JSON.parse(line) as RrResult;
  if (r.n !== count) throw new Error(`relay-rr.mjs: ${r.n} round trips, expected ${count}`);
  return r;
}

// ---- main -------------------------------------------------------------------------------

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** One row of the table: a case measured through every way in. */
interface Row {
  name: string;
  mtu: number;
  unit: "Gbit/s" | "µs";
  measure: (via: Via) => Promise<Sample[]>;
}

let echo: Server | null = null;

async function main(): Promise<void> {
  const rounds = arg("rounds", 3);
  const seconds = arg("seconds", 5);
  const count = arg("count", 2000);
  const warmup = arg("warmup", 200);
  const size = arg("size", 64);
  const only = option("only");
  const mtuOpt = option("mtu");
  const mtus = mtuOpt !== null ? [Number(mtuOpt)] : [1500, 65520];
  if (only !== null && only !== "tput" && only !== "latency") throw new Error("--only tput|latency");
  if (!(rounds >= 1 && seconds >= 2 && count >= 1 && size >= 1) || mtus.some((m) => !(m >= 1280 && m <= 65520))) {
    throw new Error("bad options: --rounds >= 1, --seconds >= 2, --mtu 1280..65520");
  }
  if (process.getuid?.() !== 0) throw new Error("bench/relay.ts needs root (network namespaces, TUN and tap devices)");

  const rows: Row[] = [];
  if (only !== "latency") {
    const port = await freePort();
    await startIperfServer(port);
    for (const mtu of mtus) {
      for (const download of [false, true]) {
        rows.push({
          name: download ? "download (-R)" : "upload",
          mtu,
          unit: "Gbit/s",
          measure: async (via) => [await throughput(via, mtu, port, seconds, download)],
        });
      }
    }
  }
  if (only !== "tput") {
    const e = await startEchoServer();
    echo = e.server;
    for (const mtu of mtus) {
      rows.push({
        name: `rr ${size} B`,
        mtu,
        unit: "µs",
        measure: async (via) => {
          const r = await latency(via, mtu, e.port, count, warmup, size);
          return [
            { value: r.medianUs, cpu: NaN },
            { value: r.p99Us, cpu: NaN },
          ];
        },
      });
    }
  }

  const cpuModel = cpus()[0]?.model ?? "?";
  console.log(`$ node ${[...process.execArgv, ...process.argv.slice(1)].join(" ")}`);
  const busy = await busyCores(1000);
  console.log(`machine: ${availableParallelism()} CPUs (nproc), ${cpuModel}, ${busy.toFixed(2)} cores busy just before the start; Node ${process.version}; ` +
    `${firstLine(spawnSync("slirp4netns", ["--version"], { encoding: "utf8" }).stdout)}; ${firstLine(spawnSync("iperf3", ["--version"], { encoding: "utf8" }).stdout)}`);
  console.log(
    `tsmio run --host-loopback vs slirp4netns (host loopback on), command inside a fresh netns to 10.0.2.2 = host 127.0.0.1; ` +
      (only !== "latency" ? `iperf3 -t ${seconds} -O 1 (upload: namespace sends; download: -R); ` : "") +
      (only !== "tput" ? `latency: ${count} sequential ${size}-byte round trips after ${warmup} (Node client inside, Node echo server on host); ` : "") +
      `loopback: the same on the host to 127.0.0.1 (reference); ${rounds} round(s), alternating order, medians; not pinned`,
  );

  const tsmio = new Map<Row, Sample[][]>(rows.map((r) => [r, []]));
  const slirp = new Map<Row, Sample[][]>(rows.map((r) => [r, []]));
  const host = new Map<Row, Sample[][]>(rows.map((r) => [r, []]));
  for (let round = 0; round < rounds; round++) {
    /** the reference of this round, by case name: the MTU does not change it, it is measured once */
    const hostNow = new Map<string, Sample[]>();
    for (const row of rows) {
      const order: Array<[Via, Map<Row, Sample[][]>]> = [
        [viaTsmio, tsmio],
        [viaSlirp, slirp],
      ];
      if (round % 2 === 1) order.reverse();
      for (const [via, into] of order) into.get(row)!.push(await row.measure(via));
      if (!hostNow.has(row.name)) hostNow.set(row.name, await row.measure(viaHost));
      host.get(row)!.push(hostNow.get(row.name)!);
    }
    process.stderr.write(`round ${round + 1}/${rounds} done\n`);
  }

  console.log(
    `${"MTU".padEnd(6)} ${"case".padEnd(22)} ${"tsmio".padStart(9)} ${"slirp4netns".padStart(12)} ${"tsmio/slirp".padStart(12)} ${"loopback".padStart(9)}   per round: tsmio | slirp4netns (relay CPU%)`,
  );
  for (const row of rows) {
    const parts = row.unit === "µs" ? ["median µs", "p99 µs"] : ["Gbit/s"];
    parts.forEach((part, k) => {
      const t = tsmio.get(row)!.map((s) => s[k]!);
      const s = slirp.get(row)!.map((x) => x[k]!);
      const mt = median(t.map((x) => x.value));
      const ms = median(s.map((x) => x.value));
      const mh = median(host.get(row)!.map((x) => x[k]!.value));
      const digits = row.unit === "µs" ? 0 : 2;
      const per = (xs: Sample[]): string =>
        xs.map((x) => `${x.value.toFixed(digits)}${Number.isNaN(x.cpu) ? "" : ` (${x.cpu.toFixed(0)}%)`}`).join(" ");
      console.log(
        `${String(row.mtu).padEnd(6)} ${`${row.name} ${part}`.padEnd(22)} ${mt.toFixed(digits).padStart(9)} ${ms.toFixed(digits).padStart(12)} ` +
          `${`${(mt / ms).toFixed(2)}x`.padStart(12)} ${mh.toFixed(digits).padStart(9)}   ${per(t)} | ${per(s)}`,
      );
    });
  }
}

/** Time all CPUs spent running something (/proc/stat: user, nice, system, irq, softirq), s. */
function machineBusySeconds(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]!) / TICKS_PER_S;
}

/** How many cores the machine kept busy over the next `ms`. */
async function busyCores(ms: number): Promise<number> {
  const b0 = machineBusySeconds();
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return (machineBusySeconds() - b0) / ((performance.now() - t0) / 1000);
}

const firstLine = (s: string): string => s.split("\n", 1)[0]!.trim();

/** Ends everything this bench started. Idempotent. */
function cleanup(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
  echo?.close();
  echo = null;
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}
process.on("exit", cleanup);
try {
  await main();
} finally {
  cleanup();
}
