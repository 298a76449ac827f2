/**
 * TUN offloads (virtio-net header, checksum offload, TSO), with the kernel as
 * the other end: TCP the kernel sends reaches the Stack in segments of up to
 * 64 KiB, whatever the MTU, with good checksums; TCP segments the Stack sends
 * back to back reach the kernel joined, and a damaged one is never joined
 * (the kernel drops it, TCP repairs the stream). And SegmentJoiner on
 * hand-built segments. The kernel tests run in a fresh network namespace.
 */
import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Events, FaultInjector, Interest, Poll, Stack, TcpStream, Token, Tracer, TunDevice, WOULD_BLOCK, type Device } from "../../src/index.js";
import type { TcpStream as Stream } from "../../src/net/network.js";
import { internetChecksum, onesSum, pseudoHeaderSum, finishChecksum } from "../../src/stack/wire/checksum.js";
import { emitTcp, tcpHeaderLength, TcpFlags } from "../../src/stack/wire/tcp.js";
import { SegmentJoiner, type JoinedWriter } from "../../src/tun/segment-joiner.js";
import { ip, ipv4, ipv6, pattern, same } from "../stack/helpers.js";
import { ipJson, netnsSuite, KERNEL4, KERNEL6, STACK4, STACK6 } from "../support/netns.js";

// ---- SegmentJoiner on hand-built segments ---------------------------------------

interface Seg {
  seq: number;
  len: number;
  v6?: boolean;
  flags?: number;
  ack?: number;
  window?: number;
  tsVal?: number;
  dstPort?: number;
}

/** A TCP segment from 10.7.0.2:5000 (or fd07::2) with timestamps and `len` payload bytes. */
function segment(s: Seg): Uint8Array {
  const [src, dst] = s.v6 ? ["fd07::2", "fd07::1"] : ["10.7.0.2", "10.7.0.1"];
  const options = { tsVal: s.tsVal ?? 1000, tsEcr: 7 };
  const hl = tcpHeaderLength(options);
  const tcp = new Uint8Array(hl + s.len);
  tcp.set(pattern(s.len, s.seq), hl);
  const header = { srcPort: 5000, dstPort: s.dstPort ?? 40000, seqNumber: s.seq, ackNumber: s.ack ?? 1, flags: s.flags ?? TcpFlags.ACK, window: s.window ?? 512, options };
  emitTcp(tcp, header, s.len, ip(src), ip(dst));
  return s.v6 ? ipv6(src, dst, 6, tcp) : ipv4({ src, dst, protocol: 6 }, tcp);
}

/** A writer that records what the joiner sends: packet copies, and the GSO size (0: sent alone). */
function recorder(): { w: JoinedWriter; out: Array<{ packets: Uint8Array[]; gso: number }> } {
  const out: Array<{ packets: Uint8Array[]; gso: number }> = [];
  const w: JoinedWriter = {
    writeOne: (p) => out.push({ packets: [p.slice()], gso: 0 }),
    writeJoined: (staging, ends, count, gso) => {
      const packets: Uint8Array[] = [];
      for (let i = 0, at = 0; i < count; at = ends[i++]!) packets.push(staging.slice(at, ends[i]));
      out.push({ packets, gso });
    },
  };
  return { w, out };
}

/** Segments of `len` bytes each from `seq` on. */
function run(seq: number, lens: number[], extra: Omit<Seg, "seq" | "len"> = {}): Uint8Array[] {
  const segs: Uint8Array[] = [];
  for (const len of lens) {
    segs.push(segment({ ...extra, seq, len }));
    seq += len;
  }
  return segs;
}

