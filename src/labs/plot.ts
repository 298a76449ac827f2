/**
 * Line and dot plots for the labs, as SVG text and as PNG images, with no
 * dependency: the PNG is drawn on an RGB raster, compressed with
 * `node:zlib` deflate, and framed in chunks with a CRC-32 computed here.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { deflateSync } from "node:zlib";

/** One series of a plot: points `[x, y]`, drawn as a line or as dots. */
export interface PlotSeries {
  /** Shown in the legend. */
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
  /** `"line"` (default) joins the points, `"dots"` marks each one. */
  style?: "line" | "dots";
}

/** What to plot. */
export interface PlotSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: PlotSeries[];
}

const WIDTH = 800;
const HEIGHT = 480;
const MARGIN = { left: 80, right: 20, top: 40, bottom: 50 };
/** Series colours, in order (RGB). */
const COLORS: ReadonlyArray<readonly [number, number, number]> = [
  [31, 119, 180],
  [214, 39, 40],
  [44, 160, 44],
  [255, 127, 14],
];

/** The data ranges of a plot, with zero as the lowest y. */
interface Frame {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

function frameOf(spec: PlotSpec): Frame {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  let y0 = 0;
  for (const s of spec.series) {
    for (const [x, y] of s.points) {
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
  }
  if (!Number.isFinite(x0)) return { x0: 0, x1: 1, y0: 0, y1: 1 };
  return { x0, x1: x1 > x0 ? x1 : x0 + 1, y0, y1: y1 > y0 ? y1 : y0 + 1 };
}

/** Maps data coordinates to pixel coordinates (y grows downwards). */
function projector(f: Frame): (x: number, y: number) => [number, number] {
  const w = WIDTH - MARGIN.left - MARGIN.right;
  const h = HEIGHT - MARGIN.top - MARGIN.bottom;
  return (x, y) => [MARGIN.left + ((x - f.x0) / (f.x1 - f.x0)) * w, MARGIN.top + h - ((y - f.y0) / (f.y1 - f.y0)) * h];
}

function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** A short label for an axis tick. */
function tick(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(1)}k`;
  return `${+v.toFixed(2)}`;
}

/** The plot as a standalone SVG document. */
export function plotSvg(spec: PlotSpec): string {
  const f = frameOf(spec);
  const at = projector(f);
  const px = (n: number): string => n.toFixed(1);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(spec.title)}</text>`,
  ];
  const [ox, oy] = at(f.x0, f.y0);
  const [ex, ey] = at(f.x1, f.y1);
  parts.push(`<path d="M${px(ox)} ${px(ey)}V${px(oy)}H${px(ex)}" fill="none" stroke="black"/>`);
  for (let i = 0; i <= 5; i++) {
    const xv = f.x0 + ((f.x1 - f.x0) * i) / 5;
    const yv = f.y0 + ((f.y1 - f.y0) * i) / 5;
    const [tx] = at(xv, f.y0);
    const [, ty] = at(f.x0, yv);
    parts.push(`<text x="${px(tx)}" y="${px(oy + 16)}" text-anchor="middle">${tick(xv)}</text>`);
    parts.push(`<text x="${px(ox - 6)}" y="${px(ty + 4)}" text-anchor="end">${tick(yv)}</text>`);
  }
  parts.push(`<text x="${px((ox + ex) / 2)}" y="${HEIGHT - 10}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`);
  parts.push(`<text x="16" y="${px((oy + ey) / 2)}" text-anchor="middle" transform="rotate(-90 16 ${px((oy + ey) / 2)})">${escapeXml(spec.yLabel)}</text>`);
  spec.series.forEach((s, i) => {
    const [r, g, b] = COLORS[i % COLORS.length]!;
    const color = `rgb(${r},${g},${b})`;
    if (s.style === "dots") {
      const d = s.points.map(([x, y]) => {
        const [cx, cy] = at(x, y);
        return `M${px(cx - 1)} ${px(cy)}h2`;
      });
      parts.push(`<path d="${d.join("")}" stroke="${color}" stroke-width="2" fill="none"/>`);
    } else {
      const pts = s.points.map(([x, y]) => at(x, y).map(px).join(",")).join(" ");
      parts.push(`<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    }
    const ly = MARGIN.top + 8 + i * 16;
    parts.push(`<rect x="${WIDTH - 190}" y="${ly - 8}" width="10" height="10" fill="${color}"/>`);
    parts.push(`<text x="${WIDTH - 175}" y="${ly + 1}">${escapeXml(s.name)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

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
