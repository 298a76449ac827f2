/**
 * Line and dot plots as SVG text, for the labs (see plot.ts for PNG files)
 * and the playground page: the layout both drawings share.
 */

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

export const WIDTH = 800;
export const HEIGHT = 480;
export const MARGIN = { left: 80, right: 20, top: 40, bottom: 50 };
/** Series colours, in order (RGB). */
export const COLORS: ReadonlyArray<readonly [number, number, number]> = [
  [31, 119, 180],
  [214, 39, 40],
  [44, 160, 44],
  [255, 127, 14],
];

/** The data ranges of a plot, with zero as the lowest y. */
export interface Frame {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

export function frameOf(spec: PlotSpec): Frame {
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
export function projector(f: Frame): (x: number, y: number) => [number, number] {
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
