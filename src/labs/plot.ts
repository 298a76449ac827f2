/**
 * Plots for the labs as files: the SVG of plot-svg.ts and a PNG of the same
 * layout, with no dependency: drawn on an RGB raster, compressed with
 * `node:zlib` deflate, and framed in chunks with a CRC-32 computed here.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { COLORS, HEIGHT, MARGIN, type PlotSpec, WIDTH, frameOf, plotSvg, projector } from "./plot-svg.js";

/** An RGB raster, white to start with. */
class Raster {
  readonly pixels: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.pixels = new Uint8Array(width * height * 3).fill(255);
  }

  set(x: number, y: number, [r, g, b]: readonly [number, number, number]): void {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= this.width || yi >= this.height) return;
    const o = (yi * this.width + xi) * 3;
    this.pixels[o] = r;
    this.pixels[o + 1] = g;
    this.pixels[o + 2] = b;
  }

  /** A straight line, one pixel per step along its longer axis. */
  line(x0: number, y0: number, x1: number, y1: number, c: readonly [number, number, number]): void {
    const n = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    for (let i = 0; i <= n; i++) this.set(x0 + ((x1 - x0) * i) / n, y0 + ((y1 - y0) * i) / n, c);
  }

  box(x: number, y: number, size: number, c: readonly [number, number, number]): void {
    for (let dy = 0; dy < size; dy++) for (let dx = 0; dx < size; dx++) this.set(x + dx, y + dy, c);
  }
}

/**
 * The plot as a PNG image (8-bit RGB): axes with tick marks, the series in
 * the colours of the SVG and a legend of colour boxes (text only in the SVG).
 */
export function plotPng(spec: PlotSpec): Uint8Array {
  const f = frameOf(spec);
  const at = projector(f);
  const img = new Raster(WIDTH, HEIGHT);
  const black = [0, 0, 0] as const;
  const [ox, oy] = at(f.x0, f.y0);
  const [ex, ey] = at(f.x1, f.y1);
  img.line(ox, ey, ox, oy, black);
  img.line(ox, oy, ex, oy, black);
  for (let i = 0; i <= 5; i++) {
    const [tx] = at(f.x0 + ((f.x1 - f.x0) * i) / 5, f.y0);
    const [, ty] = at(f.x0, f.y0 + ((f.y1 - f.y0) * i) / 5);
    img.line(tx, oy, tx, oy + 5, black);
    img.line(ox - 5, ty, ox, ty, black);
  }
  spec.series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length]!;
    let prev: [number, number] | null = null;
    for (const [x, y] of s.points) {
      const p = at(x, y);
      if (s.style === "dots") img.box(p[0] - 1, p[1] - 1, 2, c);
      else if (prev !== null) img.line(prev[0], prev[1], p[0], p[1], c);
      prev = p;
    }
    img.box(WIDTH - 190, MARGIN.top + i * 16, 10, c);
  });
  return encodePng(img.width, img.height, img.pixels);
}

/** The CRC-32 table (reflected polynomial 0xEDB88320, as PNG and zlib use). */
const CRC_TABLE = ((): Uint32Array => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 of `bytes` (ISO 3309 / ITU-T V.42, the one PNG chunks carry). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The 8-byte signature every PNG file starts with. */
export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

/** One PNG chunk: length, type, data, CRC of type and data. */
function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** A PNG file of an 8-bit RGB image (`rgb`: rows top to bottom, 3 bytes a pixel). */
export function encodePng(width: number, height: number, rgb: Uint8Array): Uint8Array {
  if (rgb.length !== width * height * 3) throw new RangeError(`encodePng: expected ${width * height * 3} bytes of RGB, got ${rgb.length}`);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour
  // compression 0, filter 0, interlace 0: already zero
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) raw.set(rgb.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1); // filter byte 0: none
  return Buffer.concat([PNG_SIGNATURE, chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", new Uint8Array(0))]);
}

/** Writes `<name>.svg` and `<name>.png` of `spec` to `dir` and returns their paths. */
export function writePlots(dir: string, name: string, spec: PlotSpec): { svg: string; png: string } {
  const svg = join(dir, `${name}.svg`);
  const png = join(dir, `${name}.png`);
  writeFileSync(svg, plotSvg(spec));
  writeFileSync(png, plotPng(spec));
  return { svg, png };
}
