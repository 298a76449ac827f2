/**
 * Lab 6: flow control. A receiver with a 16 KiB buffer stops reading: its
 * advertised window shrinks to zero, the sender stops and sends zero-window
 * probes with exponential backoff (the persist timer), and when the
 * receiver reads again a window update restarts the transfer.
 */
import { join } from "node:path";
import { Sim } from "../sim/sim.js";
import { SequenceDiagram } from "./diagram.js";
import type { Lab, LabOutput } from "./index.js";
import { accept, connect, readToEnd, writeAll } from "../sim/sockets.js";
import { type Segment, readSegments, rel } from "./lab5.js";

/** What one run of lab 6 observed. */
export interface Lab6Result {
  /** virtual time (ms) of the first zero window the receiver advertised */
  zeroWindowAt: number | null;
  /** virtual times (ms) of the sender's zero-window probes */
  probes: number[];
  /** bytes the receiver got in the end */
  received: number;
  pcap: string;
}

const BYTES = 200_000;
const RECV_BUFFER = 16 * 1024;
/** How long the receiver does not read, in ms. */
const PAUSE_MS = 8000;
const SYN = 0x02;
const SENDER = "10.0.0.1";

/** Runs lab 6 and returns what it saw. */
export async function runLab6(out: LabOutput): Promise<Lab6Result> {
  const sim = new Sim({ seed: 6 });
  try {
    const a = sim.host("a", { addresses: ["10.0.0.1/24"] });
    const b = sim.host("b", { addresses: ["10.0.0.2/24"], tcp: { recvBuffer: RECV_BUFFER } });
    sim.link(a, b, { delayMs: 10, bandwidthBps: 10e6, mtu: 1500 });
    const pcap = join(out.dir, "lab6.pcap");
    const capture = sim.pcap(pcap);
    out.line(`a -> b: ${BYTES} bytes; b's receive buffer is ${RECV_BUFFER} bytes and b reads nothing for ${PAUSE_MS / 1000} s`);
    const received = await sim.run(async () => {
      const listener = b.tcpBind("10.0.0.2:5001");
      const [s, p] = await Promise.all([connect(sim, a, "10.0.0.2:5001"), accept(sim, listener)]);
      const writing = writeAll(sim, s, new Uint8Array(BYTES).fill(0x36)).then(() => s.shutdown("write"));
      await sim.sleep(PAUSE_MS);
      out.line(`${(sim.now() / 1000).toFixed(3)}s --- b starts reading ---`);
      const n = (await readToEnd(sim, p)).length;
      await writing;
      return n;
    });
    capture.close();
    const segments = readSegments(pcap);
    const seen = analyse(segments);
    const diagram = new SequenceDiagram("a", "b", (text) => out.line(text));
    out.line("the packets around the zero window (as seen at a):");
    const shown = new Set(seen.shown);
    segments.forEach((s, i) => {
      // every segment goes through the diagram, which numbers them relative to the first ones
      const text = diagram.render(s.src === SENDER ? "tx" : "rx", s.packet, s.t);
      if (shown.has(i)) out.line(text);
    });
    if (seen.zeroWindowAt !== null) out.line(`zero window advertised by b at ${(seen.zeroWindowAt / 1000).toFixed(3)}s`);
    const gaps = seen.probes.slice(1).map((t, i) => Math.round(t - seen.probes[i]!));
    out.line(`zero-window probes: ${seen.probes.length}, gaps ${gaps.join(", ")} ms (the persist timer backs off: RFC 9293 §3.8.6.1)`);
    out.line(`done at ${(sim.now() / 1000).toFixed(3)}s: b received ${received} bytes; wrote ${pcap}`);
    return { zeroWindowAt: seen.zeroWindowAt, probes: seen.probes, received, pcap };
  } finally {
    sim.close();
  }
}

/**
 * Finds the receiver's first zero window and the sender's probes: segments
 * without data carrying SND.UNA−1 while the window is closed. `shown`: the
 * indices of the segments worth drawing (from the last data segment before
 * the zero window to the first data segment after it opens again).
 */
function analyse(segments: Segment[]): { zeroWindowAt: number | null; probes: number[]; shown: number[] } {
  const synA = segments.find((s) => s.src === SENDER && s.flags & SYN);
  const base = synA ? synA.seq : 0;
  let zeroWindowAt: number | null = null;
  let closed = false;
  let acked = 0;
  const probes: number[] = [];
  const shown: number[] = [];
  segments.forEach((s, i) => {
    if (s.src !== SENDER) {
      if (s.flags & SYN) return;
      acked = rel(s.ack, base);
      const wasClosed = closed;
      closed = s.window === 0;
      if (closed && zeroWindowAt === null) zeroWindowAt = s.t;
      if (closed || wasClosed) shown.push(i);
    } else if (closed && s.len === 0 && rel(s.seq, base) === acked - 1) {
      probes.push(s.t);
      shown.push(i);
    }
  });
  return { zeroWindowAt, probes, shown };
}

/** Lab 6: flow control (windows, zero window, persist timer). */
export const lab6: Lab = {
  title: "Lab 6: flow control",
  async run(out) {
    out.line(lab6.title);
    await runLab6(out);
  },
};
