/**
 * Segment traces of receiving data: when ACKs go out (quick ACKs, delayed
 * ACKs, every second full segment: RFC 9293 §3.8.6.3, RFC 5681 §4.2), SACK
 * blocks for out-of-order data (RFC 2018), the receive window (trimming,
 * zero window, window updates, window scaling: RFC 9293 §3.8.6, RFC 7323 §2).
 */
import { describe, expect, it } from "vitest";
import { WOULD_BLOCK } from "../../../src/error.js";
import type { VirtualTcpStream } from "../../../src/stack/tcp/socket.js";
import { type Opts, type PeerOptions, SegmentPeer, peerByte, seg } from "./segments.js";

/** The window field for a 256 KiB buffer without window scaling. */
const W = 65535;

function open(options: Opts = { mss: 1460 }, peer: PeerOptions = {}): { p: SegmentPeer; s: VirtualTcpStream } {
  const p = new SegmentPeer(peer);
  const { stream } = p.passiveOpen(options);
  return { p, s: stream };
}

/** Sends 16 ten-byte segments (each ACKed at once while the receiver quick-acks); returns the next seq. */
function useQuickAcks(p: SegmentPeer): number {
  for (let i = 0; i < 16; i++) p.send({ flags: "PSH|ACK", seq: 1 + 10 * i, ack: 1, data: 10 });
  expect(p.recv()).toHaveLength(16);
  return 161;
}

/** Reads everything readable from `s`. */
function readAll(s: VirtualTcpStream): Uint8Array {
  const buf = new Uint8Array(1 << 20);
  let n = 0;
  for (let i = 0; i < 1000; i++) {
    const r = s.read(buf.subarray(n));
    if (r === WOULD_BLOCK || r === 0) break;
    n += r;
  }
  return buf.slice(0, n);
}

/** The peer's pattern for stream offsets [from, from + n). */
function expected(from: number, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => peerByte(from + i));
}

