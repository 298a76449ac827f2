/**
 * `tsmio run` end to end (src/cli/main.ts run): the CLI run from source as a
 * child process, its command in a sandbox, the relay between them. The
 * host-side peers (HTTP, bulk, echo, DNS servers) are sockets of this test
 * process, in the fresh network namespace the suite runs in (no routes but
 * loopback), so nothing relayed can leave it. Commands only ever address
 * 10.0.2.2 / fd00::2 (the host's loopback, with --host-loopback), 10.0.2.3
 * (the DNS forwarder, to the test's server) or destinations the outbound
 * policy refuses.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, expect, it } from "vitest";
import { currentNetns, netnsSuite } from "../support/netns.js";
import { flagged, hasTshark, matching, tshark } from "../support/tshark.js";
import { patternDigest, writePattern } from "./fixtures/pattern.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const LOADER = join(ROOT, "scripts/ts-loader.mjs");
const MAIN = join(ROOT, "src/cli/main.ts");
const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));
const NODE = process.execPath;

/** A fixture program's command line (run with this Node). */
const fixture = (name: string, ...args: Array<string | number>): string[] => [NODE, join(FIXTURES, name), ...args.map(String)];

/** How a `tsmio` child ended. */
interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** wall time from spawn to exit, ms */
  ms: number;
}

/** A running `tsmio` child. */
interface Running {
  child: ChildProcess;
  exit: Promise<Exit>;
  /** Resolves with stdout so far once it matches `re`; rejects when tsmio ends first or after `ms`. */
  output(re: RegExp, ms?: number): Promise<string>;
}

const running = new Set<Running>();
const cleanups: Array<() => void | Promise<void>> = [];

/** Starts `tsmio run ARGS` (from source); SIGKILLed after `timeoutMs`. */
function tsmio(args: string[], timeoutMs = 20_000): Running {
  const start = Date.now();
  const child = spawn(NODE, ["--import", LOADER, MAIN, "run", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
    for (const w of waiters) w();
  });
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  let ended = false;
  const exit = new Promise<Exit>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      ended = true;
      running.delete(r);
      for (const w of waiters) w();
      resolve({ code, signal, stdout, stderr, ms: Date.now() - start });
    });
  });
  const r: Running = {
    child,
    exit,
    output: (re, ms = 15_000) =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => done(new Error(`no ${re} on stdout within ${ms} ms: ${stdout}${stderr}`)), ms);
        const check = (): void => {
          if (re.test(stdout)) done(null);
          else if (ended) done(new Error(`tsmio ended before ${re} on stdout: ${stdout}${stderr}`));
        };
        const done = (e: Error | null): void => {
          clearTimeout(t);
          waiters.delete(check);
          if (e === null) resolve(stdout);
          else reject(e);
        };
        waiters.add(check);
        check();
      }),
  };
  running.add(r);
  return r;
}

/** `tsmio run ARGS` to its end. */
const run = (args: string[], timeoutMs?: number): Promise<Exit> => tsmio(args, timeoutMs).exit;

/** A description of `e` for assertion messages. */
const show = (e: Exit): string => `exit ${e.code} (${e.signal}) after ${e.ms} ms\nstdout: ${e.stdout}\nstderr: ${e.stderr}`;

/** Listens with `server` on `host` port 0 (or `port`); resolves with the port. Closed after the test. */
async function listen(server: Server, host: string, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  // close() waits for the connections a failed test may have left open: not for long
  cleanups.push(() => new Promise<void>((resolve) => {
    server.close(() => resolve());
    setTimeout(resolve, 2000).unref();
  }));
  return (server.address() as AddressInfo).port;
}

/** Binds `sock` on `host:port`; closed after the test. */
async function bindUdp(sock: UdpSocket, host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(port, host, () => {
      sock.off("error", reject);
      resolve();
    });
  });
  cleanups.push(() => new Promise<void>((resolve) => sock.close(() => resolve())));
}

