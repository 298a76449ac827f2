/**
 * The sandbox launcher of `tsmio run` (src/relay/sandbox.ts): a command in a
 * network namespace of its own whose interface tsmio0 is a TUN device held by
 * this process. Here a Stack (10.0.2.2/24, fd00::2/64) on a real-clock Poll
 * serves the descriptor: what the command sees of its namespaces, ping
 * answered by the Stack, signals reaching the command, and that the end of
 * the sandbox, however it comes (command done, kill(), SIGKILL of the
 * helper, of `unshare` or of the parent), leaves no process behind.
 * Runs in a fresh network namespace of its own (the sandbox's is another).
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, expect, it } from "vitest";
import { Events, Poll, Stack, TunDevice } from "../../src/index.js";
import { startSandbox, type Sandbox } from "../../src/relay/sandbox.js";
import { netnsSuite } from "../support/netns.js";

const TEST_MS = 30_000;

let dir: string;
let poll: Poll;
let stack: Stack | null = null;
let tun: TunDevice | null = null;
let sandbox: Sandbox | null = null;
/** The network namespace of the sandbox `serve` started last. */
let ns = "";
const events = new Events(64);

/** Starts CMD in a sandbox served by a Stack on `poll`, and lets it run. */
async function serve(command: string, args: string[], resolvConf?: string): Promise<Sandbox> {
  sandbox = await startSandbox({ command, args, mtu: 1500, resolvConf });
  // unshare (sandbox.pid) is in the sandbox's network namespace until the helper ends
  ns = readlinkSync(`/proc/${sandbox.pid}/ns/net`);
  tun = TunDevice.fromFd(sandbox.tunFd, sandbox);
  stack = new Stack({ poll, device: tun, addresses: ["10.0.2.2/24", "fd00::2/64"] });
  sandbox.start();
  return sandbox;
}

/** A shell script that writes the shell's pid (in the sandbox's PID namespace) to `pidFile`, then `rest`. */
function writePid(pidFile: string, rest: string): string[] {
  return ["-c", `echo $$ > ${pidFile}.tmp && mv ${pidFile}.tmp ${pidFile} && ${rest}`];
}

/** Drives the Poll until `path` exists; at most `limitMs`. */
async function fileAppears(path: string, limitMs = 10_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!existsSync(path)) {
    if (Date.now() > end) throw new Error(`${path} did not appear within ${limitMs} ms`);
    await poll.pollAsync(events, 20);
  }
}

/** Drives the Poll (so the Stack answers) until `done` settles; at most `limitMs`. */
async function pollUntil<T>(done: Promise<T>, limitMs = 15_000): Promise<T> {
  let out: { value: T } | null = null;
  let failure: unknown = null;
  done.then(
    (value) => (out = { value }),
    (e: unknown) => (failure = e ?? new Error("failed")),
  );
  const end = Date.now() + limitMs;
  while (out === null && failure === null) {
    if (Date.now() > end) throw new Error(`still waiting after ${limitMs} ms`);
    await poll.pollAsync(events, 20);
  }
  if (failure !== null) throw failure;
  return (out as unknown as { value: T }).value;
}

/** Pids of the processes whose network namespace is `ns` (e.g. `net:[4026532...]`). */
function processesIn(ns: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/net`) === ns) pids.push(Number(entry));
    } catch {
      // the process ended meanwhile, or is not ours to inspect
    }
  }
  return pids;
}

/** A /proc/PID/status field, or null when the process is gone. */
function statusField(pid: number, field: string): string | null {
  try {
    return new RegExp(`^${field}:\\s*(.*)$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? null;
  } catch {
    return null;
  }
}

/**
 * Whether process `pid` runs: exists and is not a zombie (a process whose
 * parent died is reaped by an init outside the test's control, in its own time).
 */
function alive(pid: number): boolean {
  return !(statusField(pid, "State")?.startsWith("Z") ?? true);
}