describe("ACKing in-order data", () => {
  it("at the start every segment is ACKed at once (quick ACKs), and the bytes are readable in order", () => {
    const { p, s } = open();
    for (let i = 0; i < 16; i++) {
      expect(p.exchange({ flags: "PSH|ACK", seq: 1 + 10 * i, ack: 1, data: 10 })).toEqual([seg("ACK", 1, 11 + 10 * i, W)]);
    }
    expect(readAll(s)).toEqual(expected(0, 160));
  });

  it("then a lone segment is ACKed by the delayed-ACK timer, 40 ms later", () => {
    const { p } = open();
    const seq = useQuickAcks(p);
    p.advance(1000);
    p.send({ flags: "PSH|ACK", seq, ack: 1, data: 10 });
    p.advance(39);
    expect(p.recv()).toEqual([]);
    p.advance(1);
    expect(p.take().map((o) => [o.at, o.seg])).toEqual([[1040, seg("ACK", 1, seq + 10, W)]]);
  });

  it("the delayed-ACK timeout follows tcp.delayedAckMs", () => {
    const { p } = open({ mss: 1460 }, { tcp: { delayedAckMs: 100 } });
    const seq = useQuickAcks(p);
    p.send({ flags: "PSH|ACK", seq, ack: 1, data: 10 });
    p.advance(99);
    expect(p.recv()).toEqual([]);
    p.advance(1);
    expect(p.recv()).toEqual([seg("ACK", 1, seq + 10, W)]);
  });

  it("every second full-sized segment is ACKed at once (RFC 9293 §3.8.6.3, RFC 5681 §4.2)", () => {
    const { p } = open();
    const seq = useQuickAcks(p);
    expect(p.exchange({ flags: "ACK", seq, ack: 1, data: 1460 })).toEqual([]);
    expect(p.exchange({ flags: "ACK", seq: seq + 1460, ack: 1, data: 1460 })).toEqual([seg("ACK", 1, seq + 2920, W)]);
    expect(p.exchange({ flags: "ACK", seq: seq + 2920, ack: 1, data: 1460 })).toEqual([]);
    expect(p.exchange({ flags: "ACK", seq: seq + 4380, ack: 1, data: 1460 })).toEqual([seg("ACK", 1, seq + 5840, W)]);
  });

  it("a lone segment larger than the MSS (a TUN's offload merged it) is ACKed at once, as Linux counts bytes", () => {
    // the SYN announced MSS 536; the link (MTU 1500) carries more, as a merged segment would be
    const { p } = open({ mss: 536 });
    const seq = useQuickAcks(p);
    expect(p.exchange({ flags: "ACK", seq, ack: 1, data: 500 })).toEqual([]);
    p.advance(40);
    expect(p.recv()).toEqual([seg("ACK", 1, seq + 500, W)]);
    expect(p.exchange({ flags: "ACK", seq: seq + 500, ack: 1, data: 1200 })).toEqual([seg("ACK", 1, seq + 1700, W)]);
  });

  it("a duplicate of data already received draws an immediate ACK, even with an ACK delayed", () => {
    const { p, s } = open();
    const seq = useQuickAcks(p);
    p.send({ flags: "PSH|ACK", seq, ack: 1, data: 10 });
    expect(p.recv()).toEqual([]);
    expect(p.exchange({ flags: "PSH|ACK", seq: 1, ack: 1, data: 10 })).toEqual([seg("ACK", 1, seq + 10, W)]);
    expect(readAll(s)).toEqual(expected(0, seq + 9));
  });

  it("a segment overlapping received data: only the new bytes are taken", () => {
    const { p, s } = open();
    expect(p.exchange({ flags: "PSH|ACK", seq: 1, ack: 1, data: 100 })).toEqual([seg("ACK", 1, 101, W)]);
    expect(p.exchange({ flags: "PSH|ACK", seq: 51, ack: 1, data: 100 })).toEqual([seg("ACK", 1, 151, W)]);
    expect(readAll(s)).toEqual(expected(0, 150));
  });
});

