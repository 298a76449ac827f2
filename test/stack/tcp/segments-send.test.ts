/**
 * Segment traces of sending: segment sizes (MSS less options, RFC 6691),
 * the initial window (RFC 6928), Nagle (RFC 9293 §3.7.4), the peer's window
 * (scaled, RFC 7323 §2.3), sender silly-window avoidance (§3.8.6.2.1),
 * retransmission timeouts (RFC 6298), fast retransmit (RFC 5681 §3.2,
 * RFC 6675) and zero-window probes (§3.8.6.1).
 */
import { describe, expect, it } from "vitest";
import { WOULD_BLOCK } from "../../../src/error.js";
import type { VirtualTcpStream } from "../../../src/stack/tcp/socket.js";
import { type Opts, type PeerOptions, SegmentPeer, seg } from "./segments.js";

const W = 65535;

function open(options: Opts = { mss: 1460 }, window = 65535, peer: PeerOptions = {}): { p: SegmentPeer; s: VirtualTcpStream } {
  const p = new SegmentPeer(peer);
  const { stream } = p.passiveOpen(options, window);
  return { p, s: stream };
}

/** Segment-size tests turn Nagle off so that the tail of a write goes out with the rest. */
function openNoDelay(options: Opts = { mss: 1460 }, peer: PeerOptions = {}): { p: SegmentPeer; s: VirtualTcpStream } {
  const o = open(options, 65535, peer);
  o.s.setNoDelay(true);
  return o;
}

/** Writes `n` bytes (all must fit) and runs the stack once. */
function write(p: SegmentPeer, s: VirtualTcpStream, n: number): void {
  expect(s.write(new Uint8Array(n).fill(0x5a))).toBe(n);
  p.poll();
}

/** [seq, len] of what the stack sent. */
function sizes(p: SegmentPeer): Array<[number, number]> {
  return p.recv().map((x) => [x.seq, x.len]);
}

describe("segment sizes", () => {
  it("write() is cut into MSS-sized segments, PSH on the last; the bytes are the ones written", () => {
    const { p, s } = openNoDelay();
    const bytes = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7 + (i >> 8)) & 0xff);
    expect(s.write(bytes)).toBe(5000);
    p.poll();
    const out = p.take();
    expect(out.map((o) => o.seg)).toEqual([
      seg("ACK", 1, 1, W, {}, 1460),
      seg("ACK", 1461, 1, W, {}, 1460),
      seg("ACK", 2921, 1, W, {}, 1460),
      seg("PSH|ACK", 4381, 1, W, {}, 620),
    ]);
    expect(Buffer.concat(out.map((o) => o.data))).toEqual(Buffer.from(bytes));
  });

  it("the active opener sends the same way: MSS from the SYN-ACK", () => {
    const p = new SegmentPeer();
    const { stream: s } = p.activeOpen({ mss: 1200 });
    s.setNoDelay(true);
    write(p, s, 3000);
    expect(p.recv()).toEqual([seg("ACK", 1, 1, W, {}, 1200), seg("ACK", 1201, 1, W, {}, 1200), seg("PSH|ACK", 2401, 1, W, {}, 600)]);
  });

  it("with timestamps a segment carries MSS − 12 bytes (RFC 6691, RFC 7323 §3.2)", () => {
    const { p, s } = openNoDelay({ mss: 1460, ts: { val: 1, ecr: 0 } });
    write(p, s, 3000);
    const out = p.recv();
    expect(out.map((x) => x.len)).toEqual([1448, 1448, 104]);
    // the peer's TSval is its clock + 5000: the handshake ACK's was 5000
    for (const x of out) expect(x.options).toEqual({ ts: { val: 0, ecr: 5000 } });
  });

  it("the peer's smaller MSS limits the segments", () => {
    const { p, s } = openNoDelay({ mss: 1000 });
    write(p, s, 2500);
    expect(sizes(p)).toEqual([[1, 1000], [1001, 1000], [2001, 500]]);
  });

  it("IPv6 over MTU 1500: MSS 1440", () => {
    const { p, s } = openNoDelay({ mss: 1460 }, { family: 6 });
    write(p, s, 3000);
    expect(sizes(p)).toEqual([[1, 1440], [1441, 1440], [2881, 120]]);
  });

  it("the initial congestion window is 10 segments (RFC 6928); each ACK in slow start sends two for one", () => {
    const { p, s } = open();
    write(p, s, 30 * 1460);
    expect(p.recv()).toHaveLength(10);
    expect(p.exchange({ flags: "ACK", seq: 1, ack: 1461 })).toEqual([seg("ACK", 14601, 1, W, {}, 1460), seg("ACK", 16061, 1, W, {}, 1460)]);
  });
});

