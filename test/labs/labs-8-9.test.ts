/**
 * Labs 8 and 9 (TUN device, `tsmio run`) run non-interactively with an
 * output collector and a temp dir; their key lines and pcap files are
 * checked. They need root and /dev/net/tun: skipped with one line where that
 * is impossible, failing instead when CI is set (the rule of netnsSuite).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runLab as runLabIn } from "./run-lab.js";
import { netnsUnavailable } from "../support/netns.js";

const dir = mkdtempSync(join(tmpdir(), "tsmio-labs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const runLab = (n: number): Promise<string[]> => runLabIn(n, dir);

const has = (lines: string[], re: RegExp): boolean => lines.some((l) => re.test(l));

const why = netnsUnavailable();
if (why !== null && !process.env.CI) console.warn(`[tsmio] skipping labs 8 and 9: ${why}`);
const suite = why !== null && !process.env.CI ? describe.skip : describe;

suite("labs 8 and 9 (root and /dev/net/tun)", () => {
  it("lab 8: the kernel pings the Stack and connects to it through a TUN device", async () => {
    expect(why, "CI is set, so these tests must run").toBeNull();
    const lines = await runLab(8);
    expect(lines[0]).toMatch(/^Lab 8/);
    for (const seq of [1, 2]) {
      expect(has(lines, new RegExp(`stack ◀─+PING─+ kernel  icmp echo-request id=\\d+ seq=${seq} `))).toBe(true);
      expect(has(lines, new RegExp(`stack ─+PONG─+▶ kernel  icmp echo-reply id=\\d+ seq=${seq} `))).toBe(true);
      expect(has(lines, new RegExp(`ping says: 64 bytes from 10\\.8\\.0\\.2: icmp_seq=${seq} ttl=64`))).toBe(true);
    }
    expect(has(lines, /stack ◀─+SYN─+ kernel  \[SYN\] seq=0 win=\d+ len=0 <mss 1460,/)).toBe(true);
    expect(has(lines, /stack ─+SYN,ACK─+▶ kernel  \[SYN,ACK\] seq=0 ack=1 /)).toBe(true);
    expect(lines).toContain('               the Stack read: "hello from the kernel\\n"');
    expect(lines).toContain('               the kernel read: "HELLO FROM THE KERNEL\\n"');
    expect(has(lines, /stack: LAST-ACK → CLOSED/)).toBe(true);
    expect(has(lines, /^ {2}\d+: tsmio8: <.*UP.*> mtu 1500 /)).toBe(true);
  }, 15_000);

  it("lab 9: curl in a sandbox fetches a page from the host's loopback through 10.0.2.2", async () => {
    expect(why, "CI is set, so these tests must run").toBeNull();
    const lines = await runLab(9);
    expect(lines[0]).toMatch(/^Lab 9/);
    const port = /listens on 127\.0\.0\.1:(\d+)$/.exec(lines[1] ?? "")?.[1];
    expect(port, lines.join("\n")).toBeDefined();
    expect(lines).toContain("== what curl printed (exit status 0) ==");
    expect(lines).toContain("  hello from the host's 127.0.0.1");
    expect(lines).toContain("  tsmio: flows: 1 flow");
    expect(has(lines, new RegExp(`^ {4}tcp 10\\.0\\.2\\.100:\\d+ -> 10\\.0\\.2\\.2:${port} via 127\\.0\\.0\\.1:${port}: \\d+ B up, \\d+ B down, closed$`))).toBe(true);
    expect(has(lines, /^ {2}\d+ packets; TCP: 1 SYN, 1 SYN-ACK, \d+ FIN$/)).toBe(true);
  }, 15_000);
});
