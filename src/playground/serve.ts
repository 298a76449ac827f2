/**
 * `tsmio playground`: serves the bundled page (scripts/playground.mjs writes
 * it to dist/playground-page) over HTTP. Only the page's own files, GET
 * and HEAD; the stack runs in the browser, so the server does nothing else.
 */
import { readFileSync } from "node:fs";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

/** The files of the page, by request path, with their content types. */
const FILES: ReadonlyMap<string, readonly [string, string]> = new Map([
  ["/", ["index.html", "text/html; charset=utf-8"]],
  ["/index.html", ["index.html", "text/html; charset=utf-8"]],
  ["/playground.js", ["playground.js", "text/javascript; charset=utf-8"]],
  ["/playground.js.map", ["playground.js.map", "application/json"]],
]);

/** Where and what to serve. */
export interface PlaygroundServerOptions {
  /** The directory of the bundled page (index.html, playground.js). */
  dir: string;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Port (default 0: any free port). */
  port?: number;
}

/** A running playground server. */
export interface PlaygroundServer {
  readonly server: Server;
  /** The page's address, e.g. `http://127.0.0.1:8044/`. */
  readonly url: string;
  close(): Promise<void>;
}

/** Starts serving; rejects when the page is not built or the address cannot be bound. */
export async function servePlayground(options: PlaygroundServerOptions): Promise<PlaygroundServer> {
  const { dir, host = "127.0.0.1", port = 0 } = options;
  for (const f of ["index.html", "playground.js"]) {
    try {
      readFileSync(join(dir, f));
    } catch {
      throw new Error(`the playground is not built (no ${join(dir, f)}): run npm run build`);
    }
  }
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://page").pathname;
    const file = FILES.get(path);
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    let body: Buffer;
    try {
      if (file === undefined) throw new Error("no such file");
      body = readFileSync(join(dir, file[0]));
    } catch {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    res.writeHead(200, { "content-type": file[1], "content-length": body.length, "cache-control": "no-store", "x-content-type-options": "nosniff" });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    server,
    url: `http://${shown}:${addr.port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
