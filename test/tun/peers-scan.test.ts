/**
 * nmap's SYN scan of a Stack on tsmio0: exactly the ports with a virtual
 * listener are open, every other one answers RST (closed), over IPv4 and
 * IPv6; the half-open connections nmap leaves never reach `accept`.
 */
import { expect, it } from "vitest";
import { WOULD_BLOCK } from "../../src/index.js";
import type { TcpListener } from "../../src/net/network.js";
import { netnsSuite, runChild } from "../support/netns.js";
import { hostPort, peersWorld, STACK4, STACK6 } from "./peers.js";

const OPEN = [22, 80, 443, 1000];
const RANGE = 1024;

/** The open ports and the "Ignored State" of nmap's grepable (`-oG`) line for `host`. */
function parseGrepable(out: string, host: string): { status: string; open: number[]; other: string[]; ignored: string } {
  const line = out.split("\n").find((l) => l.startsWith(`Host: ${host} `) && l.includes("Ports:"));
  if (line === undefined) throw new Error(`no Ports line for ${host} in:\n${out}`);
  const fields = Object.fromEntries(
    line.split("\t").map((f) => {
      const i = f.indexOf(": ");
      return [f.slice(0, i), f.slice(i + 2)];
    }),
  );
  const ports = (fields["Ports"] ?? "").split(", ").map((p) => p.split("/"));
  return {
    status: out.split("\n").find((l) => l.startsWith(`Host: ${host} `) && l.includes("Status:")) ?? "",
    open: ports.filter((p) => p[1] === "open" && p[2] === "tcp").map((p) => Number(p[0])),
    other: ports.filter((p) => p[1] !== "open").map((p) => p.join("/")),
    ignored: fields["Ignored State"] ?? "",
  };
}

netnsSuite("nmap SYN scan of the Stack through tsmio0", () => {
  const w = peersWorld();

  for (const [family, stackIp] of [
    [4, STACK4],
    [6, STACK6],
  ] as const) {
    it(`finds exactly the listening ports open and the other ${RANGE - OPEN.length} closed (IPv${family})`, async () => {
      const listeners: TcpListener[] = OPEN.map((port) => w.own(w.stack.tcpBind(hostPort(stackIp, port))));
      const paths = new Map<string, string[]>();
      w.stack.on("tcp-state", (e) => {
        const key = `${e.local} ${e.remote}`;
        paths.set(key, [...(paths.get(key) ?? [e.from]), e.to]);
      });
      const args = ["-sS", "-p", `1-${RANGE}`, "-n", "-Pn", "--max-retries", "1", "-oG", "-", ...(family === 6 ? ["-6"] : []), stackIp];
      const r = await w.whileChild(runChild("nmap", args, 30_000), 30_000);
      expect(r.code, r.stderr).toBe(0);
      const scan = parseGrepable(r.stdout, stackIp);
      expect(scan.open, r.stdout).toEqual(OPEN);
      expect(scan.other, r.stdout).toEqual([]);
      expect(scan.ignored, `every other port answered RST: ${r.stdout}`).toBe(`closed (${RANGE - OPEN.length})`);
      // nmap answers the SYN-ACKs with RST (its kernel does): nothing is ever accepted
      for (const l of listeners) expect(l.accept()).toBe(WOULD_BLOCK);
      await w.until(() => Object.keys(w.stack.tcpStats()).length === 0, 3000, () => `connections left: ${JSON.stringify(Object.keys(w.stack.tcpStats()))}`);
      for (const l of listeners) expect(l.accept()).toBe(WOULD_BLOCK);
      // one half-open connection per open port, reset by nmap's kernel
      const local = [...paths.keys()].map((k) => Number(k.slice(k.lastIndexOf(":", k.indexOf(" ")) + 1, k.indexOf(" ")))).sort((a, b) => a - b);
      expect(local, JSON.stringify([...paths])).toEqual(OPEN);
      for (const [key, path] of paths) expect(path, key).toEqual(["CLOSED", "SYN-RECEIVED", "CLOSED"]);
      expect(w.stack.stats().dropped["tcp:no-socket"], "a SYN to each closed port").toBe(RANGE - OPEN.length);
    });
  }
});
