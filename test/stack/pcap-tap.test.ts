/**
 * PcapTap: the file it writes is read back with an independent reader
 * (test/support/pcap.ts) and checked field by field.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SimClock } from "../../src/poll/clock.js";
import { type Device, Link, type LinkOptions, PcapTap } from "../../src/stack/iface/index.js";
import { readPcap } from "../support/pcap.js";
import { type Send, numbered, simulate } from "./drive.js";

const dirs: string[] = [];
const taps: PcapTap[] = [];
afterEach(() => {
  for (const t of taps.splice(0)) t.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh file path in a temp directory removed after the test. */
function tempFile(name = "capture.pcap"): string {
  const dir = mkdtempSync(join(tmpdir(), "tsmio-pcap-"));
  dirs.push(dir);
  return join(dir, name);
}

function tap(device: Device, path: string): PcapTap {
  const t = new PcapTap(device, path);
  taps.push(t);
  return t;
}

describe("PcapTap", () => {
  it("writes the global header and one record per packet in each direction", () => {
    const path = tempFile();
    const clock = new SimClock(2_000_000.5);
    const link = new Link({ delayMs: 1.5 });
    const a = tap(link.a, path);
    a.attach(clock);
    link.b.attach(clock);
    const p1 = numbered(1, 60);
    const p2 = numbered(2, 1500);
    const p3 = numbered(3, 20);
    simulate(
      clock,
      [
        { at: 2_000_000.5, device: a, packet: p1 },
        { at: 2_000_001, device: link.b, packet: p2 },
        { at: 2_000_003.1237, device: a, packet: p3 },
      ],
      [a, link.b],
    );
    const { header, records } = readPcap(readFileSync(path));
    expect(header).toEqual({
      magic: 0xa1b2c3d4,
      versionMajor: 2,
      versionMinor: 4,
      thiszone: 0,
      sigfigs: 0,
      snaplen: 65535,
      linktype: 101,
    });
    expect(records).toEqual([
      { tsSec: 2000, tsUsec: 500, inclLen: 60, origLen: 60, data: p1 }, // tx
      { tsSec: 2000, tsUsec: 2500, inclLen: 1500, origLen: 1500, data: p2 }, // rx: sent at 1 ms, 1.5 ms on the wire
      { tsSec: 2000, tsUsec: 3124, inclLen: 20, origLen: 20, data: p3 }, // tx, rounded to the nearest microsecond
    ]);
  });

  it("writes the little-endian magic bytes d4 c3 b2 a1 and nothing but the header when idle", () => {
    const path = tempFile();
    tap(new Link().a, path);
    const bytes = readFileSync(path);
    expect(bytes.length).toBe(24);
    expect([...bytes.subarray(0, 4)]).toEqual([0xd4, 0xc3, 0xb2, 0xa1]);
  });

  it("truncates packets longer than the snap length, keeping the original length", () => {
    const path = tempFile();
    const big = new Uint8Array(70_000).map((_, i) => i & 0xff);
    const inner: Device = { mtu: 70_000, receive: () => big, transmit: () => {} };
    const t = tap(inner, path);
    expect(t.receive()).toBe(big);
    t.close();
    const { records } = readPcap(readFileSync(path));
    expect(records.length).toBe(1);
    expect(records[0]!.inclLen).toBe(65535);
    expect(records[0]!.origLen).toBe(70_000);
    expect(Buffer.from(records[0]!.data).equals(big.subarray(0, 65535))).toBe(true);
  });

  it("the same seeded lossy run writes byte-identical files; another seed does not", () => {
    const options: LinkOptions = { delayMs: 3, jitterMs: 2, loss: 0.2, duplicate: 0.05, reorder: 0.1, corrupt: 0.05, bandwidthBps: 2e6 };
    function run(seed: number, name: string): Buffer {
      const path = tempFile(name);
      const clock = new SimClock();
      const link = new Link({ ...options, seed });
      const a = tap(link.a, path);
      a.attach(clock);
      link.b.attach(clock);
      const sends: Send[] = [];
      for (let i = 0; i < 300; i++) {
        sends.push({ at: i * 0.7, device: a, packet: numbered(i, 40 + i) });
        sends.push({ at: i * 0.7 + 0.3, device: link.b, packet: numbered(1000 + i, 60) });
      }
      const received = simulate(clock, sends, [a, link.b]).filter((x) => x.device === a).length;
      a.close();
      const bytes = readFileSync(path);
      expect(readPcap(bytes).records.length).toBe(300 + received);
      return bytes;
    }
    const first = run(5, "1.pcap");
    expect(run(5, "2.pcap").equals(first)).toBe(true);
    expect(run(6, "3.pcap").equals(first)).toBe(false);
  });

  it("close is idempotent; packets still pass through, unrecorded", () => {
    const path = tempFile();
    const clock = new SimClock();
    const link = new Link();
    const a = tap(link.a, path);
    a.attach(clock);
    link.b.attach(clock);
    a.transmit(numbered(1));
    expect(a.isOpen()).toBe(true);
    a.close();
    a.close();
    expect(a.isOpen()).toBe(false);
    a.transmit(numbered(2));
    link.b.transmit(numbered(3));
    expect(a.receive()).toEqual(numbered(3));
    expect(link.b.receive()).toEqual(numbered(1));
    expect(link.b.receive()).toEqual(numbered(2));
    expect(readPcap(readFileSync(path)).records.map((r) => r.data)).toEqual([numbered(1)]);
  });

  it("truncates an existing file", () => {
    const path = tempFile();
    const first = tap(new Link().a, path);
    first.transmit(numbered(1));
    first.close();
    tap(new Link().a, path).close();
    expect(readFileSync(path).length).toBe(24);
  });

  it("throws when the file cannot be created", () => {
    const path = join(tempFile(), "missing-dir", "x.pcap");
    expect(() => new PcapTap(new Link().a, path)).toThrow(expect.objectContaining({ code: "ENOENT" }));
    expect(() => new PcapTap(new Link().a, "")).toThrow(TypeError);
  });
});