describe("out-of-order data and SACK (RFC 2018)", () => {
  for (const quick of [true, false]) {
    it(`a hole draws an immediate duplicate ACK with SACK blocks, most recent first; filling it ACKs everything at once${quick ? "" : " (after the quick ACKs)"}`, () => {
      const { p, s } = open({ mss: 1460, sackPermitted: true });
      const b = quick ? 1 : useQuickAcks(p);
      if (quick) expect(p.exchange({ flags: "PSH|ACK", seq: 1, ack: 1, data: 100 })).toEqual([seg("ACK", 1, 101, W)]);
      else p.send({ flags: "PSH|ACK", seq: b, ack: 1, data: 100 });
      const ackAt = b + 100;
      p.advance(100);
      p.recv();
      expect(p.exchange({ flags: "PSH|ACK", seq: ackAt + 100, ack: 1, data: 100 })).toEqual([seg("ACK", 1, ackAt, W, { sack: [[ackAt + 100, ackAt + 200]] })]);
      expect(p.exchange({ flags: "PSH|ACK", seq: ackAt + 300, ack: 1, data: 100 })).toEqual([
        seg("ACK", 1, ackAt, W, { sack: [[ackAt + 300, ackAt + 400], [ackAt + 100, ackAt + 200]] }),
      ]);
      expect(p.exchange({ flags: "PSH|ACK", seq: ackAt, ack: 1, data: 100 })).toEqual([seg("ACK", 1, ackAt + 200, W, { sack: [[ackAt + 300, ackAt + 400]] })]);
      expect(p.exchange({ flags: "PSH|ACK", seq: ackAt + 200, ack: 1, data: 100 })).toEqual([seg("ACK", 1, ackAt + 400, W)]);
      expect(readAll(s)).toEqual(expected(0, ackAt + 399));
    });
  }

  it("at most 4 SACK blocks without timestamps; a segment next to a block extends it", () => {
    const { p } = open({ mss: 1460, sackPermitted: true });
    for (let i = 1; i <= 5; i++) p.send({ flags: "ACK", seq: 1 + 200 * i, ack: 1, data: 100 });
    const out = p.recv();
    expect(out[4]).toEqual(seg("ACK", 1, 1, W, { sack: [[1001, 1101], [801, 901], [601, 701], [401, 501]] }));
    expect(p.exchange({ flags: "ACK", seq: 301, ack: 1, data: 100 })).toEqual([
      seg("ACK", 1, 1, W, { sack: [[201, 501], [1001, 1101], [801, 901], [601, 701]] }),
    ]);
  });

  it("at most 3 SACK blocks with timestamps (40 option bytes)", () => {
    const { p } = open({ mss: 1460, sackPermitted: true, ts: { val: 1, ecr: 0 } });
    for (let i = 1; i <= 4; i++) p.send({ flags: "ACK", seq: 1 + 200 * i, ack: 1, data: 100 });
    const out = p.recv();
    expect(out[3]!.options.sack).toEqual([[801, 901], [601, 701], [401, 501]]);
    expect(out[3]!.options.ts).toBeDefined();
  });

  it("sequence numbers wrap around 2^32: the peer's ISS is 2^32 − 150, the hole and the SACK block straddle 0", () => {
    const { p, s } = open({ mss: 1460, sackPermitted: true }, { iss: 0xffff_ff6a });
    expect(p.exchange({ flags: "PSH|ACK", seq: 1, ack: 1, data: 100 })).toEqual([seg("ACK", 1, 101, W)]);
    expect(p.exchange({ flags: "PSH|ACK", seq: 201, ack: 1, data: 100 })).toEqual([seg("ACK", 1, 101, W, { sack: [[201, 301]] })]);
    expect(p.exchange({ flags: "PSH|ACK", seq: 101, ack: 1, data: 100 })).toEqual([seg("ACK", 1, 301, W)]);
    expect(readAll(s)).toEqual(expected(0, 300));
  });

  it("without SACK-permitted a hole draws a plain duplicate ACK", () => {
    const { p } = open();
    p.send({ flags: "PSH|ACK", seq: 1, ack: 1, data: 100 });
    p.recv();
    expect(p.exchange({ flags: "PSH|ACK", seq: 201, ack: 1, data: 100 })).toEqual([seg("ACK", 1, 101, W)]);
    expect(p.exchange({ flags: "PSH|ACK", seq: 401, ack: 1, data: 100 })).toEqual([seg("ACK", 1, 101, W)]);
  });
});

