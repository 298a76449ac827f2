/**
 * The pcap format in memory (PcapBuffer) and in a file (PcapFile): the same
 * records give the same bytes; headers, timestamps and truncation.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PcapFile } from "../../src/stack/iface/pcap-file.js";
import { LINKTYPE_RAW, PCAP_MAGIC, PCAP_SNAPLEN, PcapBuffer } from "../../src/stack/iface/pcap-format.js";

const dir = mkdtempSync(join(tmpdir(), "tsmio-pcap-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const packets: Array<[Uint8Array, number]> = [
  [Uint8Array.of(0x45, 1, 2, 3), 0],
  [new Uint8Array(1500).fill(7), 1234.5678],
  [new Uint8Array(PCAP_SNAPLEN + 10).fill(9), 3_600_000.001],
];

describe("PcapBuffer", () => {
  it("holds the bytes PcapFile writes for the same records", () => {
    const path = join(dir, "same.pcap");
    const file = new PcapFile(path);
    const mem = new PcapBuffer();
    for (const [p, t] of packets) {
      file.write(p, t);
      mem.write(p, t);
    }
    file.close();
    expect(mem.count).toBe(3);
    expect(Buffer.from(mem.bytes()).equals(readFileSync(path))).toBe(true);
  });

  it("writes the global header, microsecond stamps and truncates at the snaplen", () => {
    const mem = new PcapBuffer();
    for (const [p, t] of packets) mem.write(p, t);
    const b = Buffer.from(mem.bytes());
    expect([b.readUInt32LE(0), b.readUInt16LE(4), b.readUInt16LE(6), b.readUInt32LE(16), b.readUInt32LE(20)]).toEqual([PCAP_MAGIC, 2, 4, PCAP_SNAPLEN, LINKTYPE_RAW]);
    const second = 24 + 16 + 4;
    expect([b.readUInt32LE(second), b.readUInt32LE(second + 4), b.readUInt32LE(second + 8)]).toEqual([1, 234568, 1500]);
    const third = second + 16 + 1500;
    expect([b.readUInt32LE(third), b.readUInt32LE(third + 4), b.readUInt32LE(third + 8), b.readUInt32LE(third + 12)]).toEqual([3600, 1, PCAP_SNAPLEN, PCAP_SNAPLEN + 10]);
    expect(b.length).toBe(third + 16 + PCAP_SNAPLEN);
  });
});
