/**
 * The package as another project sees it: `npm install <path-to-tsmio>` and
 * `import { Poll, TcpListener } from "tsmio"` from plain JavaScript, the
 * `tsmio` bin, and the seed example that `npm start` runs.
 */
import { describe, expect, it, beforeAll, afterAll } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const npm = (args: string[], cwd: string): string =>
  execFileSync("npm", args, { cwd, encoding: "utf8", env: { ...process.env, npm_config_audit: "false", npm_config_fund: "false" } });

const CONSUMER = `
import { Poll, Events, Token, Interest, TcpListener, TcpStream, WOULD_BLOCK } from "tsmio";
const poll = new Poll();
const events = new Events(8);
const server = TcpListener.bind("127.0.0.1:0");
poll.registry().register(server, Token(0), Interest.READABLE);
const client = TcpStream.connect(server.localAddr());
let accepted = null;
for (let i = 0; i < 100 && !accepted; i++) {
  poll.poll(events, 100);
  for (const ev of events) if (ev.token() === 0) { const r = server.accept(); if (r !== WOULD_BLOCK) accepted = r; }
}
const msg = new TextEncoder().encode("from plain js");
client.write(msg);
const buf = new Uint8Array(64);
let n = WOULD_BLOCK;
for (let i = 0; i < 100 && n === WOULD_BLOCK; i++) { poll.poll(events, 10); n = accepted[0].read(buf); }
console.log(new TextDecoder().decode(buf.subarray(0, n)));
accepted[0].close(); client.close(); server.close(); poll.close();
`;

describe("package", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "tsmio-consumer-"));
    const pkg = { name: "consumer", private: true, type: "module" };
    writeFileSync(join(dir, "package.json"), JSON.stringify(pkg));
    writeFileSync(join(dir, "main.js"), CONSUMER);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("is built: dist has the bundle, the types, the bin and the playground page", () => {
    for (const f of ["dist/index.js", "dist/index.d.ts", "dist/cli.js", "dist/playground-page/index.html", "dist/playground-page/playground.js", "build/Release/tsmio.node"]) {
      expect(existsSync(join(root, f)), f).toBe(true);
    }
  });

  it("installs into another project by path and imports from plain JavaScript", () => {
    // a linked checkout is already built: its scripts (which rebuild dist/) must not run again
    npm(["install", "--no-save", "--ignore-scripts", root], dir);
    const out = execFileSync(process.execPath, ["main.js"], { cwd: dir, encoding: "utf8" });
    expect(out.trim()).toBe("from plain js");
  }, 120_000);

  it("installs from its packed tarball, building the addon on install", () => {
    const packDir = mkdtempSync(join(tmpdir(), "tsmio-pack-"));
    try {
      const tgz = npm(["pack", "--pack-destination", packDir, "--ignore-scripts"], root).trim().split("\n").pop()!;
      const other = join(dir, "tarball");
      execFileSync("mkdir", ["-p", other]);
      // npm 11 runs a dependency's install script (here: node-gyp) only when allowed
      const pkg = { name: "consumer2", private: true, type: "module", allowScripts: { tsmio: true } };
      writeFileSync(join(other, "package.json"), JSON.stringify(pkg));
      writeFileSync(join(other, "main.js"), CONSUMER);
      npm(["install", "--no-save", join(packDir, tgz)], other);
      expect(existsSync(join(other, "node_modules/tsmio/build/Release/tsmio.node"))).toBe(true);
      const out = execFileSync(process.execPath, ["main.js"], { cwd: other, encoding: "utf8" });
      expect(out.trim()).toBe("from plain js");
    } finally {
      rmSync(packDir, { recursive: true, force: true });
    }
  }, 240_000);

  it("has a tsmio bin that answers --help and --version", () => {
    expect(execFileSync(process.execPath, [join(root, "dist/cli.js"), "--help"], { encoding: "utf8" })).toContain("tsmio run");
    expect(execFileSync(process.execPath, [join(root, "dist/cli.js"), "--version"], { encoding: "utf8" })).toMatch(/^tsmio \d+\.\d+\.\d+/);
  });
});

describe("examples/hello.ts (the mio README example, what `npm start` runs)", () => {
  it("accepts, drops, and the client sees its event", () => {
    const out = execFileSync(
      process.execPath,
      ["--import", "./scripts/ts-loader.mjs", "examples/hello.ts", "127.0.0.1:0"],
      { cwd: root, encoding: "utf8", timeout: 20_000 },
    );
    expect(out).toMatch(/^server: accepted a connection from 127\.0\.0\.1:\d+$/m);
    expect(out).toMatch(/^client: (writable|readable), done$/m);
  });
});