/** The pid, as this process sees it, of the process in `netns` whose pid in its own PID namespace is `inner`. */
function hostPid(netns: string, inner: number): number {
  for (const pid of processesIn(netns)) {
    const ids = statusField(pid, "NSpid")?.split(/\s+/).map(Number) ?? [];
    // [pid here, ..., pid in the innermost namespace]: two entries, the sandbox has a PID namespace of its own
    if (ids.length > 1 && ids[ids.length - 1] === inner) return pid;
  }
  throw new Error(`no process ${inner} in ${netns}`);
}

/** The children of `parent` (from every process's PPid). */
function childrenOf(parent: number): number[] {
  return readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e) && statusField(Number(e), "PPid") === String(parent))
    .map(Number);
}

/** Waits (at most `limitMs`) until no process is in `netns`; returns those left. */
async function emptied(netns: string, limitMs = 5000): Promise<number[]> {
  const end = Date.now() + limitMs;
  while (processesIn(netns).length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return processesIn(netns);
}

/** Waits (at most `limitMs`) until none of `pids` runs (a process may still be exiting); returns those that do. */
async function ended(pids: number[], limitMs = 5000): Promise<number[]> {
  const end = Date.now() + limitMs;
  while (pids.some(alive) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return pids.filter(alive);
}

/** Open descriptors (of any process) and mounts that refer to namespace `netns`. */
function referencesTo(netns: string): string[] {
  const refs: string[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      for (const fd of readdirSync(`/proc/${entry}/fd`)) {
        try {
          if (readlinkSync(`/proc/${entry}/fd/${fd}`) === netns) refs.push(`fd ${fd} of ${entry}`);
        } catch {
          // closed meanwhile
        }
      }
    } catch {
      // the process ended meanwhile
    }
  }
  const inode = /\[(\d+)\]/.exec(netns)![1]!;
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    if (line.includes("nsfs") && line.includes(`net:[${inode}]`)) refs.push(`mount ${line}`);
  }
  return refs;
}

