/**
 * Node's own `http` module, unmodified, on simulated hosts: a server fed by
 * `serve()` from a virtual listener, clients through `connect()`, in a Sim's
 * virtual time. The network's faults (loss, delay, partitions, crashes)
 * reach the application as Node errors with the kernel's codes.
 */
import { readFileSync } from "node:fs";
import { Agent, createServer, request, type IncomingMessage, type Server } from "node:http";
import { describe, expect, it } from "vitest";
import { connect } from "../../src/node/socket.js";
import { serve } from "../../src/node/serve.js";
import { Sim } from "../../src/sim/index.js";
import type { Stack } from "../../src/stack/stack.js";
import { tempDir } from "../stack/helpers.js";

/** Server s (10.0.0.1) and client c (10.0.0.2) on one link. */
function world(seed: number, link: Parameters<Sim["link"]>[2]) {
  const sim = new Sim({ seed });
  const s = sim.host("s", { addresses: ["10.0.0.1/24"] });
  const c = sim.host("c", { addresses: ["10.0.0.2/24"] });
  sim.link(s, c, link);
  return { sim, s, c };
}

/** An http server answering each request with its path and body length, served on `stack` port 80. */
function echoServer(stack: Stack): Server {
  const server = createServer((req, res) => {
    // the Date header is wall-clock time: it would make runs differ
    res.sendDate = false;
    let n = 0;
    req.on("data", (d: Buffer) => (n += d.length));
    req.on("end", () => res.end(`${req.method} ${req.url} ${n}`));
  });
  // socket timeouts run in virtual time: Node's 5 s keep-alive timeout would close idle connections
  // while retransmissions stretch requests out, and a request on a connection the server just closed
  // fails with ECONNRESET (as on real networks; clients retry when req.reusedSocket)
  server.keepAliveTimeout = 120_000;
  serve(server, stack.tcpBind("10.0.0.1:80"));
  return server;
}

function body(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let t = "";
    res.setEncoding("utf8");
    res.on("data", (d: string) => (t += d));
    res.on("end", () => resolve(t));
    res.on("error", reject);
  });
}

/** One request through `agent` (or a fresh connection); resolves with status and body, rejects with Node's error. */
function fetchVia(c: Stack, path: string, payload: string, agent?: Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { method: "POST", path, host: "s", agent, createConnection: agent ? undefined : () => connect(c, "10.0.0.1:80") },
      (res) => void body(res).then((b) => resolve(`${res.statusCode} ${b}`), reject),
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** An Agent whose connections go through the Sim (keep-alive: connections are reused). */
class SimAgent extends Agent {
  constructor(private readonly c: Stack) {
    super({ keepAlive: true, maxSockets: 4 });
  }
  override createConnection(): ReturnType<typeof connect> {
    return connect(this.c, "10.0.0.1:80");
  }
}

describe("http in a Sim", () => {
  it("100 requests over 20% loss and 100 ms delay: every response correct, in well under a second", async () => {
    const { sim, s, c } = world(1, { delayMs: 100, loss: 0.2 });
    const wall = Date.now();
    const answers = await sim.run(async () => {
      const server = echoServer(s);
      const agent = new SimAgent(c);
      const out = await Promise.all(Array.from({ length: 100 }, (_, i) => fetchVia(c, `/r${i}`, "x".repeat(i * 37), agent)));
      agent.destroy();
      server.close();
      return out;
    });
    const ms = Date.now() - wall;
    answers.forEach((a, i) => expect(a).toBe(`200 POST /r${i} ${i * 37}`));
    // virtual time: seconds of retransmissions; wall time: a fraction of a second
    expect(sim.now()).toBeGreaterThan(1000);
    expect(ms, `wall ${ms} ms for ${sim.now()} virtual ms`).toBeLessThan(1000);
  });

  it("a partition makes requests fail with ETIMEDOUT after the retry budgets: virtual minutes in real milliseconds", async () => {
    const { sim, s, c } = world(2, { delayMs: 10 });
    const wall = Date.now();
    const [established, fresh] = await sim.run(async () => {
      echoServer(s);
      const agent = new SimAgent(c);
      expect(await fetchVia(c, "/before", "", agent)).toBe("200 POST /before 0");
      sim.partition(s, c);
      const failure = (p: Promise<string>) => p.then(() => null, (e: NodeJS.ErrnoException) => ({ code: e.code, at: sim.now() }));
      const start = sim.now();
      // on the kept-alive connection (data retransmitted), and on a new one (SYN retransmitted)
      const out = await Promise.all([failure(fetchVia(c, "/during", "y".repeat(1000), agent)), failure(fetchVia(c, "/new", ""))]);
      agent.destroy();
      return out.map((f) => f && { ...f, after: f.at - start });
    });
    expect(established?.code).toBe("ETIMEDOUT");
    // 15 retransmissions with backoff to 120 s (Linux tcp_retries2): some 15 minutes
    expect(established!.after).toBeGreaterThan(10 * 60_000);
    expect(fresh?.code).toBe("ETIMEDOUT");
    // 6 SYN retransmissions (Linux tcp_syn_retries): 1+2+4+...+64 = 127 s
    expect(fresh!.after).toBeGreaterThanOrEqual(127_000);
    expect(fresh!.after).toBeLessThan(140_000);
    expect(Date.now() - wall).toBeLessThan(2000);
  });

  it("crash and restart of the server host: the client sees ECONNRESET, then ECONNREFUSED until it listens again", async () => {
    const { sim, s, c } = world(3, { delayMs: 10 });
    await sim.run(async () => {
      echoServer(s);
      const agent = new SimAgent(c);
      expect(await fetchVia(c, "/one", "", agent)).toBe("200 POST /one 0");
      sim.crash(s);
      const fresh = sim.restart(s);
      // the kept-alive connection meets a host that forgot it: a RST
      const reset = await fetchVia(c, "/two", "", agent).catch((e: NodeJS.ErrnoException) => e.code);
      expect(reset).toBe("ECONNRESET");
      agent.destroy();
      const refused = await fetchVia(c, "/three", "").catch((e: NodeJS.ErrnoException) => e.code);
      expect(refused).toBe("ECONNREFUSED");
      echoServer(fresh);
      expect(await fetchVia(c, "/four", "")).toBe("200 POST /four 0");
    });
  });

  it("the same seed twice gives identical pcaps; another seed another interleaving", async () => {
    const dir = tempDir("tsmio-sim-http-");
    try {
      const capture = async (seed: number, name: string): Promise<Buffer> => {
        const { sim, s, c } = world(seed, { delayMs: 20, jitterMs: 15, loss: 0.1, reorder: 0.1 });
        const file = dir.file(name);
        const cap = sim.pcap(file);
        await sim.run(async () => {
          const server = echoServer(s);
          const agent = new SimAgent(c);
          await Promise.all(Array.from({ length: 20 }, (_, i) => fetchVia(c, `/p${i}`, "z".repeat(i * 500), agent)));
          agent.destroy();
          server.close();
        });
        cap.close();
        return readFileSync(file);
      };
      const a = await capture(5, "a.pcap");
      const b = await capture(5, "b.pcap");
      const other = await capture(6, "c.pcap");
      expect(a.length).toBeGreaterThan(10_000);
      expect(Buffer.compare(a, b)).toBe(0);
      expect(Buffer.compare(a, other)).not.toBe(0);
    } finally {
      dir.remove();
    }
  });
});
