/**
 * ref()/unref(): a connected TcpSocket keeps the process alive; after
 * unref() the process exits (kernel and virtual sockets). Run in child
 * processes.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "tsmio-ref-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const index = pathToFileURL(join(root, "src/index.ts")).href;
const scripts = {
  kernel: `
import { kernel, connect } from ${JSON.stringify(index)};
const l = kernel.tcpBind("127.0.0.1:0");
const c = connect(kernel, "127.0.0.1:" + l.localAddr().port);
c.on("connect", () => { console.log("connected"); if (process.argv[2] === "unref") c.unref(); });
`,
  virtual: `
import { Poll, Link, Stack, connect } from ${JSON.stringify(index)};
const poll = new Poll();
const link = new Link({ mtu: 1500 });
const a = new Stack({ poll, device: link.a, addresses: ["10.0.0.1/24"] });
const b = new Stack({ poll, device: link.b, addresses: ["10.0.0.2/24"] });
b.tcpBind("10.0.0.2:80");
const c = connect(a, "10.0.0.2:80");
c.on("connect", () => { console.log("connected"); if (process.argv[2] === "unref") c.unref(); });
`,
};

let scriptCount = 0;

/**
 * Runs `script` with `arg`; resolves with its output and exit code, or
 * "alive" if it still runs `aliveMs` after printing "connected" (then kills
 * it). Killed after 15 s in any case.
 */
function run(script: string, arg: string, aliveMs: number): Promise<{ out: string; code: number | null | "alive" }> {
  const file = join(dir, `script-${scriptCount++}.ts`);
  writeFileSync(file, script);
  return new Promise((res) => {
    const child = spawn(process.execPath, ["--import", join(root, "scripts/ts-loader.mjs"), file, arg], { cwd: root });
    let out = "";
    const timers: NodeJS.Timeout[] = [];
    const kill = (): void => {
      child.kill("SIGKILL");
      res({ out, code: "alive" });
    };
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("connected")) timers.push(setTimeout(kill, aliveMs));
    });
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    timers.push(setTimeout(kill, 15_000));
    child.on("exit", (code) => {
      for (const t of timers) clearTimeout(t);
      res({ out, code });
    });
  });
}

describe.each(["kernel", "virtual"] as const)("ref/unref (%s)", (name) => {
  it("an unref'd socket lets the process exit; a referenced one keeps it alive", async () => {
    const [unref, keep] = await Promise.all([run(scripts[name], "unref", 5_000), run(scripts[name], "keep", 1_500)]);
    expect(unref.out.trim()).toBe("connected");
    expect(unref.code).toBe(0);
    expect(keep.out.trim()).toBe("connected");
    expect(keep.code).toBe("alive");
  });
});
