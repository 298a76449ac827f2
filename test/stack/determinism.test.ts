/**
 * Determinism: the same seeded lossy Link scenario (UDP exchanges with
 * fragmented datagrams, IPv4 and IPv6, pings both ways, an ICMP error) run
 * twice in virtual time writes byte-identical pcap files; another seed gives
 * another file. The stacks' own choices (ephemeral ports, IP
 * identifications) come from their seeds too.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { readPcap } from "../support/pcap.js";
import { Tracer } from "../../src/stack/iface/index.js";
import { PEER4, US4, pair, parse, recordScenario, tempDir } from "./helpers.js";

const LOSSY = { delayMs: 4, jitterMs: 6, loss: 0.05, duplicate: 0.03, reorder: 0.1, corrupt: 0.02 };

const dir = tempDir("tsmio-determinism-");
afterAll(() => dir.remove());

function sha(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

describe("determinism", () => {
  it("the same seed twice: byte-identical pcap files, with the impairments visible in them", () => {
    const r1 = recordScenario(dir.file("run1.pcap"), { ...LOSSY, seed: 42 });
    const r2 = recordScenario(dir.file("run2.pcap"), { ...LOSSY, seed: 42 });
    const a = readFileSync(dir.file("run1.pcap"));
    const b = readFileSync(dir.file("run2.pcap"));
    expect(a.length).toBeGreaterThan(100_000);
    expect(Buffer.compare(a, b)).toBe(0);
    expect(r2).toEqual(r1);
    // the run was lossy, yet no echoed datagram was damaged
    expect(r1.echoed).toBeLessThan(r1.sent);
    expect(r1.echoed).toBeGreaterThan(r1.sent / 2);
    expect(r1.corrupt).toBe(0);
    const { records } = readPcap(a);
    // timestamps are virtual time: non-decreasing, starting at 0
    expect(records[0]!.tsSec * 1e6 + records[0]!.tsUsec).toBe(0);
    for (let i = 1; i < records.length; i++) {
      const t0 = records[i - 1]!.tsSec * 1e6 + records[i - 1]!.tsUsec;
      const t1 = records[i]!.tsSec * 1e6 + records[i]!.tsUsec;
      expect(t1).toBeGreaterThanOrEqual(t0);
    }
  });

  it("a different seed gives a different file (different losses, ports and identifications)", () => {
    recordScenario(dir.file("seed42.pcap"), { ...LOSSY, seed: 42 });
    recordScenario(dir.file("seed43.pcap"), { ...LOSSY, seed: 43 });
    expect(sha(dir.file("seed42.pcap"))).not.toBe(sha(dir.file("seed43.pcap")));
  });

  it("a clean link with the same stack seeds gives the same file too, and it differs from the lossy one", () => {
    recordScenario(dir.file("clean1.pcap"), { delayMs: 4, seed: 42 });
    recordScenario(dir.file("clean2.pcap"), { delayMs: 4, seed: 42 });
    expect(sha(dir.file("clean1.pcap"))).toBe(sha(dir.file("clean2.pcap")));
    recordScenario(dir.file("lossy.pcap"), { ...LOSSY, seed: 42 });
    expect(sha(dir.file("clean1.pcap"))).not.toBe(sha(dir.file("lossy.pcap")));
  });

  it("a stack's seed picks its ephemeral ports and IP identifications; the same seed repeats them", () => {
    const choices = (seed: number): number[] => {
      const ids: number[] = [];
      const p = pair({ a: { seed }, wrapA: (d) => new Tracer(d, (dir, pkt) => dir === "tx" && ids.push(parse(pkt).fragment!.id)) });
      const s = p.a.udpBind(`${PEER4}:0`);
      const other = p.a.udpBind("0.0.0.0:0");
      const ports = [s.localAddr().port, other.localAddr().port];
      s.sendTo(new Uint8Array(3000), `${US4}:9`);
      p.run(1);
      s.close();
      other.close();
      expect(ids).toHaveLength(3); // three fragments of one datagram
      return [...ports, ...ids];
    };
    expect(choices(5)).toEqual(choices(5));
    expect(choices(5)).not.toEqual(choices(6));
  });
});