describe("SegmentJoiner", () => {
  it("joins consecutive segments of one connection, keeping copies of their bytes", () => {
    const { w, out } = recorder();
    const j = new SegmentJoiner(w, 64);
    const segs = run(1000, [1000, 1000, 1000, 1000, 700]);
    const copies = segs.map((s) => s.slice());
    for (const s of segs) expect(j.add(s)).toBe(true);
    for (const s of segs) s.fill(0); // the caller reuses its buffers
    expect(out).toEqual([]);
    expect(j.holding).toBe(true);
    j.flush();
    expect(j.holding).toBe(false);
    expect(out).toHaveLength(1);
    expect(out[0]!.gso).toBe(1000);
    expect(out[0]!.packets.map((p) => same(p, copies[out[0]!.packets.indexOf(p)]!))).toEqual([true, true, true, true, true]);
    j.flush();
    expect(out, "nothing more to send").toHaveLength(1);
  });

  it("a lone segment goes out as it is; IPv6 segments join too", () => {
    const { w, out } = recorder();
    const j = new SegmentJoiner(w, 64);
    const one = segment({ seq: 5, len: 100 });
    j.add(one);
    j.flush();
    expect(out).toEqual([{ packets: [one], gso: 0 }]);
    for (const s of run(1, [1200, 1200, 10], { v6: true })) j.add(s);
    j.flush();
    expect(out[1]!.gso).toBe(1200);
    expect(out[1]!.packets.map((p) => p.length)).toEqual([1272, 1272, 82]);
  });

  const breaks: Array<[string, Omit<Seg, "seq" | "len">]> = [
    ["another ACK number", { ack: 2 }],
    ["another window", { window: 511 }],
    ["another timestamp", { tsVal: 1001 }],
    ["another connection", { dstPort: 40001 }],
    ["another IP version", { v6: true }],
  ];
  for (const [what, change] of breaks) {
    it(`a segment with ${what} starts a new run`, () => {
      const { w, out } = recorder();
      const j = new SegmentJoiner(w, 64);
      const [a, b] = run(1, [500, 500]);
      j.add(a!);
      j.add(b!);
      j.add(segment({ seq: 1001, len: 500, ...change }));
      expect(out.map((o) => [o.packets.length, o.gso])).toEqual([[2, 500]]);
      j.flush();
      expect(out.map((o) => [o.packets.length, o.gso])).toEqual([
        [2, 500],
        [1, 0],
      ]);
    });
  }

  it("a gap in the sequence numbers, or a retransmission, starts a new run", () => {
    const { w, out } = recorder();
    const j = new SegmentJoiner(w, 64);
    for (const s of [...run(1, [500, 500]), segment({ seq: 1002, len: 500 }), segment({ seq: 1502, len: 500 }), segment({ seq: 1, len: 500 })]) j.add(s);
    j.flush();
    expect(out.map((o) => o.packets.length)).toEqual([2, 2, 1]);
  });

  it("PSH, or a segment shorter than the first, ends the run after joining it", () => {
    const { w, out } = recorder();
    const j = new SegmentJoiner(w, 64);
    const psh = TcpFlags.ACK | TcpFlags.PSH;
    for (const s of [segment({ seq: 1, len: 800 }), segment({ seq: 801, len: 800, flags: psh }), segment({ seq: 1601, len: 800 })]) j.add(s);
    for (const s of run(2401, [800, 300, 800])) j.add(s);
    j.flush();
    expect(out.map((o) => o.packets.map((p) => p.length))).toEqual([[852, 852], [852, 852, 352], [852]]);
  });

  it("takes no other packet: SYN, FIN, RST, a bare ACK, UDP, IPv4 options or fragments, segments too large for two to fit", () => {
    const { w, out } = recorder();
    const j = new SegmentJoiner(w, 64);
    const options = segment({ seq: 1, len: 100 });
    const withOptions = new Uint8Array(options.length + 4);
    withOptions.set(options.subarray(0, 20));
    withOptions[0] = 0x46;
    withOptions.set(options.subarray(20), 24);
    const fragment = segment({ seq: 1, len: 100 });
    fragment[6] = 0x20; // more fragments
    const udp = segment({ seq: 1, len: 100 });
    udp[9] = 17;
    for (const p of [
      segment({ seq: 1, len: 100, flags: TcpFlags.SYN | TcpFlags.ACK }),
      segment({ seq: 1, len: 100, flags: TcpFlags.FIN | TcpFlags.ACK }),
      segment({ seq: 1, len: 100, flags: TcpFlags.RST | TcpFlags.ACK }),
      segment({ seq: 1, len: 0 }),
      udp,
      withOptions,
      fragment,
      segment({ seq: 1, len: 40_000 }),
    ]) {
      expect(j.add(p)).toBe(false);
    }
    expect(j.holding).toBe(false);
    expect(out).toEqual([]);
  });

  it("a run holds at most maxSegments segments and 65535 bytes", () => {
    const { w, out } = recorder();
    const j = new SegmentJoiner(w, 4);
    for (const s of run(1, [100, 100, 100, 100, 100, 100])) j.add(s);
    j.flush();
    expect(out.map((o) => o.packets.length)).toEqual([4, 2]);

    const big = new SegmentJoiner(w, 64);
    out.length = 0;
    for (const s of run(1, new Array<number>(50).fill(1460))) big.add(s);
    big.flush();
    // 20 + 32 header bytes + 44 × 1460 = 64292; one more would pass 65535
    expect(out.map((o) => o.packets.length)).toEqual([44, 6]);
  });
});

