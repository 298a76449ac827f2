/**
 * Load generator for the echo benchmark, on tsmio's blocking `poll()` loop
 * (the cheapest event loop available to JS here, so the client is not the
 * bottleneck; its CPU use is reported next to the server's to show it).
 *
 *   --mode pingpong --conns N --size B   N connections, one B-byte message in
 *                                         flight on each: send, wait for the
 *                                         whole echo, send again
 *   --mode bulk                           one connection, writing and reading
 *                                         as fast as the echo allows
 *   --port P --server-pid PID --seconds S --warmup W
 *
 * Counts only what happens in the S seconds after W seconds of warm-up, and
 * prints one JSON line: messages, bytes echoed back, elapsed seconds, and the
 * CPU used in that window (in cores) by this process, by the server (read
 * from /proc/PID/stat), by everything else, and stolen by the hypervisor.
 */
import { readFileSync } from "node:fs";
import { Events, Interest, Poll, TcpStream, Token, WOULD_BLOCK } from "../../src/index.js";

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`missing --${name}`);
  return v;
}

const mode = arg("mode");
const port = Number(arg("port"));
const serverPid = Number(arg("server-pid"));
const conns = mode === "bulk" ? 1 : Number(arg("conns", "1"));
const size = Number(arg("size", "64"));
const seconds = Number(arg("seconds", "3"));
const warmup = Number(arg("warmup", "0.5"));

/** utime + stime of a process in seconds (clock ticks are 100 Hz on Linux). */
function procCpu(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Busy and stolen CPU seconds of the whole machine, all cores together. */
function machineCpu(): [busy: number, steal: number] {
  const f = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f as [number, number, number, number, number, number, number, number];
  return [(user + nice + system + irq + softirq) / 100, steal / 100];
}

function selfCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

interface Snapshot {
  t: number;
  messages: number;
  bytes: number;
  cpu: number;
  serverCpu: number;
  busy: number;
  steal: number;
}

const poll = new Poll();
const events = new Events(1024);
const streams: TcpStream[] = [];
const both = Interest.READABLE.add(Interest.WRITABLE);
for (let i = 0; i < conns; i++) {
  const s = TcpStream.connect(`127.0.0.1:${port}`);
  s.setNoDelay(true);
  poll.registry().register(s, Token(i), both);
  streams.push(s);
}

let messages = 0;
let bytes = 0;

/** Bulk data: a repeating byte pattern of period 256, so any offset is checkable. */
const PATTERN = (i: number): number => (i * 7 + 3) & 255;
const BULK = 256 * 1024;

function snapshot(): Snapshot {
  const [busy, steal] = machineCpu();
  return { t: performance.now() / 1000, messages, bytes, cpu: selfCpu(), serverCpu: procCpu(serverPid), busy, steal };
}

function runPingPong(): [Snapshot, Snapshot] {
  const msg = new Uint8Array(size).fill(0x61);
  const rbuf = new Uint8Array(64 * 1024);
  const got = new Int32Array(conns);
  const started = new Uint8Array(conns);
  const send = (s: TcpStream): void => {
    const w = s.write(msg);
    // One small message in flight never fills the send buffer.
    if (w !== size) throw new Error(`short write of a ${size}-byte message: ${String(w)}`);
  };
  return loop((token) => {
    const s = streams[token]!;
    if (started[token] === 0) {
      started[token] = 1;
      const err = s.takeError();
      if (err) throw err;
      send(s);
      return;
    }
    for (;;) {
      const n = s.read(rbuf);
      if (n === WOULD_BLOCK) return;
      if (n === 0) throw new Error("server closed the connection");
      if (rbuf[0] !== 0x61) throw new Error("echo corrupted");
      bytes += n;
      const g = got[token]! + n;
      if (g >= size) {
        if (g > size) throw new Error("echo returned more than was sent");
        got[token] = 0;
        messages++;
        send(s);
        return; // the echo of one message was all there was to read
      }
      got[token] = g;
    }
  });
}

function runBulk(): [Snapshot, Snapshot] {
  const wbuf = new Uint8Array(BULK);
  for (let i = 0; i < BULK; i++) wbuf[i] = PATTERN(i);
  const rbuf = new Uint8Array(BULK);
  let sent = 0;
  const s = streams[0]!;
  return loop(() => {
    for (;;) {
      const n = s.read(rbuf);
      if (n === WOULD_BLOCK) break;
      if (n === 0) throw new Error("server closed the connection");
      if (rbuf[0] !== PATTERN(bytes) || rbuf[n - 1] !== PATTERN(bytes + n - 1)) throw new Error("echo corrupted");
      bytes += n;
      messages++;
    }
    for (;;) {
      const off = sent % BULK;
      const w = s.write(off === 0 ? wbuf : wbuf.subarray(off));
      if (w === WOULD_BLOCK) break;
      sent += w;
    }
  });
}

/** Runs the event loop through warm-up and measurement; returns the window's two ends. */
function loop(onEvent: (token: number) => void): [Snapshot, Snapshot] {
  const t0 = performance.now();
  const startAt = t0 + warmup * 1000;
  const endAt = startAt + seconds * 1000;
  let first: Snapshot | null = null;
  for (;;) {
    poll.poll(events, 20);
    for (const ev of events) onEvent(ev.token());
    const now = performance.now();
    if (first === null && now >= startAt) first = snapshot();
    if (first !== null && now >= endAt) return [first, snapshot()];
  }
}

const [a, b] = mode === "bulk" ? runBulk() : runPingPong();
for (const s of streams) s.close();
poll.close();
const elapsed = b.t - a.t;
process.stdout.write(
  JSON.stringify({
    mode,
    conns,
    size,
    elapsed,
    messages: b.messages - a.messages,
    bytes: b.bytes - a.bytes,
    clientCpu: (b.cpu - a.cpu) / elapsed,
    serverCpu: (b.serverCpu - a.serverCpu) / elapsed,
    // CPU used by everything else (other processes, unattributed kernel work)
    // and stolen by the hypervisor: high values mean a disturbed measurement.
    otherCpu: (b.busy - a.busy - (b.serverCpu - a.serverCpu) - (b.cpu - a.cpu)) / elapsed,
    stealCpu: (b.steal - a.steal) / elapsed,
  }) + "\n",
);
