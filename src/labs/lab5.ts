/**
 * Lab 5: loss and retransmission. A 1 MB transfer over a slightly lossy
 * link shows fast retransmit and SACK recovery; a 3-second partition in the
 * middle shows retransmission timeouts with exponential backoff. Writes a
 * pcap and a plot of sequence numbers over time (SVG and PNG).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Sim } from "../sim/sim.js";
import type { TcpRetransmitEvent } from "../stack/stack.js";
import { accept, connect, readToEnd, writeAll } from "../sim/sockets.js";
import type { Lab, LabOutput } from "./index.js";
import { writePlots } from "./plot.js";

// ---- helpers shared by labs 5 to 7 ------------------------------------------

/** @internal One TCP segment of a capture, the fields the labs look at. */
export interface Segment {
  /** virtual time in ms */
  t: number;
  /** IPv4 source as a dotted string */
  src: string;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  /** payload bytes */
  len: number;
  /** the whole IP packet */
  packet: Uint8Array;
}

/** @internal The IPv4 TCP segments of a LINKTYPE_RAW pcap file (as `sim.pcap` writes). */
export function readSegments(path: string): Segment[] {
  const buf = readFileSync(path);
  const out: Segment[] = [];
  for (let off = 24; off + 16 <= buf.length; ) {
    const t = buf.readUInt32LE(off) * 1000 + buf.readUInt32LE(off + 4) / 1000;
    const incl = buf.readUInt32LE(off + 8);
    const p = buf.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    if (p.length < 40 || p[0]! >> 4 !== 4 || p[9] !== 6) continue;
    const ihl = (p[0]! & 15) * 4;
    const total = p.readUInt16BE(2);
    const doff = (p[ihl + 12]! >> 4) * 4;
    out.push({
      t,
      src: `${p[12]}.${p[13]}.${p[14]}.${p[15]}`,
      seq: p.readUInt32BE(ihl + 4),
      ack: p.readUInt32BE(ihl + 8),
      flags: p[ihl + 13]!,
      window: p.readUInt16BE(ihl + 14),
      len: total - ihl - doff,
      packet: new Uint8Array(p),
    });
  }
  return out;
}

/** @internal `seq - base` modulo 2^32. */
export function rel(seq: number, base: number): number {
  return (seq - base) >>> 0;
}

// ---- the lab -------------------------------------------------------------------

/** What one run of lab 5 observed, for tests and exercises. */
export interface Lab5Result {
  /** every retransmission of the sender, with its kind */
  retransmits: Array<{ t: number; kind: "rto" | "fast"; event: TcpRetransmitEvent }>;
  /** bytes the receiver got */
  received: number;
  pcap: string;
  svg: string;
  png: string;
}

const BYTES = 1_000_000;
const SYN = 0x02;
/** How many fast retransmissions are printed (the rest are counted). */
const FAST_SHOWN = 6;