describe("Nagle", () => {
  it("a small segment waits while data is unacknowledged; the ACK releases what has queued up", () => {
    const { p, s } = open();
    write(p, s, 100);
    expect(p.recv()).toEqual([seg("PSH|ACK", 1, 1, W, {}, 100)]);
    write(p, s, 100);
    write(p, s, 100);
    expect(p.recv()).toEqual([]);
    expect(p.exchange({ flags: "ACK", seq: 1, ack: 101 })).toEqual([seg("PSH|ACK", 101, 1, W, {}, 200)]);
  });

  it("setNoDelay(true) sends what waits at once, and later small writes too", () => {
    const { p, s } = open();
    write(p, s, 100);
    write(p, s, 100);
    expect(sizes(p)).toEqual([[1, 100]]);
    s.setNoDelay(true);
    p.poll();
    expect(sizes(p)).toEqual([[101, 100]]);
    write(p, s, 10);
    expect(sizes(p)).toEqual([[201, 10]]);
  });

  it("a write of 1560 bytes goes out as 1460 + 100 at once (Minshall's Nagle, as Linux)", () => {
    const { p, s } = open();
    write(p, s, 1560);
    expect(p.recv()).toEqual([seg("ACK", 1, 1, W, {}, 1460), seg("PSH|ACK", 1461, 1, W, {}, 100)]);
  });
});

describe("the peer's window", () => {
  it("limits what is in flight; its ACK with the same window lets the rest go", () => {
    const { p, s } = open({ mss: 1460 }, 2920);
    s.setNoDelay(true);
    write(p, s, 4 * 1460);
    expect(sizes(p)).toEqual([[1, 1460], [1461, 1460]]);
    expect(p.exchange({ flags: "ACK", seq: 1, ack: 2921, window: 2920 }).map((x) => [x.flags, x.seq, x.len])).toEqual([
      ["ACK", 2921, 1460],
      ["PSH|ACK", 4381, 1460],
    ]);
  });

  it("the window field is scaled by the peer's shift after the SYN (RFC 7323 §2.3)", () => {
    const { p, s } = open({ mss: 1460, wscale: 2 }, 730);
    s.setNoDelay(true);
    write(p, s, 4 * 1460);
    // 730 << 2 = 2920
    expect(sizes(p)).toEqual([[1, 1460], [1461, 1460]]);
  });

  it("the window of a SYN-ACK is never scaled (RFC 7323 §2.2)", () => {
    const p = new SegmentPeer();
    const { stream: s } = p.activeOpen({ mss: 1460, wscale: 4 }, 1460);
    s.setNoDelay(true);
    write(p, s, 4 * 1460);
    expect(sizes(p)).toEqual([[1, 1460]]);
  });

  it("no runt segment to fill the last 80 bytes of the window (sender SWS avoidance)", () => {
    const { p, s } = open({ mss: 1460 }, 3000);
    s.setNoDelay(true);
    write(p, s, 4 * 1460);
    expect(sizes(p)).toEqual([[1, 1460], [1461, 1460]]);
  });
});

describe("retransmission timeout (RFC 6298)", () => {
  it("fires one RTO after the send (3 × the 100 ms handshake RTT) and doubles; the segment is resent unchanged", () => {
    const p = new SegmentPeer();
    const l = p.listen();
    p.send({ flags: "SYN", seq: 0, options: { mss: 1460, ts: { val: 1, ecr: 0 } } });
    p.recv();
    p.advance(100);
    p.send({ flags: "ACK", seq: 1, ack: 1, options: { ts: { val: 101, ecr: 0 } } });
    const r = l.accept();
    if (r === WOULD_BLOCK) throw new Error("not accepted");
    write(p, r[0], 100);
    p.advance(2100);
    expect(p.take().map((o) => [o.at, o.seg])).toEqual([
      [100, seg("PSH|ACK", 1, 1, W, { ts: { val: 100, ecr: 101 } }, 100)],
      [400, seg("PSH|ACK", 1, 1, W, { ts: { val: 400, ecr: 101 } }, 100)],
      [1000, seg("PSH|ACK", 1, 1, W, { ts: { val: 1000, ecr: 101 } }, 100)],
      [2200, seg("PSH|ACK", 1, 1, W, { ts: { val: 2200, ecr: 101 } }, 100)],
    ]);
    // the ACK stops the timer
    p.send({ flags: "ACK", seq: 1, ack: 101, options: { ts: { val: 2300, ecr: 2200 } } });
    p.advance(10_000);
    expect(p.recv()).toEqual([]);
  });

  it("resends only the first segment (cwnd = 1 MSS, RFC 5681 §3.1), then two for its ACK", () => {
    const { p, s } = open();
    write(p, s, 4 * 1460);
    expect(p.recv()).toHaveLength(4);
    p.advance(Object.values(p.stack.tcpStats())[0]!.rto);
    expect(sizes(p)).toEqual([[1, 1460]]);
    expect(p.exchange({ flags: "ACK", seq: 1, ack: 1461 }).map((x) => [x.seq, x.len])).toEqual([
      [1461, 1460],
      [2921, 1460],
    ]);
  });

  it("gives up after tcp.retries retransmissions: ETIMEDOUT, and no RST is sent", () => {
    const { p, s } = open({ mss: 1460 }, 65535, { tcp: { retries: 3 } });
    write(p, s, 100);
    p.advance(200_000);
    expect(p.recv()).toHaveLength(4);
    expect(s.takeError()?.code).toBe("ETIMEDOUT");
    expect(p.state()).toBe("CLOSED");
  });
});

