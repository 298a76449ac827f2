/**
 * Lab 7: congestion control. The same bulk transfer over the same long fat
 * bottleneck (20 Mbit/s, 100 ms RTT, a one-BDP queue), once with NewReno
 * and once with CUBIC. Slow start overflows the queue; after that loss
 * NewReno grows its window by one segment per round trip, CUBIC along its
 * cubic curve, and overtakes it. Writes a plot of both windows over time.
 */
import { WOULD_BLOCK } from "../error.js";
import { Sim } from "../sim/sim.js";
import type { VirtualTcpStream } from "../stack/tcp/socket.js";
import type { Lab, LabOutput } from "./index.js";
import { accept, connect, writeAll } from "../sim/sockets.js";
import { writePlots } from "./plot.js";
import { join } from "node:path";

/** The congestion control algorithms compared. */
export type Algorithm = "newreno" | "cubic";

/** One algorithm's run: its window over time and its losses. */
export interface Lab7Trace {
  algorithm: Algorithm;
  /** `[ms, cwnd bytes]` every {@link SAMPLE_MS} */
  cwnd: Array<[number, number]>;
  /** virtual time (ms) of the first retransmission, null if none */
  firstLossAt: number | null;
  /** bytes delivered to the receiver */
  delivered: number;
}

const DURATION_MS = 8000;
const SAMPLE_MS = 20;
/** How long after the first loss the windows are compared (both have left recovery by then). */
export const SETTLE_MS = 2000;
const BANDWIDTH = 20e6;
const ONE_WAY_MS = 50;
const BUFFER = 4 * 1024 * 1024;
/** The bottleneck queue: one bandwidth-delay product (250 kB). */
const QUEUE = 250_000;

/** Runs the transfer with `algorithm` and traces its congestion window; with `pcap`, captures it there. */
export async function traceCongestion(algorithm: Algorithm, pcap?: string): Promise<Lab7Trace> {
  const sim = new Sim({ seed: 7 });
  try {
    if (pcap !== undefined) sim.pcap(pcap);
    const tcp = { congestion: algorithm, sendBuffer: BUFFER, recvBuffer: BUFFER };
    const a = sim.host("a", { addresses: ["10.0.0.1/24"], tcp });
    const b = sim.host("b", { addresses: ["10.0.0.2/24"], tcp });
    sim.link(a, b, { delayMs: ONE_WAY_MS, bandwidthBps: BANDWIDTH, queueBytes: QUEUE, mtu: 1500 });
    const trace: Lab7Trace = { algorithm, cwnd: [], firstLossAt: null, delivered: 0 };
    a.on("tcp-retransmit", () => {
      trace.firstLossAt ??= sim.now();
    });
    const sample = (): void => {
      const s = Object.values(a.tcpStats())[0];
      if (s !== undefined) trace.cwnd.push([sim.now(), s.cwnd]);
      if (sim.now() + SAMPLE_MS <= DURATION_MS) sim.setTimeout(sample, SAMPLE_MS);
    };
    await sim.run(async () => {
      const listener = b.tcpBind("10.0.0.2:5001");
      const [s, p] = await Promise.all([connect(sim, a, "10.0.0.2:5001"), accept(sim, listener)]);
      sample();
      let reading = true;
      const drain = async (): Promise<void> => {
        const buf = new Uint8Array(65536);
        while (reading) {
          const n = p.read(buf);
          if (n === WOULD_BLOCK) await sim.ready(p);
          else if (n === 0) return;
          else trace.delivered += n;
        }
      };
      void drain();
      void feed(sim, s);
      await sim.sleep(DURATION_MS);
      reading = false;
    });
    return trace;
  } finally {
    sim.close();
  }
}

/** Keeps `s`'s send buffer full (until the Sim is closed). */
async function feed(sim: Sim, s: VirtualTcpStream): Promise<void> {
  const chunk = new Uint8Array(BUFFER).fill(0x37);
  for (;;) await writeAll(sim, s, chunk);
}

/** The windows of both runs, the first time CUBIC's exceeds NewReno's after the first loss, and the plot. */
export async function runLab7(out: LabOutput): Promise<{ newreno: Lab7Trace; cubic: Lab7Trace; svg: string; png: string; pcaps: Record<Algorithm, string> }> {
  out.line(`bottleneck: ${BANDWIDTH / 1e6} Mbit/s, RTT ${2 * ONE_WAY_MS} ms (BDP ${Math.round((BANDWIDTH / 8) * ((2 * ONE_WAY_MS) / 1000) / 1000)} kB), a ${QUEUE / 1000} kB queue; ${DURATION_MS / 1000} s of bulk transfer each`);
  const pcaps = { newreno: join(out.dir, "lab7-newreno.pcap"), cubic: join(out.dir, "lab7-cubic.pcap") };
  const newreno = await traceCongestion("newreno", pcaps.newreno);
  const cubic = await traceCongestion("cubic", pcaps.cubic);
  for (const t of [newreno, cubic]) {
    const peak = Math.max(...t.cwnd.map(([, c]) => c));
    const last = t.cwnd[t.cwnd.length - 1]?.[1] ?? 0;
    out.line(
      `${t.algorithm.padEnd(7)}: first loss at ${t.firstLossAt === null ? "-" : `${(t.firstLossAt / 1000).toFixed(3)}s`}, peak cwnd ${peak} B, cwnd at the end ${last} B, ` +
        `throughput ${((t.delivered * 8) / (DURATION_MS / 1000) / 1e6).toFixed(1)} Mbit/s`,
    );
  }
  // compare once both have recovered from the slow-start overshoot
  const after = Math.max(newreno.firstLossAt ?? 0, cubic.firstLossAt ?? 0) + SETTLE_MS;
  const over = cubicOvertakes(newreno, cubic, after);
  out.line(over === null ? "CUBIC's window never exceeded NewReno's after recovery" : `${SETTLE_MS / 1000} s after the first loss CUBIC's cwnd exceeds NewReno's at ${(over / 1000).toFixed(2)}s`);
  const files = writePlots(out.dir, "lab7-cwnd", {
    title: "Lab 7: congestion window, NewReno vs CUBIC",
    xLabel: "time (s)",
    yLabel: "cwnd (bytes)",
    series: [newreno, cubic].map((t) => ({ name: t.algorithm, points: t.cwnd.map(([ms, c]) => [ms / 1000, c] as const) })),
  });
  out.line(`wrote ${files.svg}, ${files.png}, ${pcaps.newreno}, ${pcaps.cubic}`);
  return { newreno, cubic, ...files, pcaps };
}

/** The first sample time at or after `after` when CUBIC's window is larger than NewReno's, or null. */
export function cubicOvertakes(newreno: Lab7Trace, cubic: Lab7Trace, after: number): number | null {
  const reno = new Map(newreno.cwnd);
  for (const [t, c] of cubic.cwnd) {
    const r = reno.get(t);
    if (t >= after && r !== undefined && c > r) return t;
  }
  return null;
}

/** Lab 7: congestion control (NewReno against CUBIC on a bottleneck link). */
export const lab7: Lab = {
  title: "Lab 7: congestion control",
  async run(out) {
    out.line(lab7.title);
    await runLab7(out);
  },
};