/** Pids whose /proc/PID/cmdline has `marker` in one of its words. */
function pidsWith(marker: string): Array<{ pid: number; argv: string[] }> {
  const out: Array<{ pid: number; argv: string[] }> = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (argv.some((a) => a.includes(marker))) out.push({ pid: Number(entry), argv });
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

/** Where `ns` (e.g. `net:[4026532...]`) is still held: as a process's namespace or an open descriptor. */
function holdersOf(ns: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/net`) === ns) out.push(`/proc/${entry}/ns/net`);
      for (const fd of readdirSync(`/proc/${entry}/fd`)) {
        if (readlinkSync(`/proc/${entry}/fd/${fd}`) === ns) out.push(`/proc/${entry}/fd/${fd}`);
      }
    } catch {
      // ended meanwhile, or a descriptor closed meanwhile
    }
  }
  return out;
}

/** `ip -o link show type tun` in the current namespace. */
const tunLinks = (): string => spawnSync("ip", ["-o", "link", "show", "type", "tun"], { encoding: "utf8" }).stdout;

// ---- a DNS server (the test's resolver) -----------------------------------------------

/** A question the test's DNS server was asked. */
interface Asked {
  transport: "udp" | "tcp";
  name: string;
  type: number;
}

const DNS_A = 1;
/** The only name the test's server knows, and its address. */
const DNS_NAME = "example.test";
const DNS_ADDR = [192, 0, 2, 55];

/**
 * The answer to `query`: A example.test is 192.0.2.55; other types of that
 * name have no records; other names do not exist. Null when `query` is not
 * one question.
 */
function dnsAnswer(query: Buffer, transport: "udp" | "tcp", asked: Asked[]): Buffer | null {
  if (query.length < 12 || query.readUInt16BE(4) !== 1) return null;
  const labels: string[] = [];
  let at = 12;
  while (at < query.length && query[at] !== 0) {
    const len = query[at]!;
    if (len > 63) return null;
    labels.push(query.subarray(at + 1, at + 1 + len).toString("latin1"));
    at += 1 + len;
  }
  if (at + 5 > query.length) return null;
  const question = query.subarray(12, at + 5);
  const type = query.readUInt16BE(at + 1);
  const name = labels.join(".").toLowerCase();
  asked.push({ transport, name, type });
  const known = name === DNS_NAME;
  const answer = known && type === DNS_A;
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2);
  header.writeUInt16BE(0x8180 | (query.readUInt16BE(2) & 0x0100) | (known ? 0 : 3), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answer ? 1 : 0, 6);
  const record = answer ? Buffer.of(0xc0, 12, 0, DNS_A, 0, 1, 0, 0, 0, 60, 0, 4, ...DNS_ADDR) : Buffer.alloc(0);
  return Buffer.concat([header, question, record]);
}

/** The test's DNS server on 127.0.0.1:53, UDP and TCP; resolves with what it is asked. */
async function startDns(): Promise<Asked[]> {
  const asked: Asked[] = [];
  const udp = createSocket("udp4");
  udp.on("message", (msg, rinfo) => {
    const reply = dnsAnswer(msg, "udp", asked);
    if (reply !== null) udp.send(reply, rinfo.port, rinfo.address);
  });
  await bindUdp(udp, "127.0.0.1", 53);
  const tcp = createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on("error", () => sock.destroy());
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const reply = dnsAnswer(buf.subarray(2, 2 + buf.readUInt16BE(0)), "tcp", asked);
        buf = buf.subarray(2 + buf.readUInt16BE(0));
        if (reply === null) return sock.destroy();
        const len = Buffer.alloc(2);
        len.writeUInt16BE(reply.length);
        sock.write(Buffer.concat([len, reply]));
      }
    });
  });
  await listen(tcp, "127.0.0.1", 53);
  return asked;
}

// ---- host-side servers ----------------------------------------------------------------

/** An HTTP server on `host` answering `body`; resolves with its port. */
async function httpServer(host: string, body: string): Promise<{ port: number; requests: string[] }> {
  const requests: string[] = [];
  const server = createHttpServer((req, res) => {
    requests.push(`${req.method} ${req.url} from ${req.socket.remoteAddress}`);
    res.end(body);
  });
  return { port: await listen(server, host), requests };
}

/** A body of `n` lines, seeded by `seed`, for the pages served. */
const page = (seed: number, n = 200): string =>
  Array.from({ length: n }, (_, i) => `line ${i} ${createHash("sha256").update(`${seed}:${i}`).digest("hex")}\n`).join("");

/** A shell script: `curl URL` (5 s at most), then "curl STATUS MS" on stdout; exits with curl's status. */
const timedCurl = (url: string): string =>
  `s=$(date +%s%N); curl -sS -m 5 ${url}; c=$?; echo "curl $c $(( ($(date +%s%N) - s) / 1000000 ))"; exit $c`;

/** The milliseconds curl took, from the line of {@link timedCurl}. */
function curlMs(e: Exit): number {
  const m = /^curl \d+ (\d+)$/m.exec(e.stdout);
  if (m === null) throw new Error(`no timing line: ${show(e)}`);
  return Number(m[1]);
}

netnsSuite("tsmio run", () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "tsmio-run-"));
  });

  afterEach(async () => {
    for (const r of [...running]) {
      // SIGTERM goes on to the command; SIGKILL only when that did not end it
      r.child.kill("SIGTERM");
      const t = setTimeout(() => r.child.kill("SIGKILL"), 3000);
      await r.exit.catch(() => undefined);
      clearTimeout(t);
    }
    for (const c of cleanups.splice(0).reverse()) await c();
    rmSync(dir, { recursive: true, force: true });
  });

  it("--host-loopback: curl fetches a page from 127.0.0.1 via 10.0.2.2 and from ::1 via fd00::2", async () => {
    const body4 = page(4);
    const body6 = page(6);
    const s4 = await httpServer("127.0.0.1", body4);
    const s6 = await httpServer("::1", body6);
    const [r4, r6] = await Promise.all([
      run(["--host-loopback", "--", "curl", "-sS", "-m", "10", `http://10.0.2.2:${s4.port}/v4`]),
      run(["--host-loopback", "--", "curl", "-sS", "-g", "-m", "10", `http://[fd00::2]:${s6.port}/v6`]),
    ]);
    expect(r4.code, show(r4)).toBe(0);
    expect(r4.stdout).toBe(body4);
    expect(s4.requests).toEqual(["GET /v4 from 127.0.0.1"]);
    expect(r6.code, show(r6)).toBe(0);
    expect(r6.stdout).toBe(body6);
    expect(s6.requests).toEqual(["GET /v6 from ::1"]);
  });

  it("what the command sent before it exited reaches the host: the relay drains before it stops", async () => {
    // less than the buffers on the way hold: the command is done writing at once and exits
    const SIZE = 3 * 1024 * 1024;
    const SEED = 0x5eed3;
    let atHost!: Promise<{ bytes: number; sha256: string }>;
    const server = createServer((sock: Socket) => {
      // a slow host: nothing is read for a while, so the bytes wait in the relay when the command exits
      sock.pause();
      const hash = createHash("sha256");
      let bytes = 0;
      atHost = new Promise((resolve, reject) => {
        sock.on("data", (d: Buffer) => {
          bytes += d.length;
          hash.update(d);
        });
        sock.on("end", () => resolve({ bytes, sha256: hash.digest("hex") }));
        sock.on("error", reject);
      });
      setTimeout(() => sock.resume(), 1500);
    });
    const port = await listen(server, "127.0.0.1");
    const r = await run(["--host-loopback", "--outbound", "none", "--", ...fixture("send-and-exit.mjs", "10.0.2.2", port, SIZE, SEED)], 30_000);
    expect(r.code, show(r)).toBe(0);
    const host = await atHost;
    expect(host.bytes).toBe(SIZE);
    expect(host.sha256).toBe(patternDigest(SEED, SIZE));
  });

  it("100 MB up and 100 MB down at once through one relayed connection, hashes equal", async () => {
    const SIZE = 100 * 1024 * 1024;
    const UP = 0x5eed1;
    const DOWN = 0x5eed2;
    let atHost!: Promise<{ bytes: number; sha256: string; from: string }>;
    const server = createServer({ allowHalfOpen: true }, (sock: Socket) => {
      const hash = createHash("sha256");
      const from = `${sock.remoteAddress}`;
      let bytes = 0;
      const readDone = new Promise<void>((resolve, reject) => {
        sock.on("error", reject);
        sock.on("end", resolve);
      });
      sock.on("data", (d: Buffer) => {
        bytes += d.length;
        hash.update(d);
      });
      atHost = (async () => {
        await writePattern(sock, DOWN, SIZE);
        sock.end();
        await readDone;
        return { bytes, sha256: hash.digest("hex"), from };
      })();
    });
    const port = await listen(server, "127.0.0.1");
    const t0 = Date.now();
    const inside = await run(["--host-loopback", "--outbound", "none", "--", ...fixture("bulk.mjs", "10.0.2.2", port, SIZE, UP)], 60_000);
    const ms = Date.now() - t0;
    expect(inside.code, show(inside)).toBe(0);
    expect(atHost, "the server had a connection").toBeDefined();
    const host = await atHost;
    const seen = JSON.parse(inside.stdout) as { received: number; sha256: string };
    expect(host.bytes).toBe(SIZE);
    expect(host.sha256).toBe(patternDigest(UP, SIZE));
    expect(host.from).toBe("127.0.0.1");
    expect(seen.received).toBe(SIZE);
    expect(seen.sha256).toBe(patternDigest(DOWN, SIZE));
    console.info(`[tsmio run] 100 MB each way through the relay: ${ms} ms (tsmio start to exit)`);
    expect(ms, "well within the time limit").toBeLessThan(20_000);
  }, 60_000);

  it("200 parallel connections through 10.0.2.2 all complete with their echo", async () => {
    const N = 200;
    const SIZE = 16 * 1024;
    const peers = new Set<number>();
    const server = createServer({ allowHalfOpen: true }, (sock: Socket) => {
      peers.add(sock.remotePort!);
      sock.on("error", () => sock.destroy());
      sock.pipe(sock);
    });
    const port = await listen(server, "127.0.0.1");
    const r = await run(["--host-loopback", "--outbound", "none", "--", ...fixture("fanout.mjs", "10.0.2.2", port, N, SIZE)], 60_000);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^ok ${N} of ${N}$`, "m"));
    expect(peers.size, "distinct host-side connections").toBe(N);
  }, 60_000);

  it("-p 127.0.0.1:HOSTPORT:8080: a loopback client is 10.0.2.2 inside, over TCP and UDP", async () => {
    const hostPort = await freePort("127.0.0.1");
    const r = tsmio(["--outbound", "none", "-p", `127.0.0.1:${hostPort}:8080`, "-p", `127.0.0.1:${hostPort}:8080/udp`, "--", ...fixture("published.mjs", 8080)]);
    await r.output(/^ready$/m);
    expect(await httpGet(`http://127.0.0.1:${hostPort}/`)).toBe("10.0.2.2");
    expect(await udpAsk("127.0.0.1", hostPort, "ping 1")).toBe("10.0.2.2 ping 1");
    expect(await udpAsk("127.0.0.1", hostPort, "ping 2")).toBe("10.0.2.2 ping 2");
    r.child.kill("SIGTERM");
    const e = await r.exit;
    expect(e.code, show(e)).toBe(143);
  });

  it("-p on another address: a client from 10.9.0.5 is seen inside as 10.9.0.5, over TCP and UDP", async () => {
    // two more addresses in the suite's own namespace (on lo: a dummy link needs a kernel module
    // that may be missing): 10.9.0.1 to publish on, 10.9.0.5 to connect from
    for (const a of ["10.9.0.1/32", "10.9.0.5/32"]) {
      const add = spawnSync("ip", ["addr", "add", a, "dev", "lo"], { encoding: "utf8" });
      expect(add.status, add.stderr).toBe(0);
      cleanups.push(() => void spawnSync("ip", ["addr", "del", a, "dev", "lo"]));
    }
    const hostPort = await freePort("10.9.0.1");
    const r = tsmio(["--outbound", "none", "-p", `10.9.0.1:${hostPort}:8080`, "-p", `10.9.0.1:${hostPort}:8080/udp`, "--", ...fixture("published.mjs", 8080)]);
    await r.output(/^ready$/m);
    const curl = spawnSync("curl", ["-sS", "-m", "5", "--interface", "10.9.0.5", `http://10.9.0.1:${hostPort}/`], { encoding: "utf8", timeout: 10_000 });
    expect(curl.status, curl.stderr).toBe(0);
    expect(curl.stdout).toBe("10.9.0.5");
    expect(await udpAsk("10.9.0.1", hostPort, "from 10.9.0.5", "10.9.0.5")).toBe("10.9.0.5 from 10.9.0.5");
    r.child.kill("SIGTERM");
    const e = await r.exit;
    expect(e.code, show(e)).toBe(143);
  });

  it("DNS at 10.0.2.3 is forwarded to --dns over UDP and TCP; getent resolves through the namespace's resolv.conf", async () => {
    let asked: Asked[];
    try {
      asked = await startDns();
    } catch (e) {
      console.warn(`[tsmio] skipping the DNS test: cannot listen on 127.0.0.1:53: ${(e as Error).message}`);
      return;
    }
    const raw = await run(["--dns", "127.0.0.1", "--outbound", "none", "--", ...fixture("dns-query.mjs", "10.0.2.3", DNS_NAME)]);
    expect(raw.code, show(raw)).toBe(0);
    expect(JSON.parse(raw.stdout)).toEqual({ udp: ["192.0.2.55"], tcp: ["192.0.2.55"] });
    expect(asked).toEqual([
      { transport: "udp", name: DNS_NAME, type: DNS_A },
      { transport: "tcp", name: DNS_NAME, type: DNS_A },
    ]);

    // getent only when the namespace's resolv.conf names 10.0.2.3 alone: no query may go elsewhere
    asked.length = 0;
    const script = `if [ "$(cat /etc/resolv.conf)" = "nameserver 10.0.2.3" ]; then exec getent ahostsv4 ${DNS_NAME}; else echo "resolv.conf: $(cat /etc/resolv.conf)"; exit 99; fi`;
    const g = await run(["--dns", "127.0.0.1", "--outbound", "none", "--", "sh", "-c", script]);
    expect(g.code, `the namespace's /etc/resolv.conf should be "nameserver 10.0.2.3"\n${show(g)}`).toBe(0);
    expect(g.stdout).toMatch(/^192\.0\.2\.55\s+STREAM example\.test$/m);
    expect(asked.length, "getent asked the test's server").toBeGreaterThan(0);
    expect(asked.filter((a) => a.type === DNS_A)).toContainEqual({ transport: "udp", name: DNS_NAME, type: DNS_A });
    expect(asked.every((a) => a.name === DNS_NAME), JSON.stringify(asked)).toBe(true);
  });

  it("--outbound none: a connection to 192.0.2.1 is refused at once, and --stats says so", async () => {
    const r = await run(["--outbound", "none", "--stats", "--", "sh", "-c", timedCurl("http://192.0.2.1/")]);
    expect(r.code, show(r)).toBe(7);
    expect(curlMs(r), "curl's wall time, ms").toBeLessThan(2000);
    // curl's own complaint comes first on the same stderr
    expect(r.stderr).toMatch(/\ntsmio: flows: 1 flow\n {2}tcp 10\.0\.2\.100:\d+ -> 192\.0\.2\.1:80 via -: 0 B up, 0 B down, refused\n$/);
  });

  it("without --host-loopback, 10.0.2.2:PORT is refused though 127.0.0.1:PORT listens", async () => {
    const s = await httpServer("127.0.0.1", "should not be reached");
    const r = await run(["--stats", "--", "sh", "-c", timedCurl(`http://10.0.2.2:${s.port}/`)]);
    expect(r.code, show(r)).toBe(7);
    expect(curlMs(r), "curl's wall time, ms").toBeLessThan(2000);
    expect(s.requests).toEqual([]);
    expect(r.stderr).toMatch(new RegExp(`tcp 10\\.0\\.2\\.100:\\d+ -> 10\\.0\\.2\\.2:${s.port} via -: 0 B up, 0 B down, refused`));
  });

  it("SIGKILL of the command: exit 137 and nothing left (processes, namespace, tun device)", async () => {
    const marker = `tsmio-run-marker-${process.pid}-${Date.now()}`;
    const tunsBefore = tunLinks();
    const r = tsmio(["--", ...fixture("idle.mjs", marker)]);
    await r.output(/^ready$/m);
    const idle = join(FIXTURES, "idle.mjs");
    const cmd = pidsWith(marker).filter((p) => p.argv[0] === NODE && p.argv[1] === idle);
    expect(cmd.length, JSON.stringify(pidsWith(marker))).toBe(1);
    const pid = cmd[0]!.pid;
    const ns = readlinkSync(`/proc/${pid}/ns/net`);
    expect(ns).not.toBe(currentNetns());
    expect(holdersOf(ns).length).toBeGreaterThan(0);
    process.kill(pid, "SIGKILL");
    const e = await r.exit;
    expect(e.code, show(e)).toBe(137);
    expect(pidsWith(marker), "no process with the marker").toEqual([]);
    expect(holdersOf(ns), "the sandbox's namespace is gone").toEqual([]);
    expect(tunLinks()).toBe(tunsBefore);
  });

  it.each([
    ["SIGTERM", 143],
    ["SIGINT", 130],
    ["SIGHUP", 129],
    ["SIGQUIT", 131],
  ] as const)("%s to tsmio reaches the command; exit %i", async (signal, status) => {
    const r = tsmio(["--", ...fixture("idle.mjs", "signals")]);
    await r.output(/^ready$/m);
    r.child.kill(signal);
    const e = await r.exit;
    expect(e.code, show(e)).toBe(status);
    expect(e.stdout).toBe(`ready\ngot ${signal}\n`);
  });

  it("passes the command's exit code through", async () => {
    const [a, b] = await Promise.all([run(["--", "sh", "-c", "exit 7"]), run(["--", "true"])]);
    expect(a.code, show(a)).toBe(7);
    expect(b.code, show(b)).toBe(0);
  });

  it("misuse: exit 2 and one line 'tsmio: ...' on stderr", async () => {
    const busy = createServer();
    const busyPort = await listen(busy, "127.0.0.1");
    const cases = [
      ["--mtu", "5", "--", "true"],
      ["--outbound", "10.0.0.1/8", "--", "true"],
      ["--no-such-option", "--", "true"],
      ["--stats"],
      ["-p", `127.0.0.1:${busyPort}:80`, "--", "true"],
    ];
    const results = await Promise.all(cases.map((c) => run(c)));
    results.forEach((r, i) => {
      const what = `${cases[i]!.join(" ")}: ${show(r)}`;
      expect(r.code, what).toBe(2);
      expect(r.stderr, what).toMatch(/^tsmio: [^\n]+\n$/);
      expect(r.stdout, what).toBe("");
    });
    expect(results[4]!.stderr).toMatch(new RegExp(`${busyPort}.*EADDRINUSE|EADDRINUSE.*${busyPort}|${busyPort}.*in use`, "i"));
  });

  // as an unprivileged user with /dev/net/tun closed to others (this machine, CI), no sandbox can be made
  const tunClosedToOthers = (() => {
    try {
      return (statSync("/dev/net/tun").mode & 0o006) === 0;
    } catch {
      return true;
    }
  })();
  it.skipIf(!tunClosedToOthers)("an impossible setup (unprivileged, no TUN access): exit 2 and one line naming the cause", async () => {
    const child = spawn(NODE, ["--import", LOADER, MAIN, "run", "--", "true"], { cwd: ROOT, uid: 65534, gid: 65534, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
    clearTimeout(timer);
    expect(code, stderr).toBe(2);
    expect(stderr).toMatch(/^tsmio: [^\n]*sandbox[^\n]*\/dev\/net\/tun[^\n]*\n$/);
    expect(stdout).toBe("");
  });

  /** `curl http://10.0.2.2:PORT/` of a page through `tsmio run --pcap`; resolves with the capture's file name. */
  async function capturedFetch(): Promise<string> {
    const body = page(9);
    const s = await httpServer("127.0.0.1", body);
    const file = join(dir, "run.pcap");
    const r = await run(["--host-loopback", "--outbound", "none", "--pcap", file, "--", "curl", "-sS", "-m", "5", `http://10.0.2.2:${s.port}/`]);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toBe(body);
    return file;
  }

  it.skipIf(!hasTshark && !process.env.CI)("--pcap FILE: tshark reads the capture, sees the handshake, flags nothing", async () => {
    const file = await capturedFetch();
    const syns = matching(file, "tcp.flags.syn==1 && tcp.flags.ack==0");
    expect(syns.length, syns.join("\n")).toBe(1);
    expect(syns[0]).toMatch(/10\.0\.2\.100 → 10\.0\.2\.2 .*\[SYN\]/);
    expect(matching(file, "tcp.flags.syn==1 && tcp.flags.ack==1 && ip.src==10.0.2.2").length, "the SYN-ACK").toBe(1);
    expect(flagged(file), "malformed frames, bad checksums, expert warnings").toEqual([]);
  });

  it.skipIf(!hasTshark && !process.env.CI)("a relayed connection is answered as the kernel would: the SYN's options taken, full-size segments", async () => {
    const file = await capturedFetch();
    const fields = (filter: string, ...names: string[]): string[][] =>
      tshark(file, "-Y", filter, "-T", "fields", ...names.flatMap((n) => ["-e", n]))
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => l.split("\t"));
    const opts = ["tcp.options.mss_val", "tcp.options.wscale.shift", "tcp.options.sack_perm", "tcp.options.timestamp.tsval"];
    const [syn] = fields("tcp.flags.syn==1 && tcp.flags.ack==0", ...opts);
    const [synAck] = fields("tcp.flags.syn==1 && tcp.flags.ack==1", ...opts);
    // the sandbox's kernel offers MSS, window scale, SACK and timestamps; Linux would answer with all four
    expect(syn!.every((f) => f !== ""), `SYN options ${syn!.join(" | ")}`).toBe(true);
    expect(synAck!.every((f) => f !== ""), `SYN-ACK options ${synAck!.join(" | ")}`).toBe(true);
    // the page is 16 KiB: with the SYN's MSS (65480) the relay sends it in segments far above 536 bytes
    const lens = fields("ip.src==10.0.2.2 && tcp.len > 0", "tcp.len").map(([n]) => Number(n));
    expect(Math.max(...lens), `segment sizes from the relay: ${lens.join(" ")}`).toBeGreaterThan(536);
  });
});

