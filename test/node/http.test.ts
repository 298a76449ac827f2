/**
 * Unmodified Node HTTP servers and clients over the adapters: an
 * `http.createServer` fed by serve() from a kernel or virtual listener,
 * requests through `http.request({ createConnection })` and through an
 * `http.Agent` (keep-alive) whose createConnection is connect().
 */
import { createHash } from "node:crypto";
import { once } from "node:events";
import * as http from "node:http";
import type { Duplex } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { kernelWorld, virtualWorld, type World } from "./worlds.js";
import { connect, serve } from "../../src/index.js";

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

/** `n` deterministic bytes. */
function body(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + seed * 7 + (i >> 9)) & 0xff;
  return b;
}

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

/** An http.Server answering `path len sha256(body)` and counting its connections, fed from a listener. */
async function startServer(w: World): Promise<{ server: http.Server; addr: string; connections: () => number }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const b = Buffer.concat(chunks);
      res.setHeader("content-type", "text/plain");
      res.end(`${req.url} ${b.length} ${sha(b)}`);
    });
  });
  let count = 0;
  server.on("connection", () => count++);
  const listener = w.server.tcpBind(`${w.host}:0`);
  serve(server, listener);
  cleanups.push(() => server.close());
  return { server, addr: `${w.host}:${listener.localAddr().port}`, connections: () => count };
}

/** POSTs `payload` to `path` with `options`; resolves with status and body. */
function post(options: http.RequestOptions, path: string, payload: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ ...options, method: "POST", path, headers: { "content-length": payload.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(payload);
  });
}

/** Sizes from empty to 300 kB. */
const size = (i: number): number => (i * i * 131) % 300_001;

describe.each([
  ["kernel", kernelWorld],
  ["virtual", () => virtualWorld(cleanups)],
])("http over the adapters (%s)", (_name, makeWorld) => {
  it("50 requests with bodies through http.request({ createConnection })", async () => {
    const w = makeWorld();
    const { addr, connections } = await startServer(w);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        const payload = body(size(i), i);
        return post({ createConnection: () => connect(w.client, addr) }, `/r/${i}`, payload).then((r) => ({ r, payload, i }));
      }),
    );
    for (const { r, payload, i } of results) {
      expect(r.status).toBe(200);
      expect(r.text).toBe(`/r/${i} ${payload.length} ${sha(payload)}`);
    }
    // no agent: one connection per request
    expect(connections()).toBe(50);
  });

  it("50 requests through a keep-alive http.Agent whose createConnection is connect()", async () => {
    const w = makeWorld();
    const { addr, connections } = await startServer(w);
    class TsmioAgent extends http.Agent {
      override createConnection(): Duplex {
        return connect(w.client, addr);
      }
    }
    const agent = new TsmioAgent({ keepAlive: true, maxSockets: 4 });
    cleanups.push(() => agent.destroy());
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        const payload = body(size(i + 50), i);
        return post({ agent }, `/k/${i}`, payload).then((r) => ({ r, payload, i }));
      }),
    );
    for (const { r, payload, i } of results) {
      expect(r.status).toBe(200);
      expect(r.text).toBe(`/k/${i} ${payload.length} ${sha(payload)}`);
    }
    // the agent reuses its connections: at most maxSockets of them
    expect(connections()).toBeGreaterThan(0);
    expect(connections()).toBeLessThanOrEqual(4);
    // and a second round reuses the idle ones (unref'd while idle, ref'd again)
    const again = await post({ agent }, "/again", body(10, 1));
    expect(again.text).toBe(`/again 10 ${sha(body(10, 1))}`);
    expect(connections()).toBeLessThanOrEqual(4);
  });

  it("the client sees ECONNREFUSED through http.request when nothing listens", async () => {
    const w = makeWorld();
    const l = w.server.tcpBind(`${w.host}:0`);
    const addr = `${w.host}:${l.localAddr().port}`;
    l.close();
    const req = http.request({ createConnection: () => connect(w.client, addr) });
    req.end();
    const [e] = (await once(req, "error")) as [NodeJS.ErrnoException];
    expect(e.code).toBe("ECONNREFUSED");
  });

  it("server.close() stops serving: the listener is closed", async () => {
    const w = makeWorld();
    const { server, addr } = await startServer(w);
    const ok = await post({ createConnection: () => connect(w.client, addr) }, "/", body(5, 5));
    expect(ok.status).toBe(200);
    server.close();
    await once(server, "close");
    const req = http.request({ createConnection: () => connect(w.client, addr) });
    req.end();
    const [e] = (await once(req, "error")) as [NodeJS.ErrnoException];
    expect(e.code).toBe("ECONNREFUSED");
  });
});
