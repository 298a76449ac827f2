/**
 * Labs 1–4 run non-interactively with an output collector and a temp dir;
 * their key lines and pcap files are checked.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { expectWiresharkReads, runLab as runLabIn } from "./run-lab.js";

const dir = mkdtempSync(join(tmpdir(), "tsmio-labs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const runLab = (n: number): Promise<string[]> => runLabIn(n, dir);

const has = (lines: string[], re: RegExp): boolean => lines.some((l) => re.test(l));

describe("lab 1: the bytes of a packet", () => {
  it("dumps, parses and verifies checksums both ways", async () => {
    const lines = await runLab(1);
    expect(lines[0]).toMatch(/^Lab 1/);
    expect(lines).toContain("    0: 45 00 00 29   version 4, IHL 5 | DSCP/ECN | total length");
    expect(lines).toContain("  as built: IPv4 header checksum verified, UDP checksum verified");
    expect(lines).toContain("  data corrupted: IPv4 header checksum verified, UDP checksum FAILED");
    expect(lines).toContain("  TTL changed: IPv4 header checksum FAILED, UDP checksum verified");
    expect(lines).toContain("  checksum refilled: IPv4 header checksum verified, UDP checksum verified");
    expect(has(lines, /sum over the 20 header bytes = 0xffff/)).toBe(true);
    expect(has(lines, /a ─+UDP─+▶ b  5000 → 7 len=13 cksum BAD/)).toBe(true);
  });
});

describe("lab 2: ping over a simulated link", () => {
  it("shows echo replies, an ICMP error, fragments and reassembly time exceeded", async () => {
    const lines = await runLab(2);
    for (let seq = 1; seq <= 3; seq++) expect(lines).toContain(`           reply from 10.0.0.2: seq=${seq} ttl=64 time=20.000 ms`);
    expect(has(lines, /◀─+PONG─+ b  icmp echo-reply id=16962 seq=4 .* ttl=64$/)).toBe(true);
    expect(has(lines, /icmp unreachable code=3 quoting \[10\.0\.0\.1 → 10\.0\.0\.2 ttl=64 proto=17 40000 → 9\]/)).toBe(true);
    expect(lines.filter((l) => /a ◀─+FRAG─+ b  frag id=\d+ off=(0|1480|2960) /.test(l))).toHaveLength(3);
    expect(has(lines, /◀─+FRAG─+ b .*first: icmp echo-reply id=16962 seq=6/)).toBe(true);
    expect(has(lines, /^ +11020\.000 ms  a ◀─+ICMP─+ b  icmp time-exceeded code=1/)).toBe(true);
    // section 6: traceroute through two routers
    expect(has(lines, /^ +5\.000 ms  r1 drops \(ttl\) → 10\.0\.3\.2 +UDP +40000 → 33434 len=32 cksum ok ttl=1 DF$/)).toBe(true);
    expect(has(lines, /^ +5\.000 ms  r1 sends +→ 10\.0\.1\.1 +ICMP +icmp time-exceeded code=0 quoting \[10\.0\.1\.1 → 10\.0\.3\.2 ttl=1 proto=17 40000 → 33434\]/)).toBe(true);
    expect(lines.filter((l) => /^ {11}\d  /.test(l))).toEqual([
      "           1  r1 (10.0.1.254)  time exceeded in transit, answered 5.000 ms after its probe",
      "           2  r2 (10.0.2.2)  time exceeded in transit, answered 10.000 ms after its probe",
      "           3  b (10.0.3.2)  port unreachable: the destination, answered 15.000 ms after its probe",
    ]);
    expect(has(lines, /quoting \[10\.0\.1\.1 → 10\.0\.3\.2 ttl=1 proto=17 40000 → 33434\] ttl=64$/)).toBe(true);
    expectWiresharkReads(join(dir, "lab2-traceroute.pcap"));
    // section 7: path MTU discovery
    expect(has(lines, /^ +50\.000 ms  r1 drops \(mtu\) → 10\.0\.3\.2 +ACK 1448 \[ACK\] seq=1 ack=1 .* DF$/)).toBe(true);
    expect(has(lines, /r1 sends +→ 10\.0\.1\.1 +ICMP +icmp unreachable code=4 mtu=1000 quoting \[10\.0\.1\.1 → 10\.0\.3\.2 ttl=63 proto=6 /)).toBe(true);
    expect(lines).toContain("           TCP: MSS 1460 at the handshake (a's own link is 1500), 960 after r1's Fragmentation Needed; b got 20000 bytes");
    expect(lines.filter((l) => /a  sends +→ 10\.0\.3\.2 +FRAG +frag id=\d+ off=(0 len=976 MF|976 len=432) ttl=64/.test(l))).toHaveLength(2);
    expect(lines).toContain("           UDP: b got all 1400 bytes, in fragments a cut to the path MTU");
    expectWiresharkReads(join(dir, "lab2-pmtu.pcap"));
  });
});

describe("lab 3: readiness", () => {
  it("kernel and virtual sockets: one edge, then WOULD_BLOCK after draining", async () => {
    const lines = await runLab(3);
    for (const side of ["kernel", "virtual"]) {
      const mine = lines.filter((l) => l.startsWith(`  [${side}] `)).map((l) => l.slice(side.length + 5));
      expect(mine.slice(1)).toEqual([
        "poll with nothing sent: no event",
        "sent 3 datagrams; poll: readable event",
        'read one: "datagram 1"',
        "poll again, 2 datagrams still queued: no event (edge-triggered: nothing new arrived)",
        'drain: read "datagram 2"',
        'drain: read "datagram 3"',
        "drain: read → WOULD_BLOCK (queue empty: now a new datagram will make a new event)",
        "sent 1 more; poll: readable event",
      ]);
    }
  });
});

describe("lab 4: the TCP handshake and teardown", () => {
  it("shows all eleven states, the handshake and both close orders", async () => {
    const lines = await runLab(4);
    const states = ["CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT"];
    const seen = new Set(lines.flatMap((l) => [...l.matchAll(/[ab]: ([A-Z0-9-]+) → ([A-Z0-9-]+)/g)].flatMap((m) => [m[1], m[2]])));
    expect([...seen].sort()).toEqual([...states].sort());
    expect(has(lines, /a ─+SYN─+▶ b  \[SYN\] seq=0 win=\d+ len=0 <mss 1460,ws \d+,sack_perm,ts \d+\/0>/)).toBe(true);
    expect(has(lines, /a ◀─+SYN,ACK─+ b  \[SYN,ACK\] seq=0 ack=1 /)).toBe(true);
    expect(has(lines, /a ─+ACK 8─+▶ b  \[PSH,ACK\] seq=1 ack=1 win=\d+ len=8 /)).toBe(true);
    expect(has(lines, /a ◀─+ACK─+ b  \[ACK\] seq=1 ack=9 /)).toBe(true);
    expect(lines.filter((l) => / [ab]: FIN-WAIT-1 → CLOSING /.test(l))).toHaveLength(2);
    expect(has(lines, /^ +2205\.000 ms  a: TIME-WAIT → CLOSED/)).toBe(true);
  });
});

describe("tsmio lab N", () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ["--import", "./scripts/ts-loader.mjs", "src/cli/main.ts", "lab", ...args], { encoding: "utf8", cwd: process.cwd(), timeout: 20_000 });

  it("refuses a missing or unknown lab with one line on stderr and exit code 2", () => {
    for (const args of [["99"], ["1", "2"]]) {
      const r = cli(...args);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/^tsmio: lab needs one lab number among 1, 2, 3, 4\b[^\n]*\n$/);
    }
  });

  it("runs lab 1, printing to stdout and writing its pcap in the current directory", () => {
    const cwd = mkdtempSync(join(tmpdir(), "tsmio-lab-cli-"));
    try {
      const root = process.cwd();
      const r = spawnSync(process.execPath, ["--import", join(root, "scripts/ts-loader.mjs"), join(root, "src/cli/main.ts"), "lab", "1"], { encoding: "utf8", cwd, timeout: 20_000 });
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^Lab 1 .*\n/);
      expect(r.stdout).toContain("data corrupted: IPv4 header checksum verified, UDP checksum FAILED\n");
      expect(readFileSync(join(cwd, "lab1.pcap")).readUInt32LE(0)).toBe(0xa1b2c3d4);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
