/**
 * The sandbox launcher of `tsmio run` (src/relay/sandbox.ts): a command in a
 * network namespace of its own whose interface tsmio0 is a TUN device held by
 * this process. Here a Stack (10.0.2.2/24, fd00::2/64) on a real-clock Poll
 * serves the descriptor: what the command sees of its namespace, ping
 * answered by the Stack, and that killing the sandbox leaves nothing behind.
 * Runs in a fresh network namespace of its own (the sandbox's is another).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
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
const events = new Events(64);

/** Starts CMD in a sandbox served by a Stack on `poll`, and lets it run. */
async function serve(command: string, args: string[]): Promise<Sandbox> {
  sandbox = await startSandbox({ command, args, mtu: 1500 });
  tun = TunDevice.fromFd(sandbox.tunFd, sandbox);
  stack = new Stack({ poll, device: tun, addresses: ["10.0.2.2/24", "fd00::2/64"] });
  sandbox.start();
  return sandbox;
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

netnsSuite("sandbox launcher", () => {
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "tsmio-sandbox-"));
    poll = new Poll();
  });

  afterEach(async () => {
    if (sandbox !== null) {
      // SIGTERM reaches the command through the helper; SIGKILL would leave the command orphaned
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
      const sb = await serve("sh", ["-c", `echo $$ > ${pidFile}.tmp && mv ${pidFile}.tmp ${pidFile} && exec sleep 30`]);
      const ns = readlinkSync(`/proc/${sb.pid}/ns/net`);
      expect(ns, "the sandbox has a namespace of its own").not.toBe(readlinkSync("/proc/thread-self/ns/net"));
      const end = Date.now() + 10_000;
      while (!existsSync(pidFile)) {
        if (Date.now() > end) throw new Error("the command did not start within 10 s");
        await poll.pollAsync(events, 20);
      }
      const cmdPid = Number(readFileSync(pidFile, "utf8"));
      expect(readlinkSync(`/proc/${cmdPid}/ns/net`), "the command runs in the sandbox's namespace").toBe(ns);
      // (run from the TypeScript sources the helper also has an esbuild service process)
      expect(processesIn(ns)).toEqual(expect.arrayContaining([sb.pid, cmdPid]));

      sb.kill("SIGTERM");
      // the command (sleep) died of the forwarded SIGTERM: 128 + 15
      expect(await pollUntil(sb.wait(), 10_000)).toBe(143);
      expect(existsSync(`/proc/${cmdPid}`), `command ${cmdPid} still exists`).toBe(false);
      expect(existsSync(`/proc/${sb.pid}`), `helper ${sb.pid} still exists`).toBe(false);
      // the helper's own children, if any (the esbuild service), end when it does: allow them a moment
      const gone = Date.now() + 2000;
      while (processesIn(ns).length > 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 20));
      expect(processesIn(ns)).toEqual([]);
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
        const sb = await startSandbox({ command: "sh", args: ["-c", ${JSON.stringify(`echo $$ > ${pidFile}.tmp && mv ${pidFile}.tmp ${pidFile} && exec sleep 30`)}] });
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
        const helperPid = Number(out.trim());
        const cmdPid = Number(readFileSync(pidFile, "utf8"));
        expect(existsSync(`/proc/${cmdPid}`), "the command runs").toBe(true);

        parent.kill("SIGKILL");
        await parentExit;
        const gone = Date.now() + 5000;
        while ((existsSync(`/proc/${cmdPid}`) || existsSync(`/proc/${helperPid}`)) && Date.now() < gone) {
          await new Promise((r) => setTimeout(r, 20));
        }
        expect(existsSync(`/proc/${cmdPid}`), `command ${cmdPid} outlived the parent`).toBe(false);
        expect(existsSync(`/proc/${helperPid}`), `helper ${helperPid} outlived the parent`).toBe(false);
      } finally {
        parent.kill("SIGKILL");
      }
    },
    TEST_MS,
  );
});
