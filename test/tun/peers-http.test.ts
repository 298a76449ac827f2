/**
 * curl against a small HTTP/1.1 server written on a virtual TcpListener of
 * a Stack on tsmio0, over IPv4 and IPv6.
 */
import { expect, it } from "vitest";
import { netnsSuite, runChild } from "../support/netns.js";
import { hostPort, httpBody, httpServer, KERNEL4, KERNEL6, peersWorld, STACK4, STACK6 } from "./peers.js";

/** curl's `-w` line after the body: status, bytes of body, remote address and port. */
const WRITE_OUT = "\\n%{http_code} %{size_download} %{remote_ip} %{remote_port}";

/** Splits curl's output into the body and the `-w` fields. */
function parse(stdout: string): { body: string; status: number; size: number; remote: string } {
  const nl = stdout.lastIndexOf("\n");
  const [status, size, ip, port] = stdout.slice(nl + 1).split(" ");
  return { body: stdout.slice(0, nl), status: Number(status), size: Number(size), remote: hostPort(ip!, Number(port)) };
}

netnsSuite("curl against a virtual HTTP/1.1 server through tsmio0", () => {
  const w = peersWorld();

  for (const [family, stackIp, kernelIp] of [
    [4, STACK4, KERNEL4],
    [6, STACK6, KERNEL6],
  ] as const) {
    it(`curl fetches a page: status 200, the body, Content-Length honoured (IPv${family})`, async () => {
      const log = httpServer(w, w.stack.tcpBind(hostPort(stackIp, 8080)));
      const url = `http://${hostPort(stackIp, 8080)}/hello?family=${family}`;
      const r = await w.whileChild(runChild("curl", ["-g", "-sS", "--max-time", "10", "-w", WRITE_OUT, url], 15_000), 15_000);
      expect(r.code, r.stderr).toBe(0);
      const page = parse(r.stdout);
      const requestLine = `GET /hello?family=${family} HTTP/1.1`;
      expect(page.status).toBe(200);
      expect(page.body).toBe(httpBody(requestLine));
      expect(page.size).toBe(Buffer.byteLength(httpBody(requestLine)));
      expect(page.remote).toBe(hostPort(stackIp, 8080));
      expect(log.requests).toEqual([requestLine]);
      expect(log.heads[0]).toMatch(new RegExp(`\\r\\nHost: ${hostPort(stackIp, 8080).replace(/[[\]]/g, "\\$&")}\\r\\n`, "i"));
      expect(log.peers).toHaveLength(1);
      expect(log.peers[0]!.startsWith(family === 4 ? `${kernelIp}:` : `[${kernelIp}]:`)).toBe(true);
      await w.until(() => log.completed === 1, 3000, () => "the server never saw curl close");
    });
  }

  it("curl fetches 40 pages over 40 connections, 10 at a time, every status and body right", async () => {
    const log = httpServer(w, w.stack.tcpBind(hostPort(STACK4, 80)));
    const urls = Array.from({ length: 40 }, (_, i) => `http://${STACK4}/page/${i}`);
    const args = ["-sS", "--max-time", "15", "--parallel", "--parallel-max", "10", "-w", "%{url} %{http_code} %{size_download}\\n", "-o", "/dev/null"];
    const r = await w.whileChild(runChild("curl", [...args, ...urls.flatMap((u) => [u, "-o", "/dev/null"])], 20_000), 20_000);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n").sort();
    expect(lines).toEqual(urls.map((u, i) => `${u} 200 ${Buffer.byteLength(httpBody(`GET /page/${i} HTTP/1.1`))}`).sort());
    expect(log.requests.slice().sort()).toEqual(urls.map((_, i) => `GET /page/${i} HTTP/1.1`).sort());
    expect(new Set(log.peers).size, "one connection per page").toBe(40);
    await w.until(() => log.completed === 40, 3000, () => `${log.completed} connections closed`);
  });

  it("a request that is not a GET gets 400 from the server, and curl reports it with --fail", async () => {
    const log = httpServer(w, w.stack.tcpBind(hostPort(STACK6, 8081)));
    const r = await w.whileChild(runChild("curl", ["-g", "-sS", "--fail", "--max-time", "10", "-X", "DELETE", `http://${hostPort(STACK6, 8081)}/x`], 15_000), 15_000);
    expect(r.code, "curl --fail exits 22 on an HTTP error").toBe(22);
    expect(r.stderr).toMatch(/400/);
    expect(log.requests).toEqual(["DELETE /x HTTP/1.1"]);
  });
});
