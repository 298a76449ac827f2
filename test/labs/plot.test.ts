/** The labs' plots: SVG structure, and PNG framing checked chunk by chunk with CRC-32. */
import { inflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { PNG_SIGNATURE, crc32, encodePng, plotPng } from "../../src/labs/plot.js";
import { plotSvg } from "../../src/labs/plot-svg.js";

/** The chunks of a PNG file; throws on a bad signature or CRC. */
function pngChunks(png: Uint8Array): Array<{ type: string; data: Buffer }> {
  const buf = Buffer.from(png);
  expect(buf.subarray(0, 8).equals(Buffer.from(PNG_SIGNATURE))).toBe(true);
  const out: Array<{ type: string; data: Buffer }> = [];
  for (let off = 8; off < buf.length; ) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString("latin1", off + 4, off + 8);
    const crc = buf.readUInt32BE(off + 8 + len);
    expect(crc32(buf.subarray(off + 4, off + 8 + len))).toBe(crc);
    out.push({ type, data: buf.subarray(off + 8, off + 8 + len) });
    off += 12 + len;
  }
  return out;
}

const spec = {
  title: "t <&>",
  xLabel: "x",
  yLabel: "y",
  series: [
    { name: "line", points: [[0, 0], [1, 10], [2, 5]] as Array<[number, number]> },
    { name: "dots", points: [[0.5, 3], [1.5, 8]] as Array<[number, number]>, style: "dots" as const },
  ],
};

describe("plot", () => {
  it("crc32 matches the standard check value and zlib's", () => {
    expect(crc32(Buffer.from("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(Buffer.from("IEND"))).toBe(0xae426082);
  });

  it("writes an SVG with a polyline and a dot path, text escaped", () => {
    const svg = plotSvg(spec);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg).toMatch(/<polyline points="[\d. ,]+"/);
    expect(svg).toMatch(/<path d="(M[\d.]+ [\d.]+h2){2}"/);
    expect(svg).toContain("t &lt;&amp;&gt;");
  });

  it("encodes a PNG whose chunks have valid CRCs and whose pixels round-trip", () => {
    const rgb = Uint8Array.from({ length: 3 * 4 * 2 }, (_, i) => i * 7);
    const chunks = pngChunks(encodePng(4, 2, rgb));
    expect(chunks.map((c) => c.type)).toEqual(["IHDR", "IDAT", "IEND"]);
    const ihdr = chunks[0]!.data;
    expect([ihdr.readUInt32BE(0), ihdr.readUInt32BE(4), ihdr[8], ihdr[9]]).toEqual([4, 2, 8, 2]);
    const raw = inflateSync(chunks[1]!.data);
    expect(raw.length).toBe(2 * (1 + 12));
    expect([...raw.subarray(1, 13)]).toEqual([...rgb.subarray(0, 12)]);
    expect([...raw.subarray(14, 26)]).toEqual([...rgb.subarray(12, 24)]);
    expect(() => encodePng(2, 2, rgb)).toThrow(RangeError);
  });

  it("draws the series in colour on the PNG", () => {
    const chunks = pngChunks(plotPng(spec));
    const raw = inflateSync(chunks.find((c) => c.type === "IDAT")!.data);
    let blue = 0;
    for (let i = 0; i + 2 < raw.length; i++) if (raw[i] === 31 && raw[i + 1] === 119 && raw[i + 2] === 180) blue++;
    expect(blue).toBeGreaterThan(100);
  });
});