describe("the receive window", () => {
  it("data past the window is trimmed and not ACKed; a zero window, then a window update when the app reads", () => {
    const { p, s } = open({ mss: 1460 }, { tcp: { recvBuffer: 4096 } });
    expect(p.exchange({ flags: "ACK", seq: 1, ack: 1, data: 1460 })).toEqual([seg("ACK", 1, 1461, 4096 - 1460)]);
    expect(p.exchange({ flags: "ACK", seq: 1461, ack: 1, data: 1460 })).toEqual([seg("ACK", 1, 2921, 4096 - 2920)]);
    // 284 of these bytes lie past the right edge (4097)
    expect(p.exchange({ flags: "ACK", seq: 2921, ack: 1, data: 1460 })).toEqual([seg("ACK", 1, 4097, 0)]);
    // nothing fits a zero window: ACK at once, RCV.NXT unchanged
    expect(p.exchange({ flags: "ACK", seq: 4097, ack: 1, data: 100 })).toEqual([seg("ACK", 1, 4097, 0)]);
    // a little read does not reopen the window (receiver SWS avoidance, RFC 9293 §3.8.6.2.2)
    const buf = new Uint8Array(100);
    expect(s.read(buf)).toBe(100);
    p.poll();
    expect(p.recv()).toEqual([]);
    const rest = readAll(s);
    expect(rest).toEqual(expected(100, 3996));
    p.poll();
    expect(p.recv()).toEqual([seg("ACK", 1, 4097, 4096)]);
    expect(p.exchange({ flags: "ACK", seq: 4097, ack: 1, data: 100 })).toEqual([seg("ACK", 1, 4197, 3996)]);
  });

  it("reading does not send an ACK that offers no more than the last one (unscaled, 65535 already offered)", () => {
    const { p, s } = open();
    expect(p.exchange({ flags: "PSH|ACK", seq: 1, ack: 1, data: 100 })).toEqual([seg("ACK", 1, 101, W)]);
    expect(readAll(s)).toHaveLength(100);
    p.poll();
    expect(p.recv()).toEqual([]);
  });

  it("a zero-window probe (seq = RCV.NXT − 1, no data) is answered with the current window", () => {
    const { p } = open({ mss: 1460 }, { tcp: { recvBuffer: 2048 } });
    p.send({ flags: "ACK", seq: 1, ack: 1, data: 1460 });
    expect(p.recv()).toEqual([seg("ACK", 1, 1461, 588)]);
    expect(p.exchange({ flags: "ACK", seq: 1461, ack: 1, data: 588 })).toEqual([seg("ACK", 1, 2049, 0)]);
    expect(p.exchange({ flags: "ACK", seq: 2048, ack: 1 })).toEqual([seg("ACK", 1, 2049, 0)]);
  });

  it("with window scaling (both SYNs offered it) the window field is the free buffer >> 7", () => {
    const { p } = open({ mss: 1460, wscale: 7 });
    for (let i = 0; i < 10; i++) {
      expect(p.exchange({ flags: "ACK", seq: 1 + 1280 * i, ack: 1, data: 1280 })).toEqual([seg("ACK", 1, 1281 + 1280 * i, 2048 - 10 * (i + 1))]);
    }
  });

  it("window scaling uses our shift even when the peer's is 0", () => {
    const { p } = open({ mss: 1460, wscale: 0 });
    expect(p.exchange({ flags: "ACK", seq: 1, ack: 1, data: 1280 })).toEqual([seg("ACK", 1, 1281, 2038)]);
  });

  it("a scaled window rounds down, but data up to the right edge offered before is still taken (RFC 7323 §2.4)", () => {
    const { p, s } = open({ mss: 1460, wscale: 7 }, { tcp: { recvBuffer: 4096 } });
    // 4096 − 100 = 3996 bytes free: 31 units of 128, the edge 101 + 3968 = 4069 short of the 4097 offered by the SYN-ACK
    expect(p.exchange({ flags: "ACK", seq: 1, ack: 1, data: 100 })).toEqual([seg("ACK", 1, 101, 31)]);
    p.send({ flags: "ACK", seq: 101, ack: 1, data: 1460 });
    p.send({ flags: "ACK", seq: 1561, ack: 1, data: 1460 });
    p.send({ flags: "ACK", seq: 3021, ack: 1, data: 1076 });
    expect(p.recv().at(-1)).toEqual(seg("ACK", 1, 4097, 0));
    expect(readAll(s)).toEqual(expected(0, 4096));
  });
});

describe("data with the handshake", () => {
  it("data on the ACK that completes the handshake is accepted and ACKed", () => {
    const p = new SegmentPeer();
    const l = p.listen();
    p.send({ flags: "SYN", seq: 0, options: { mss: 1460 } });
    p.recv();
    expect(p.exchange({ flags: "PSH|ACK", seq: 1, ack: 1, data: 50 })).toEqual([seg("ACK", 1, 51, W)]);
    const r = l.accept();
    if (r === WOULD_BLOCK) throw new Error("not accepted");
    expect(readAll(r[0])).toEqual(expected(0, 50));
  });
});
