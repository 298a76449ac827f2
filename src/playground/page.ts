/**
 * The playground page: the controls, the animation loop and the drawing of
 * a {@link Playground}. Bundled for the browser by scripts/playground.mjs;
 * the stack runs here, in the page, on a SimClock.
 */
import { plotSvg } from "../labs/plot-svg.js";
import { DEFAULT_SETTINGS, Playground, type PlaygroundSettings, checkSettings } from "./scenario.js";

/** Virtual ms per animation frame for each speed; Infinity runs to the end at once. */
const SPEEDS: Record<string, number> = { "0.25": 4, "1": 16, "4": 64, "16": 256, max: Infinity };
/** Most rows kept in the page: the first {@link HEAD_ROWS} (the handshake) and the latest; the pcap keeps everything. */
const MAX_ROWS = 10_000;
const HEAD_ROWS = 500;
/** Virtual ms run per slice when the speed is "max", between two looks at the clock. */
const MAX_SLICE_MS = 1000;

function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`the page has no #${id}`);
  return el;
}

function input(id: string): HTMLInputElement | HTMLSelectElement {
  return $(id) as HTMLInputElement | HTMLSelectElement;
}

/** Rows that are packets (their text carries its own time). */
const PACKET_KINDS: ReadonlySet<string> = new Set(["syn", "fin", "rst", "data", "ack", "lost", "other"]);

/** The settings that change the bottleneck of a running transfer. */
const LIVE_FIELDS = ["lossPercent", "delayMs", "bandwidthMbps"] as const;

const FIELDS = ["hosts", "lossPercent", "delayMs", "bandwidthMbps", "congestion", "transferKiB", "seed"] as const;

/** The settings in the form. */
function readForm(): PlaygroundSettings {
  const raw: Record<string, unknown> = {};
  for (const f of FIELDS) {
    const v = input(f).value;
    raw[f] = f === "congestion" ? v : v.trim() === "" ? NaN : Number(v);
  }
  return checkSettings(raw as Partial<PlaygroundSettings>);
}

/** Fills the form from the page's query string (`?lossPercent=5&delayMs=50`), defaults elsewhere. */
function fillForm(): void {
  const q = new URLSearchParams(location.search);
  for (const f of FIELDS) input(f).value = q.get(f) ?? String(DEFAULT_SETTINGS[f]);
  const speed = q.get("speed");
  if (speed !== null && speed in SPEEDS) input("speed").value = speed;
}

class PageRun {
  private drawn = 0;
  /** rows taken out of the page between the head and the latest ones, and the row that says so */
  private hidden = 0;
  private gap: HTMLElement | null = null;
  private paused = false;
  private frame = 0;
  private lastPlot = 0;

  constructor(readonly pg: Playground) {}

  start(): void {
    document.body.dataset.state = "running";
    this.frame = requestAnimationFrame(this.tick);
  }

  stop(): void {
    cancelAnimationFrame(this.frame);
    this.pg.close();
  }

  togglePause(): boolean {
    this.paused = !this.paused;
    return this.paused;
  }

  private readonly tick = (): void => {
    const pg = this.pg;
    if (!this.paused) {
      const perFrame = SPEEDS[input("speed").value] ?? 16;
      if (perFrame === Infinity) {
        const until = performance.now() + 12;
        while (!pg.finished() && performance.now() < until) pg.advance(MAX_SLICE_MS);
      } else pg.advance(perFrame);
    }
    this.draw();
    if (pg.finished()) {
      this.plot();
      document.body.dataset.state = "finished";
      return;
    }
    this.frame = requestAnimationFrame(this.tick);
  };

  private draw(): void {
    const pg = this.pg;
    const box = $("diagram");
    const stick = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
    const frag = document.createDocumentFragment();
    for (; this.drawn < pg.rows.length; this.drawn++) {
      const r = pg.rows[this.drawn]!;
      const div = document.createElement("div");
      div.className = `row ${r.kind}`;
      div.dataset.kind = r.kind;
      div.textContent = PACKET_KINDS.has(r.kind) ? r.text : `${r.timeMs.toFixed(3).padStart(10)} ms  ${r.text}`;
      frag.appendChild(div);
    }
    box.appendChild(frag);
    this.trim(box);
    if (stick && input("follow").matches(":checked")) box.scrollTop = box.scrollHeight;
    $("clock").textContent = `${(pg.now() / 1000).toFixed(3)} s virtual · ${pg.rows.length} rows · ${pg.pcap.count} packets`;
    const body = pg.status().map((s) => {
      const total = pg.settings.transferKiB * 1024;
      const cells = [
        s.host,
        s.state,
        `${s.delivered} / ${total}`,
        s.error ?? (s.intact ? "yes" : "NO"),
        String(s.retransmits),
        String(s.cwnd),
        s.srttMs.toFixed(1),
      ];
      return `<tr data-host="${s.host}">${cells.map((c) => `<td>${c}</td>`).join("")}</tr>`;
    });
    $("status").innerHTML = body.join("");
    if (performance.now() - this.lastPlot > 150) this.plot();
  }

  /** Keeps at most MAX_ROWS rows: the head, a row saying how many are hidden, and the latest. */
  private trim(box: HTMLElement): void {
    if (box.childElementCount <= MAX_ROWS) return;
    if (this.gap === null) {
      this.gap = document.createElement("div");
      this.gap.className = "row gap";
      this.gap.dataset.kind = "gap";
      box.insertBefore(this.gap, box.children[HEAD_ROWS] ?? null);
    }
    const excess = box.childElementCount - MAX_ROWS;
    for (let i = 0; i < excess; i++) {
      const next = this.gap.nextElementSibling;
      if (next === null) break;
      next.remove();
      this.hidden++;
    }
    this.gap.textContent = `          … ${this.hidden} rows not shown here (every packet is in the pcap) …`;
  }

  private plot(): void {
    this.lastPlot = performance.now();
    const series = Object.entries(this.pg.cwnd).map(([host, pts]) => ({ name: `cwnd of ${host}`, points: pts.map(([t, c]) => [t / 1000, c] as const) }));
    $("plot").innerHTML = plotSvg({ title: `congestion window (${this.pg.settings.congestion})`, xLabel: "virtual time (s)", yLabel: "cwnd (bytes)", series });
  }
}

let current: PageRun | null = null;

function run(): void {
  current?.stop();
  current = null;
  $("error").textContent = "";
  $("diagram").replaceChildren();
  let pg: Playground;
  try {
    pg = new Playground(readForm());
  } catch (err) {
    $("error").textContent = String((err as Error).message ?? err);
    document.body.dataset.state = "error";
    return;
  }
  $("pause").textContent = "Pause";
  current = new PageRun(pg);
  current.start();
}

function downloadPcap(): void {
  if (current === null) return;
  const blob = new Blob([current.pg.pcap.bytes()], { type: "application/vnd.tcpdump.pcap" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = "tsmio-playground.pcap";
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

fillForm();
$("run").addEventListener("click", run);
$("pause").addEventListener("click", () => {
  if (current !== null) $("pause").textContent = current.togglePause() ? "Resume" : "Pause";
});
$("pcap").addEventListener("click", downloadPcap);
for (const f of LIVE_FIELDS) {
  input(f).addEventListener("change", () => {
    if (current === null || current.pg.finished()) return;
    try {
      current.pg.configure({ [f]: Number(input(f).value) });
      $("error").textContent = "";
    } catch (err) {
      $("error").textContent = String((err as Error).message ?? err);
    }
  });
}
document.body.dataset.state = "ready";