describe("fast retransmit", () => {
  it("the third duplicate ACK resends the first unacknowledged segment at once (RFC 5681 §3.2)", () => {
    const { p, s } = open();
    write(p, s, 5 * 1460);
    expect(p.recv()).toHaveLength(5);
    expect(p.exchange({ flags: "ACK", seq: 1, ack: 1461 })).toEqual([]);
    expect(p.exchange({ flags: "ACK", seq: 1, ack: 1461 })).toEqual([]);
    expect(p.exchange({ flags: "ACK", seq: 1, ack: 1461 })).toEqual([]);
    expect(p.exchange({ flags: "ACK", seq: 1, ack: 1461 })).toEqual([seg("ACK", 1461, 1, W, {}, 1460)]);
  });

  it("with SACK: three duplicate ACKs SACKing later segments resend the hole", () => {
    const { p, s } = open({ mss: 1460, sackPermitted: true });
    write(p, s, 5 * 1460);
    expect(p.recv()).toHaveLength(5);
    expect(p.exchange({ flags: "ACK", seq: 1, ack: 1461, options: { sack: [[2921, 4381]] } })).toEqual([]);
    expect(p.exchange({ flags: "ACK", seq: 1, ack: 1461, options: { sack: [[2921, 5841]] } })).toEqual([]);
    const out = p.exchange({ flags: "ACK", seq: 1, ack: 1461, options: { sack: [[2921, 7301]] } });
    expect(out[0]).toEqual(seg("ACK", 1461, 1, W, {}, 1460));
  });

  it("with SACK: one duplicate ACK SACKing three segments above a hole resends the hole (RFC 6675 IsLost)", () => {
    const { p, s } = open({ mss: 1460, sackPermitted: true });
    write(p, s, 5 * 1460);
    expect(p.recv()).toHaveLength(5);
    const out = p.exchange({ flags: "ACK", seq: 1, ack: 1, options: { sack: [[1461, 5841]] } });
    expect(out[0]).toEqual(seg("ACK", 1, 1, W, {}, 1460));
  });

  it("duplicate ACKs that carry data or change the window do not count", () => {
    const { p, s } = open();
    write(p, s, 5 * 1460);
    p.recv();
    p.send({ flags: "ACK", seq: 1, ack: 1461 });
    p.send({ flags: "ACK", seq: 1, ack: 1461, window: 60000 });
    p.send({ flags: "PSH|ACK", seq: 1, ack: 1461, window: 60000, data: 10 });
    p.recv();
    p.send({ flags: "ACK", seq: 11, ack: 1461, window: 60000 });
    expect(p.recv()).toEqual([]);
  });
});

describe("zero-window probes (RFC 9293 §3.8.6.1)", () => {
  it("after a zero window, probes with seq = SND.UNA − 1 and no data at RTO, then 2, 4 × RTO later; an opening window lets data go", () => {
    const { p, s } = open({ mss: 1460 }, 1460);
    write(p, s, 3 * 1460);
    expect(sizes(p)).toEqual([[1, 1460]]);
    p.advance(100);
    expect(p.exchange({ flags: "ACK", seq: 1, ack: 1461, window: 0 })).toEqual([]);
    const t0 = p.now();
    const rto = Object.values(p.stack.tcpStats())[0]!.rto;
    p.advance(7 * rto);
    expect(p.take().map((o) => [o.at - t0, o.seg])).toEqual([
      [rto, seg("ACK", 1460, 1, W)],
      [3 * rto, seg("ACK", 1460, 1, W)],
      [7 * rto, seg("ACK", 1460, 1, W)],
    ]);
    // the answer to a probe: still closed (nothing), then open (the data goes)
    expect(p.exchange({ flags: "ACK", seq: 1, ack: 1461, window: 0 })).toEqual([]);
    p.send({ flags: "ACK", seq: 1, ack: 1461, window: 2920 });
    expect(sizes(p)).toEqual([
      [1461, 1460],
      [2921, 1460],
    ]);
  });
});