/** Runs lab 5 and returns what it saw; `loss` is the link's loss rate. */
export async function runLab5(out: LabOutput, loss = 0.01): Promise<Lab5Result> {
  const sim = new Sim({ seed: 5 });
  try {
    const a = sim.host("a", { addresses: ["10.0.0.1/24"] });
    const b = sim.host("b", { addresses: ["10.0.0.2/24"] });
    sim.link(a, b, { delayMs: 20, loss, bandwidthBps: 10e6, mtu: 1500 });
    const pcap = join(out.dir, "lab5.pcap");
    const capture = sim.pcap(pcap);
    const retransmits: Lab5Result["retransmits"] = [];
    a.on("tcp-retransmit", (e) => {
      // After a timeout the window collapses to one segment (RFC 5681 §3.1);
      // a fast retransmit keeps half of it or more.
      const kind = e.stats.cwnd <= e.stats.mss ? "rto" : "fast";
      retransmits.push({ t: sim.now(), kind, event: e });
      if (kind === "fast" && retransmits.filter((r) => r.kind === "fast").length > FAST_SHOWN) return;
      out.line(
        `${(sim.now() / 1000).toFixed(3)}s retransmit (${kind === "rto" ? "RTO" : "fast retransmit / SACK recovery"}) seq=${e.seq} ` +
          `len=${e.length}` +
          `  cwnd=${e.stats.cwnd} ssthresh=${e.stats.ssthresh} rto=${Math.round(e.stats.rto)}ms srtt=${Math.round(e.stats.srtt)}ms sacked=${e.stats.sackedBytes}`,
      );
    });
    out.line(`a -> b: ${BYTES} bytes, 10 Mbit/s, 20 ms each way, ${loss * 100}% random loss; a partition from 1.0 s to 4.0 s`);
    sim.setTimeout(() => {
      out.line("1.000s --- partition a <-> b: every segment is lost ---");
      sim.partition(a, b);
    }, 1000);
    sim.setTimeout(() => {
      out.line("4.000s --- repaired ---");
      sim.repair(a, b);
    }, 4000);
    const received = await sim.run(async () => {
      const listener = b.tcpBind("10.0.0.2:5001");
      const [s, p] = await Promise.all([connect(sim, a, "10.0.0.2:5001"), accept(sim, listener)]);
      const reading = readToEnd(sim, p);
      await writeAll(sim, s, new Uint8Array(BYTES).fill(0x35));
      s.shutdown("write");
      return (await reading).length;
    });
    capture.close();
    const stats = Object.values(a.tcpStats())[0];
    out.line(`done at ${(sim.now() / 1000).toFixed(3)}s: b received ${received} bytes; a retransmitted ${retransmits.length} segments` + (stats ? `, peer SACKed ${stats.sackedBytes} bytes` : ""));
    const rtos = retransmits.filter((r) => r.kind === "rto");
    out.line(`fast retransmits / SACK recovery: ${retransmits.length - rtos.length} (first ${FAST_SHOWN} shown); retransmission timeouts: ${rtos.length}`);
    if (rtos.length > 1) {
      const gaps = rtos.slice(1).map((r, i) => Math.round(r.t - rtos[i]!.t));
      out.line(`RTO backoff: gaps between timeouts ${gaps.join(", ")} ms (each about double the previous: RFC 6298 §5.5)`);
    }
    const plot = plotSequence(readSegments(pcap), "10.0.0.1");
    const files = writePlots(out.dir, "lab5-seq", plot);
    out.line(`wrote ${pcap}, ${files.svg}, ${files.png}`);
    return { retransmits, received, pcap, ...files };
  } finally {
    sim.close();
  }
}

/** Sequence numbers (relative) of the sender's data segments, and the receiver's ACKs, over time. */
function plotSequence(segments: Segment[], sender: string): Parameters<typeof writePlots>[2] {
  const syn = segments.find((s) => s.src === sender && s.flags & SYN);
  const base = syn ? syn.seq : 0;
  const fresh: Array<[number, number]> = [];
  const again: Array<[number, number]> = [];
  const acks: Array<[number, number]> = [];
  let highest = 0;
  for (const s of segments) {
    const x = s.t / 1000;
    if (s.src === sender) {
      if (s.len === 0) continue;
      const r = rel(s.seq, base);
      if (r < highest) again.push([x, r]);
      else fresh.push([x, r]);
      highest = Math.max(highest, r + s.len);
    } else if (!(s.flags & SYN)) {
      acks.push([x, rel(s.ack, base)]);
    }
  }
  return {
    title: "Lab 5: sequence numbers over time (a -> b)",
    xLabel: "time (s)",
    yLabel: "relative sequence number (bytes)",
    series: [
      { name: "data sent", points: fresh, style: "dots" },
      { name: "retransmitted", points: again, style: "dots" },
      { name: "ACK from b", points: acks },
    ],
  };
}

/** Lab 5: loss and retransmission (RTO, backoff, fast retransmit, SACK). */
export const lab5: Lab = {
  title: "Lab 5: loss and retransmission",
  async run(out) {
    out.line(lab5.title);
    await runLab5(out);
  },
};