// ---- the kernel as the other end ----------------------------------------------------

const MTU = 1500;
const SIZE = 4 << 20;

/** A packet counter of the TUN interface, as the kernel keeps it (`rx_packets`: packets the kernel took from us). */
function ifaceCounter(name: "rx_packets" | "tx_packets"): number {
  const [link] = ipJson<Array<{ stats64: Record<"rx" | "tx", { packets: number }> }>>("-s", "link", "show", "tsmio0");
  return link!.stats64[name === "rx_packets" ? "rx" : "tx"].packets;
}

/** A counter of /proc/net/snmp in this namespace, e.g. ("Tcp", "InCsumErrors"). */
function snmp(group: string, name: string): number {
  const lines = readFileSync("/proc/net/snmp", "utf8").split("\n").filter((l) => l.startsWith(`${group}:`));
  const keys = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/);
  return Number(values[keys.indexOf(name)]);
}

/** What the Tracer saw of the kernel's TCP packets. */
interface RxLog {
  packets: number;
  longest: number;
  badChecksums: number;
  unverified: number;
  /** where the packets with FIN end (in sequence space, the FIN aside) */
  finEnds: Set<number>;
  /** data packets that start beyond the end of all before them (bytes missing) */
  gaps: number;
}

/**
 * Checks a received IP packet's IPv4 header and TCP checksums and adds it to
 * `log`, if it is TCP from `port` (not, say, a FIN an earlier test's socket
 * still retransmits).
 */
function logTcp(log: RxLog, p: Uint8Array, port: number, verified: boolean, next: { seq: number | null }): void {
  const v4 = p[0]! >> 4 === 4;
  const l4 = v4 ? (p[0]! & 15) * 4 : 40;
  if ((v4 ? p[9] : p[6]) !== 6 || ((p[l4]! << 8) | p[l4 + 1]!) !== port) return;
  log.packets++;
  log.longest = Math.max(log.longest, p.length);
  if (!verified) log.unverified++;
  const seg = p.subarray(l4);
  const src = v4 ? p.subarray(12, 16) : p.subarray(8, 24);
  const dst = v4 ? p.subarray(16, 20) : p.subarray(24, 40);
  const tcpOk = finishChecksum(onesSum(seg, pseudoHeaderSum(src, dst, 6, seg.length))) === 0;
  const ipOk = !v4 || internetChecksum(p.subarray(0, l4)) === 0;
  if (!tcpOk || !ipOk) log.badChecksums++;
  const flags = seg[13]!;
  const payload = seg.length - (seg[12]! >> 4) * 4;
  const seq = new DataView(seg.buffer, seg.byteOffset).getUint32(4);
  const end = (seq + payload) >>> 0;
  // a retransmission (the kernel's tail loss probe on a busy machine) goes back; nothing may go missing
  if (payload > 0 && next.seq !== null && ((seq - next.seq) | 0) > 0) log.gaps++;
  if (payload > 0 && (next.seq === null || ((end - next.seq) | 0) > 0)) next.seq = end;
  if (flags & TcpFlags.FIN) log.finEnds.add(end);
}

