/**
 * `tsmio playground` and its server: the page's files with their types,
 * nothing else (404), GET and HEAD only (405), a clear error when the page
 * is not built; the command prints its address, serves, stops on SIGINT
 * with status 0, and refuses bad options with one line and status 2.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { servePlayground } from "../../src/playground/serve.js";

const root = process.cwd();
const dir = mkdtempSync(join(tmpdir(), "tsmio-serve-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One request: status, content type and body. */
function fetchRaw(url: string, method = "GET"): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"] ?? ""), body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("servePlayground", () => {
  it("serves the page's files only, GET and HEAD only", async () => {
    const page = join(dir, "page");
    mkdirSync(page);
    writeFileSync(join(page, "index.html"), "<!doctype html><title>t</title>");
    writeFileSync(join(page, "playground.js"), "export {};");
    writeFileSync(join(dir, "secret.txt"), "no");
    const s = await servePlayground({ dir: page });
    try {
      expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect(await fetchRaw(s.url)).toEqual({ status: 200, type: "text/html; charset=utf-8", body: "<!doctype html><title>t</title>" });
      expect(await fetchRaw(`${s.url}playground.js`)).toMatchObject({ status: 200, type: "text/javascript; charset=utf-8", body: "export {};" });
      expect((await fetchRaw(`${s.url}playground.js`, "HEAD")).body).toBe("");
      expect((await fetchRaw(`${s.url}playground.js.map`)).status).toBe(404);
      expect((await fetchRaw(`${s.url}../secret.txt`)).status).toBe(404);
      expect((await fetchRaw(`${s.url}%2e%2e/secret.txt`)).status).toBe(404);
      expect((await fetchRaw(s.url, "POST")).status).toBe(405);
    } finally {
      await s.close();
    }
  });

  it("says how to build the page when it is missing", async () => {
    await expect(servePlayground({ dir: join(dir, "nothing") })).rejects.toThrow(/the playground is not built .* run npm run build/);
  });
});

describe("tsmio playground", () => {
  const cli = join(root, "dist/cli.js");

  it("prints its address, serves the built page, and stops on SIGINT with status 0", async () => {
    const child = spawn(process.execPath, [cli, "playground", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8");
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (c: string) => {
        out += c;
        const m = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once("exit", (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    const page = await fetchRaw(url);
    expect(page.status).toBe(200);
    expect(page.body).toContain("tsmio playground");
    expect((await fetchRaw(`${url}playground.js`)).body.length).toBeGreaterThan(50_000);
    const code = new Promise<number | null>((resolve) => child.once("exit", resolve));
    child.kill("SIGINT");
    expect(await code).toBe(0);
  });

  it("refuses bad options with one line and status 2", () => {
    for (const args of [["--port", "70000"], ["--port"], ["--colour", "red"]]) {
      const r = spawnSync(process.execPath, [cli, "playground", ...args], { encoding: "utf8", timeout: 10_000 });
      expect([args, r.status]).toEqual([args, 2]);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(/^tsmio: playground takes --host IP and --port N/);
    }
  });
});
