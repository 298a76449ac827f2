/**
 * Labs 5 to 7 run non-interactively: lab 5 retransmits after an RTO (with
 * backoff) and writes its plots, lab 6 sees a zero window and persist
 * probes, lab 7's CUBIC window grows past NewReno's after the first loss.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LABS, type LabOutput } from "../../src/labs/index.js";
import { runLab5 } from "../../src/labs/lab5.js";
import { runLab6 } from "../../src/labs/lab6.js";
import { SETTLE_MS, cubicOvertakes, runLab7 } from "../../src/labs/lab7.js";
import { PNG_SIGNATURE, crc32 } from "../../src/labs/plot.js";
import { expectWiresharkReads } from "./run-lab.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function collector(): LabOutput & { lines: string[] } {
  const dir = mkdtempSync(join(tmpdir(), "tsmio-lab-"));
  dirs.push(dir);
  const lines: string[] = [];
  return { dir, lines, line: (t) => lines.push(t) };
}

/** Checks the PNG signature and every chunk's CRC; returns the chunk types. */
function pngChunkTypes(path: string): string[] {
  const buf = readFileSync(path);
  expect(buf.subarray(0, 8).equals(Buffer.from(PNG_SIGNATURE))).toBe(true);
  const types: string[] = [];
  for (let off = 8; off < buf.length; ) {
    const len = buf.readUInt32BE(off);
    expect(crc32(buf.subarray(off + 4, off + 8 + len))).toBe(buf.readUInt32BE(off + 8 + len));
    types.push(buf.toString("latin1", off + 4, off + 8));
    off += 12 + len;
  }
  return types;
}

describe("labs 5-7", () => {
  it("are registered", () => {
    expect(LABS[5]!.title).toMatch(/retransmission/);
    expect(LABS[6]!.title).toMatch(/flow control/);
    expect(LABS[7]!.title).toMatch(/congestion/);
  });

  it("lab 5: retransmits after an RTO with exponential backoff, recovers fast retransmits, writes plots", async () => {
    const out = collector();
    const r = await runLab5(out);
    expect(r.received).toBe(1_000_000);
    const rtos = r.retransmits.filter((x) => x.kind === "rto");
    expect(rtos.length).toBeGreaterThanOrEqual(3);
    // the first timeout comes during the partition (1 s to 4 s)
    expect(rtos[0]!.t).toBeGreaterThan(1000);
    expect(rtos[0]!.t).toBeLessThan(2000);
    for (let i = 2; i < rtos.length; i++) {
      const ratio = (rtos[i]!.t - rtos[i - 1]!.t) / (rtos[i - 1]!.t - rtos[i - 2]!.t);
      expect(ratio).toBeCloseTo(2, 1);
    }
    expect(rtos[1]!.event.stats.rto).toBeCloseTo(2 * rtos[0]!.event.stats.rto, 0);
    expect(r.retransmits.some((x) => x.kind === "fast" && x.t < 1000)).toBe(true);
    expect(r.retransmits.some((x) => x.event.stats.sackedBytes > 0)).toBe(true);
    expect(out.lines.some((l) => /retransmit \(RTO\)/.test(l))).toBe(true);
    const svg = readFileSync(r.svg, "utf8");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toMatch(/<path d="M|<polyline/);
    expect(pngChunkTypes(r.png)).toEqual(["IHDR", "IDAT", "IEND"]);
    expectWiresharkReads(r.pcap);
  });

  it("lab 6: the receiver advertises a zero window, the sender probes with backoff, then finishes", async () => {
    const out = collector();
    const r = await runLab6(out);
    expect(r.received).toBe(200_000);
    expect(r.zeroWindowAt).not.toBeNull();
    expect(r.probes.length).toBeGreaterThanOrEqual(3);
    expect(r.probes[0]!).toBeGreaterThan(r.zeroWindowAt!);
    const gaps = r.probes.slice(1).map((t, i) => t - r.probes[i]!);
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]! / gaps[i - 1]!).toBeCloseTo(2, 1);
    expect(out.lines.some((l) => /win=0 /.test(l))).toBe(true);
    expectWiresharkReads(r.pcap);
  });

  it("lab 7: CUBIC's cwnd grows past NewReno's after the first loss", async () => {
    const out = collector();
    const r = await runLab7(out);
    expect(r.newreno.firstLossAt).not.toBeNull();
    expect(r.cubic.firstLossAt).not.toBeNull();
    const after = Math.max(r.newreno.firstLossAt!, r.cubic.firstLossAt!) + SETTLE_MS;
    expect(cubicOvertakes(r.newreno, r.cubic, after)).not.toBeNull();
    // NewReno, on the same link, does not overtake itself: the comparison can fail
    expect(cubicOvertakes(r.newreno, r.newreno, after)).toBeNull();
    const reno = new Map(r.newreno.cwnd);
    const late = r.cubic.cwnd.filter(([t]) => t >= after);
    expect(late.filter(([t, c]) => c > reno.get(t)!).length).toBeGreaterThan(late.length / 2);
    expect(pngChunkTypes(r.png)).toEqual(["IHDR", "IDAT", "IEND"]);
    expect(readFileSync(r.svg, "utf8")).toMatch(/<polyline/);
    for (const pcap of Object.values(r.pcaps)) expectWiresharkReads(pcap);
  });
});