if (!hasTshark && !process.env.CI) console.warn(`[tsmio] skipping the --pcap tests of "tsmio run": tshark is not installed`);

/** A TCP port free on `host` (and then closed: for -p HOSTPORT). */
async function freePort(host: string): Promise<number> {
  const s = createServer();
  const port = await new Promise<number>((resolve, reject) => {
    s.once("error", reject);
    s.listen(0, host, () => resolve((s.address() as AddressInfo).port));
  });
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** GET `url` with node:http; resolves with the body (5 s at most). */
function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock: Socket = connect(Number(new URL(url).port), new URL(url).hostname);
    const parts: Buffer[] = [];
    sock.setTimeout(5000, () => sock.destroy(new Error(`GET ${url}: timed out`)));
    sock.on("error", reject);
    sock.on("data", (d: Buffer) => parts.push(d));
    sock.on("end", () => {
      const text = Buffer.concat(parts).toString();
      const at = text.indexOf("\r\n\r\n");
      if (!/^HTTP\/1\.1 200 /.test(text) || at < 0) reject(new Error(`GET ${url}: ${text}`));
      else resolve(text.slice(at + 4));
    });
    sock.write(`GET / HTTP/1.1\r\nHost: tsmio\r\nConnection: close\r\n\r\n`);
  });
}

/** Sends `text` to `host:port` over UDP (from `from`, if given) and resolves with the reply (3 s at most). */
async function udpAsk(host: string, port: number, text: string, from?: string): Promise<string> {
  const sock = createSocket("udp4");
  try {
    await new Promise<void>((resolve) => sock.bind(0, from, resolve));
    return await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no UDP reply to "${text}" from ${host}:${port}`)), 3000);
      sock.on("message", (msg) => {
        clearTimeout(t);
        resolve(msg.toString());
      });
      sock.send(text, port, host);
    });
  } finally {
    sock.close();
  }
}
