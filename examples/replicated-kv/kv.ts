/**
 * A small replicated key-value store over HTTP, written against tsmio's
 * `Network` interface so the same code runs on the kernel's sockets and on
 * simulated hosts (see kv.test.ts, which runs three replicas in a Sim).
 *
 * Every replica holds every key, with a version. A client may ask any
 * replica:
 *
 * - `PUT /kv/KEY` (body: the value): the replica is the coordinator. It picks
 *   a version above any it has seen for the key, stores the value, and sends
 *   it to the other replicas; it answers 201 with the version once a
 *   majority (itself included) has it, 503 if a majority does not answer in
 *   time. A 503 write may still surface later (some replicas have it); a 201
 *   write is never lost.
 * - `GET /kv/KEY`: asks all replicas and answers with the highest version a
 *   majority reports (200 `{ value, version }`, 404 if no replica has the key),
 *   or 503 without a majority. Two majorities share a replica, so a read
 *   sees every write acknowledged before it began.
 *
 * Between replicas: `PUT /replica/KEY?version=N` stores the value if N is
 * newer, `GET /replica/KEY` returns what the replica holds.
 */
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import { connect, serve, type Network, type Serving } from "tsmio";

/** What a replica needs from its world: sockets, and timers (virtual ones in a Sim). */
export interface ReplicaEnv {
  network: Network;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** One stored entry. */
export interface Entry {
  value: string;
  version: number;
}

/** How long a replica waits for another one, ms. */
export const PEER_TIMEOUT_MS = 4000;
/** How long a client waits for a replica (which may wait for its peers twice), ms. */
export const CLIENT_TIMEOUT_MS = 20_000;

export class Replica {
  private readonly data = new Map<string, Entry>();
  private readonly server: Server;
  private serving: Serving | null = null;

  /** `self`: this replica's address ("10.0.0.1:8080"); `peers`: the others'. */
  constructor(
    private readonly env: ReplicaEnv,
    readonly self: string,
    private readonly peers: readonly string[],
  ) {
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        ([status, body]) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body)),
        (e: Error) => res.writeHead(500).end(JSON.stringify({ error: e.message })),
      );
    });
  }

  /** Starts serving on `self`. */
  start(): void {
    this.serving = serve(this.server, this.env.network.tcpBind(this.self));
  }

  stop(): void {
    this.serving?.close();
    this.server.close();
  }

  /** What this replica holds for `key` (for tests). */
  local(key: string): Entry | undefined {
    return this.data.get(key);
  }

  private async handle(req: IncomingMessage): Promise<[number, unknown]> {
    const url = new URL(req.url ?? "/", "http://kv");
    const [, kind, key] = url.pathname.split("/");
    if (key === undefined || key === "") return [400, { error: "no key" }];
    const body = await readBody(req);
    if (kind === "replica" && req.method === "PUT") {
      this.store(key, { value: body, version: Number(url.searchParams.get("version")) });
      return [200, {}];
    }
    if (kind === "replica" && req.method === "GET") return [200, this.data.get(key) ?? null];
    if (kind === "kv" && req.method === "PUT") return this.put(key, body);
    if (kind === "kv" && req.method === "GET") return this.get(key);
    return [404, { error: "no such route" }];
  }

  private store(key: string, e: Entry): void {
    const old = this.data.get(key);
    if (old === undefined || e.version > old.version) this.data.set(key, e);
  }

  private majority(): number {
    return Math.floor((this.peers.length + 1) / 2) + 1;
  }

  private async put(key: string, value: string): Promise<[number, unknown]> {
    // versions from every replica we can hear, so a new write outranks the ones acknowledged before
    const seen = await this.ask((peer) => call(this.env, peer, "GET", `/replica/${key}`, undefined, PEER_TIMEOUT_MS));
    const known = seen.map((r) => (JSON.parse(r) as Entry | null)?.version ?? 0);
    if (known.length + 1 < this.majority()) return [503, { error: "no majority" }];
    const version = Math.max(this.data.get(key)?.version ?? 0, ...known) + 1;
    this.store(key, { value, version });
    const acks = await this.ask((peer) => call(this.env, peer, "PUT", `/replica/${key}?version=${version}`, value, PEER_TIMEOUT_MS));
    if (acks.length + 1 < this.majority()) return [503, { error: "no majority", version }];
    return [201, { version }];
  }

  private async get(key: string): Promise<[number, unknown]> {
    const answers = await this.ask((peer) => call(this.env, peer, "GET", `/replica/${key}`, undefined, PEER_TIMEOUT_MS));
    if (answers.length + 1 < this.majority()) return [503, { error: "no majority" }];
    const entries = [this.data.get(key) ?? null, ...answers.map((a) => JSON.parse(a) as Entry | null)];
    const best = entries.reduce<Entry | null>((a, b) => (b !== null && (a === null || b.version > a.version) ? b : a), null);
    return best === null ? [404, { error: "no such key" }] : [200, best];
  }

  /** Asks every peer; resolves with the answers that came in time. */
  private async ask(call: (peer: string) => Promise<string>): Promise<string[]> {
    const results = await Promise.allSettled(this.peers.map(call));
    return results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  }
}

/**
 * One HTTP request to `addr` over `env.network`; resolves with the body of
 * a 2xx answer, rejects on any other status (the error's `status`), an
 * error, or after `timeoutMs` (default {@link CLIENT_TIMEOUT_MS}).
 */
export function call(env: ReplicaEnv, addr: string, method: string, path: string, body?: string, timeoutMs = CLIENT_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ method, path, host: "kv", createConnection: () => connect(env.network, addr) }, (res) => {
      void readBody(res).then((text) => {
        env.clearTimeout(timer);
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve(text);
        else reject(Object.assign(new Error(`${method} ${path}: ${status} ${text}`), { status }));
      }, reject);
    });
    const timer = env.setTimeout(() => req.destroy(new Error(`${method} ${addr}${path}: no answer in ${timeoutMs} ms`)), timeoutMs);
    req.on("error", (e) => {
      env.clearTimeout(timer);
      reject(e);
    });
    req.end(body);
  });
}

function readBody(stream: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    stream.setEncoding("utf8");
    stream.on("data", (d: string) => (text += d));
    stream.on("end", () => resolve(text));
    stream.on("error", reject);
  });
}