netnsSuite("TUN offloads with the kernel", () => {
  let tun: TunDevice;
  let poll: Poll;
  const closeAfter: Array<{ close(): void }> = [];
  const events = new Events(64);

  beforeEach(() => {
    tun = new TunDevice({ name: "tsmio0", mtu: MTU });
    tun.configure({ addresses: [`${KERNEL4}/24`, `${KERNEL6}/64`], up: true });
    poll = new Poll();
  });

  afterEach(() => {
    for (const x of closeAfter.splice(0).reverse()) x.close();
    tun.close();
    poll.close();
  });

  /** A Stack on `device`, a kernel TcpStream connected to it, and the accepted virtual one. */
  function connect(device: Device, family: 4 | 6): { stack: Stack; kernel: Stream; virtual: Stream } {
    const stack = new Stack({ poll, device, addresses: [`${STACK4}/24`, `${STACK6}/64`] });
    closeAfter.push(stack);
    const addr = family === 4 ? `${STACK4}:7000` : `[${STACK6}]:7000`;
    const listener = stack.tcpBind(addr);
    closeAfter.push(listener);
    const kernel = TcpStream.connect(addr);
    closeAfter.push(kernel);
    const deadline = Date.now() + 5000;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`no connection (IPv${family}): device error ${String(tun.takeError())}`);
      poll.poll(events, 50);
      const r = listener.accept();
      if (r !== WOULD_BLOCK) {
        closeAfter.push(r[0]);
        poll.registry().register(kernel, Token(1), Interest.READABLE.add(Interest.WRITABLE));
        poll.registry().register(r[0], Token(2), Interest.READABLE.add(Interest.WRITABLE));
        return { stack, kernel, virtual: r[0] };
      }
    }
  }

  /**
   * Moves SIZE bytes from `from` to `to` (write until WOULD_BLOCK, read until
   * WOULD_BLOCK, poll), the sender shutting down right after its last write
   * (so that its FIN may ride on the last data); fails on any differing byte
   * and returns at the receiver's end of stream.
   */
  function bulk(from: Stream, to: Stream, what: string): void {
    const data = pattern(SIZE, 3);
    const buf = new Uint8Array(256 * 1024);
    let sent = 0;
    let got = 0;
    let eof = false;
    const deadline = Date.now() + 30_000;
    while (!eof) {
      if (Date.now() > deadline) throw new Error(`${what}: stuck at ${got} of ${SIZE} bytes (sent ${sent}); device error ${String(tun.takeError())}`);
      let moved = false;
      while (sent < SIZE) {
        const n = from.write(data.subarray(sent, Math.min(SIZE, sent + buf.length)));
        if (n === WOULD_BLOCK) break;
        sent += n;
        moved = true;
        if (sent === SIZE) from.shutdown("write");
      }
      for (;;) {
        const n = to.read(buf);
        if (n === WOULD_BLOCK) break;
        if (n === 0) {
          if (got !== SIZE) throw new Error(`${what}: end of stream after ${got} bytes`);
          eof = true;
          break;
        }
        if (!same(buf.subarray(0, n), data.subarray(got, got + n))) throw new Error(`${what}: bytes ${got}..${got + n} differ`);
        got += n;
        moved = true;
      }
      if (!moved) poll.poll(events, 100);
    }
  }

  for (const family of [4, 6] as const) {
    it(`the kernel's TCP reaches the Stack in segments of up to 64 KiB, checksums good and vouched for (IPv${family})`, () => {
      const log: RxLog = { packets: 0, longest: 0, badChecksums: 0, unverified: 0, finEnds: new Set(), gaps: 0 };
      const next = { seq: null as number | null };
      let port = -1;
      const tracer = new Tracer(tun, (dir, p) => {
        if (dir === "rx") logTcp(log, p, port, tun.checksumsVerified, next);
      });
      const { stack, kernel, virtual } = connect(tracer, family);
      port = kernel.localAddr().port;
      const sentBefore = ifaceCounter("tx_packets");
      bulk(kernel, virtual, `kernel -> Stack, IPv${family}`);
      const kernelPackets = ifaceCounter("tx_packets") - sentBefore;
      expect(log.badChecksums, "every packet's IPv4 header and TCP checksums are good").toBe(0);
      expect(log.unverified, "the device vouches for the kernel's checksums").toBe(0);
      expect(log.longest, "segments far longer than the MTU (TSO)").toBeGreaterThan(16 * MTU);
      expect(log.longest).toBeLessThanOrEqual(65536);
      expect(log.gaps, "segments follow each other").toBe(0);
      expect([...log.finEnds], "FIN only on the segment that ends the stream").toEqual([next.seq]);
      expect(log.packets, `the kernel sent ${kernelPackets} packets, the Stack received ${log.packets}: one each`).toBeLessThanOrEqual(kernelPackets);
      expect(log.packets, "about 64 KiB each").toBeLessThan((4 * SIZE) / 65536);
      expect(tun.takeError()).toBeNull();
      // (an earlier test's kernel socket may still send a FIN here, which the Stack drops: no socket)
      expect(Object.keys(stack.stats().dropped).filter((reason) => reason.includes("checksum"))).toEqual([]);
    });

    it(`TCP segments the Stack sends reach the kernel joined, byte-exact (IPv${family})`, () => {
      const { stack, kernel, virtual } = connect(tun, family);
      const takenBefore = ifaceCounter("rx_packets");
      const sentBefore = stack.stats().txPackets;
      bulk(virtual, kernel, `Stack -> kernel, IPv${family}`);
      const written = ifaceCounter("rx_packets") - takenBefore;
      const sent = stack.stats().txPackets - sentBefore;
      expect(written, `the Stack sent ${sent} packets, the kernel took ${written} (joined)`).toBeLessThan(sent / 4);
      expect(tun.takeError()).toBeNull();
    });
  }

  it("a damaged segment is never joined: the kernel drops it and TCP repairs the stream", () => {
    const seed = 11;
    const faults = new FaultInjector(tun, { corrupt: 0.02, direction: "tx", seed });
    const { kernel, virtual } = connect(faults, 4);
    const csumErrors = snmp("Tcp", "InCsumErrors");
    bulk(virtual, kernel, `Stack -> kernel through corruption, seed ${seed}`);
    expect(faults.stats().tx.corrupted, `seed ${seed}`).toBeGreaterThan(10);
    expect(snmp("Tcp", "InCsumErrors") - csumErrors, `the kernel caught damaged segments (seed ${seed})`).toBeGreaterThan(0);
  });

  it("without offloads: one packet per read and per write, checksums left to the Stack", () => {
    tun.close();
    tun = new TunDevice({ name: "tsmio0", mtu: MTU, offload: false });
    tun.configure({ addresses: [`${KERNEL4}/24`, `${KERNEL6}/64`], up: true });
    let vouched = 0;
    const tracer = new Tracer(tun, (dir) => {
      if (dir === "rx" && tun.checksumsVerified) vouched++;
    });
    const { stack, kernel, virtual } = connect(tracer, 4);
    const takenBefore = ifaceCounter("rx_packets");
    const sentBefore = stack.stats().txPackets;
    const receivedBefore = stack.stats().rxPackets;
    const kernelBefore = ifaceCounter("tx_packets");
    bulk(virtual, kernel, "Stack -> kernel without offloads");
    bulk(kernel, virtual, "kernel -> Stack without offloads"); // the other half of the connection
    expect(ifaceCounter("rx_packets") - takenBefore, "one write per packet").toBe(stack.stats().txPackets - sentBefore);
    const kernelSent = ifaceCounter("tx_packets") - kernelBefore;
    expect(stack.stats().rxPackets - receivedBefore, `one packet per read: the kernel sent ${kernelSent}`).toBeLessThanOrEqual(kernelSent);
    expect(vouched).toBe(0);
  });
});