netnsSuite("sandbox launcher", () => {
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "tsmio-sandbox-"));
    poll = new Poll();
  });

  afterEach(async () => {
    if (sandbox !== null) {
      // SIGTERM reaches the command through the helper; SIGKILL ends the whole sandbox
      const sb = sandbox;
      sandbox = null;
      sb.kill("SIGTERM");
      const timer = setTimeout(() => sb.kill("SIGKILL"), 5000);
      await sb.wait();
      clearTimeout(timer);
    }
    stack?.close();
    tun?.close();
    stack = tun = null;
    poll.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    "the helper, PID 1 of the sandbox, collects the orphans the command leaves: no zombie stays",
    async () => {
      const out = join(dir, "zombies");
      // three orphans (their shell exits at once) that end after 0.2 s; then count zombies
      const script = `for i in 1 2 3; do sh -c "sleep 0.2 &"; done; sleep 1; grep -l '^[0-9]* ([^)]*) Z' /proc/[0-9]*/stat | wc -l > ${out}`;
      const sb = await serve("sh", ["-c", script]);
      expect(await pollUntil(sb.wait())).toBe(0);
      expect(readFileSync(out, "utf8").trim()).toBe("0");
    },
    TEST_MS,
  );

  it(
    "runs the command in a namespace with tsmio0 configured, and returns its exit code",
    async () => {
      const addr = join(dir, "addr.json");
      const route = join(dir, "route.json");
      const sb = await serve("sh", ["-c", `ip -j addr > ${addr}; ip -j route > ${route}; exit 7`]);
      expect(sb.name).toBe("tsmio0");
      expect(await pollUntil(sb.wait())).toBe(7);

      const links = JSON.parse(readFileSync(addr, "utf8")) as Array<{
        ifname: string;
        mtu: number;
        flags: string[];
        addr_info: Array<{ family: string; local: string; prefixlen: number }>;
      }>;
      expect(links.map((l) => l.ifname).sort()).toEqual(["lo", "tsmio0"]);
      const lo = links.find((l) => l.ifname === "lo")!;
      expect(lo.flags).toContain("UP");
      const tsmio0 = links.find((l) => l.ifname === "tsmio0")!;
      expect(tsmio0.flags).toContain("UP");
      expect(tsmio0.mtu).toBe(1500);
      const local = tsmio0.addr_info.map((a) => `${a.local}/${a.prefixlen}`);
      expect(local).toContain("10.0.2.100/24");
      expect(local).toContain("fd00::100/64");

      const routes = JSON.parse(readFileSync(route, "utf8")) as Array<{ dst: string; gateway?: string; dev: string }>;
      expect(routes).toContainEqual(expect.objectContaining({ dst: "default", gateway: "10.0.2.2", dev: "tsmio0" }));
    },
    TEST_MS,
  );

  it(
    "ping in the sandbox is answered by the parent's Stack, over IPv4 and IPv6",
    async () => {
      const out4 = join(dir, "ping4.txt");
      const out6 = join(dir, "ping6.txt");
      const sb = await serve("sh", [
        "-c",
        `ping -n -c 2 -W 2 10.0.2.2 > ${out4} && ping -n -6 -c 2 -W 2 fd00::2 > ${out6}`,
      ]);
      const code = await pollUntil(sb.wait());
      const text4 = readFileSync(out4, "utf8");
      expect(code, `ping output:\n${text4}\n${existsSync(out6) ? readFileSync(out6, "utf8") : ""}`).toBe(0);
      expect(text4).toMatch(/2 packets transmitted, 2 received/);
      expect(text4).toMatch(/bytes from 10\.0\.2\.2: icmp_seq=1/);
      const text6 = readFileSync(out6, "utf8");
      expect(text6).toMatch(/2 packets transmitted, 2 received/);
      expect(text6).toMatch(/bytes from fd00::2: icmp_seq=1/);
    },
    TEST_MS,
  );

  it(
    "kill(SIGTERM) ends the command and the helper, leaving no process in the namespace",
    async () => {
      const pidFile = join(dir, "pid");
      const sb = await serve("sh", writePid(pidFile, "exec sleep 30"));
      expect(ns, "the sandbox has a namespace of its own").not.toBe(readlinkSync("/proc/thread-self/ns/net"));
      await fileAppears(pidFile);
      const cmdPid = hostPid(ns, Number(readFileSync(pidFile, "utf8")));
      expect(readlinkSync(`/proc/${cmdPid}/ns/net`), "the command runs in the sandbox's namespace").toBe(ns);
      const [helper] = childrenOf(sb.pid);
      expect(statusField(helper!, "NSpid"), "the helper is pid 1 of its PID namespace").toBe(`${helper}\t1`);
      // the configuration (with the command's environment) is not in anyone's argv, which every user can read
      for (const pid of [sb.pid, helper!]) expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).not.toContain("exec sleep 30");
      // (run from the TypeScript sources the helper also has an esbuild service process)
      expect(processesIn(ns)).toEqual(expect.arrayContaining([sb.pid, helper, cmdPid]));

      sb.kill("SIGTERM");
      // the command (sleep) died of the forwarded SIGTERM: 128 + 15
      expect(await pollUntil(sb.wait(), 10_000)).toBe(143);
      expect(existsSync(`/proc/${cmdPid}`), `command ${cmdPid} still exists`).toBe(false);
      expect(existsSync(`/proc/${sb.pid}`), `unshare ${sb.pid} still exists`).toBe(false);
      // the helper's own children, if any (the esbuild service), end when it does: allow them a moment
      expect(await emptied(ns, 2000)).toEqual([]);
      sandbox = null;
    },
    TEST_MS,
  );

  it(
    "when the parent dies, the helper kills the command and exits",
    async () => {
      const pidFile = join(dir, "pid");
      const loader = fileURLToPath(new URL("../../scripts/ts-loader.mjs", import.meta.url));
      const launcher = new URL("../../src/relay/sandbox.ts", import.meta.url).href;
      const code = `
        const { startSandbox } = await import(${JSON.stringify(launcher)});
        const sb = await startSandbox({ command: "sh", args: ${JSON.stringify(writePid(pidFile, "exec sleep 30"))} });
        sb.start();
        process.stdout.write(sb.pid + "\\n");
        setTimeout(() => {}, 30000);`;
      const parent = spawn(process.execPath, ["--import", loader, "--input-type=module", "-e", code], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      const parentExit = new Promise<void>((resolve) => parent.on("exit", () => resolve()));
      try {
        let out = "";
        parent.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
        const end = Date.now() + 10_000;
        while (!out.includes("\n") || !existsSync(pidFile)) {
          if (Date.now() > end) throw new Error(`the sandbox did not start within 10 s (parent said ${JSON.stringify(out)})`);
          await new Promise((r) => setTimeout(r, 20));
        }
        const unsharePid = Number(out.trim());
        const sandboxNs = readlinkSync(`/proc/${unsharePid}/ns/net`);
        const cmdPid = hostPid(sandboxNs, Number(readFileSync(pidFile, "utf8")));
        const [helperPid] = childrenOf(unsharePid);
        expect(existsSync(`/proc/${cmdPid}`), "the command runs").toBe(true);

        parent.kill("SIGKILL");
        await parentExit;
        expect(await emptied(sandboxNs), "processes outlived the parent").toEqual([]);
        const pids = { command: cmdPid, helper: helperPid!, unshare: unsharePid };
        expect(await ended(Object.values(pids)), `outlived the parent: ${JSON.stringify(pids)}`).toEqual([]);
      } finally {
        parent.kill("SIGKILL");
      }
    },
    TEST_MS,
  );

  it(
    "kill() delivers the signal to the command, which may handle it: its status is the sandbox's",
    async () => {
      const ready = join(dir, "ready");
      const got = join(dir, "got");
      // the trap runs between two short sleeps
      const sb = await serve("sh", [
        "-c",
        `trap 'echo TERM > ${got}; exit 42' TERM; touch ${ready}; i=0; while [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; exit 3`,
      ]);
      await fileAppears(ready);
      sb.kill("SIGTERM");
      expect(await pollUntil(sb.wait(), 10_000)).toBe(42);
      expect(readFileSync(got, "utf8")).toBe("TERM\n");
      expect(await emptied(ns, 2000)).toEqual([]);
      sandbox = null;
    },
    TEST_MS,
  );

  it(
    "SIGKILL of the helper (pid 1 of the sandbox) ends the command and the processes it left behind",
    async () => {
      const pidFile = join(dir, "pid");
      const orphanFile = join(dir, "orphan");
      // the subshell exits at once, so its sleep becomes the helper's child (the namespace's init adopts orphans)
      const sb = await serve(
        "sh",
        writePid(pidFile, `(sleep 300 & echo $! > ${orphanFile}.tmp && mv ${orphanFile}.tmp ${orphanFile}) && exec sleep 300`),
      );
      await fileAppears(pidFile);
      await fileAppears(orphanFile);
      const cmdPid = hostPid(ns, Number(readFileSync(pidFile, "utf8")));
      const orphan = hostPid(ns, Number(readFileSync(orphanFile, "utf8")));
      const [helper] = childrenOf(sb.pid);
      expect(helper).toBeDefined();
      expect(statusField(orphan, "PPid"), "the orphan was adopted by the helper").toBe(String(helper));

      process.kill(helper!, "SIGKILL");
      // util-linux 2.38 unshare says 1 for a child killed by a signal; later versions re-raise it (137)
      expect(await pollUntil(sb.wait(), 10_000)).not.toBe(0);
      sandbox = null;
      expect(await emptied(ns), "processes outlived the helper").toEqual([]);
      const pids = { command: cmdPid, orphan, helper: helper!, unshare: sb.pid };
      expect(await ended(Object.values(pids)), `outlived the helper: ${JSON.stringify(pids)}`).toEqual([]);
    },
    TEST_MS,
  );

  it(
    "SIGKILL of unshare ends the helper and the command; wait() says 137",
    async () => {
      const pidFile = join(dir, "pid");
      const sb = await serve("sh", writePid(pidFile, "exec sleep 300"));
      await fileAppears(pidFile);
      const cmdPid = hostPid(ns, Number(readFileSync(pidFile, "utf8")));
      const [helper] = childrenOf(sb.pid);

      process.kill(sb.pid, "SIGKILL");
      // without turning the event loop, so the launcher cannot see unshare end and close the control socket:
      // the kernel alone (unshare's --kill-child, then the PID namespace's end) must end them
      const sleeper = new Int32Array(new SharedArrayBuffer(4));
      const end = Date.now() + 5000;
      while ((alive(cmdPid) || alive(helper!)) && Date.now() < end) Atomics.wait(sleeper, 0, 0, 10);
      for (const pid of [cmdPid, helper!]) expect(alive(pid), `${pid} outlived unshare`).toBe(false);
      expect(await pollUntil(sb.wait(), 10_000)).toBe(137);
      sandbox = null;
      expect(await emptied(ns), "processes outlived unshare").toEqual([]);
    },
    TEST_MS,
  );

  it(
    "kill(SIGKILL) ends the whole sandbox at once; then nothing refers to its namespace and no interface is left",
    async () => {
      const links = (): string[] =>
        (JSON.parse(execFileSync("ip", ["-j", "link"], { encoding: "utf8" })) as Array<{ ifname: string }>).map((l) => l.ifname).sort();
      const before = links();
      const pidFile = join(dir, "pid");
      const sb = await serve("sh", writePid(pidFile, "exec sleep 300"));
      await fileAppears(pidFile);
      const cmdPid = hostPid(ns, Number(readFileSync(pidFile, "utf8")));

      sb.kill("SIGKILL");
      expect(await pollUntil(sb.wait(), 10_000)).toBe(137);
      sandbox = null;
      expect(await emptied(ns)).toEqual([]);
      expect(await ended([cmdPid]), "the command outlived kill(SIGKILL)").toEqual([]);
      // the TUN descriptor is the namespace's last reference; closing it removes the interface
      expect(referencesTo(ns)).toEqual([]);
      stack!.close();
      tun!.close();
      stack = tun = null;
      expect(referencesTo(ns)).toEqual([]);
      expect(links()).toEqual(before);
    },
    TEST_MS,
  );

  it(
    "resolvConf is the command's /etc/resolv.conf, in a mount and PID namespace of its own; the host's file is untouched",
    async () => {
      const hostResolv = readFileSync("/etc/resolv.conf", "utf8");
      const hostMounts = readFileSync("/proc/self/mountinfo", "utf8");
      const content = "nameserver 10.0.2.3\noptions ndots:1\n";
      const out = join(dir, "resolv.txt");
      const procs = join(dir, "procs.txt");
      const init = join(dir, "init.txt");
      const release = join(dir, "release");
      const sb = await serve(
        "sh",
        [
          "-c",
          `cat /etc/resolv.conf > ${out}.tmp; tr '\\0' ' ' < /proc/1/cmdline > ${init}; ls /proc | grep -c '^[0-9]' > ${procs}; ` +
            `mv ${out}.tmp ${out}; i=0; while [ ! -e ${release} ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done`,
        ],
        content,
      );
      await fileAppears(out);
      expect(readFileSync(out, "utf8")).toBe(content);
      // while the sandbox runs, the host sees its own file and mounts
      expect(readFileSync("/etc/resolv.conf", "utf8")).toBe(hostResolv);
      expect(readFileSync("/proc/self/mountinfo", "utf8")).toBe(hostMounts);
      // /proc is the sandbox's: pid 1 is the helper, and only a handful of processes (helper, maybe esbuild, sh, ls, grep)
      expect(readFileSync(init, "utf8")).toMatch(/sandbox-child\.(ts|js)/);
      expect(Number(readFileSync(procs, "utf8"))).toBeLessThan(10);
      writeFileSync(release, "");
      expect(await pollUntil(sb.wait(), 10_000)).toBe(0);
      expect(readFileSync("/etc/resolv.conf", "utf8")).toBe(hostResolv);
      expect(await emptied(ns, 2000)).toEqual([]);
      sandbox = null;
    },
    TEST_MS,
  );
});
