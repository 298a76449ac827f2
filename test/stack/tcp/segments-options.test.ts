/**
 * Segment traces of the timestamp option (RFC 7323 §3–5): on every non-RST
 * segment once negotiated, which TSval a TSecr echoes (§4.3), PAWS (§5), and
 * the MSS the peer announces.
 */
import { describe, expect, it } from "vitest";
import { WOULD_BLOCK } from "../../../src/error.js";
import type { VirtualTcpStream } from "../../../src/stack/tcp/socket.js";
import { SegmentPeer, seg } from "./segments.js";

const W = 65535;

/** Established with timestamps; the peer's SYN had TSval 1 and its handshake ACK TSval 2. */
function open(): { p: SegmentPeer; s: VirtualTcpStream } {
  const p = new SegmentPeer();
  const l = p.listen();
  p.send({ flags: "SYN", seq: 0, options: { mss: 1460, ts: { val: 1, ecr: 0 } } });
  p.recv();
  p.send({ flags: "ACK", seq: 1, ack: 1, options: { ts: { val: 2, ecr: 0 } } });
  const r = l.accept();
  if (r === WOULD_BLOCK) throw new Error("not accepted");
  return { p, s: r[0] };
}

const ts = (val: number, ecr: number): { ts: { val: number; ecr: number } } => ({ ts: { val, ecr } });

/** Data from the peer with timestamps TSval `val`. */
const data = (seq: number, len: number, val: number) => ({ flags: "PSH|ACK", seq, ack: 1, data: len, options: ts(val, 0) });

function useQuickAcks(p: SegmentPeer): number {
  for (let i = 0; i < 16; i++) p.send(data(1 + 10 * i, 10, 10));
  expect(p.recv()).toHaveLength(16);
  return 161;
}

describe("timestamps on every segment (RFC 7323 §3.2)", () => {
  it("ACKs, data and FIN carry TSval (our clock) and TSecr; a RST carries none", () => {
    const { p, s } = open();
    p.advance(10);
    expect(p.exchange(data(1, 10, 20))).toEqual([seg("ACK", 1, 11, W, ts(10, 20))]);
    p.advance(10);
    s.write(new Uint8Array(5));
    p.poll();
    expect(p.recv()).toEqual([seg("PSH|ACK", 1, 11, W, ts(20, 20), 5)]);
    p.advance(10);
    s.shutdown("write");
    p.poll();
    expect(p.recv()).toEqual([seg("FIN|ACK", 6, 11, W, ts(30, 20))]);
    p.send(data(11, 10, 40));
    p.recv();
    s.close();
    p.poll();
    expect(p.recv()).toEqual([seg("RST|ACK", 7, 21, expect.any(Number) as number)]);
  });
});

describe("which TSval the TSecr echoes (RFC 7323 §4.3)", () => {
  it("in order: the TSval of the segment ACKed", () => {
    const { p } = open();
    expect(p.exchange(data(1, 10, 100))).toEqual([seg("ACK", 1, 11, W, ts(0, 100))]);
    expect(p.exchange(data(11, 10, 101))).toEqual([seg("ACK", 1, 21, W, ts(0, 101))]);
  });

  it("a delayed ACK for two segments echoes the earlier TSval (case A)", () => {
    const { p } = open();
    const seq = useQuickAcks(p);
    // full-sized: the MSS (1460) less 12 option bytes
    p.send({ ...data(seq, 1448, 200), flags: "ACK" });
    expect(p.exchange({ ...data(seq + 1448, 1448, 201), flags: "ACK" })).toEqual([seg("ACK", 1, seq + 2896, W, ts(0, 200))]);
  });

  it("out of order: the TSval of the last segment that advanced RCV.NXT, then of the one that filled the hole (case C)", () => {
    const { p } = open();
    expect(p.exchange(data(1, 10, 300))).toEqual([seg("ACK", 1, 11, W, ts(0, 300))]);
    expect(p.exchange(data(21, 10, 302))).toEqual([seg("ACK", 1, 11, W, ts(0, 300))]);
    expect(p.exchange(data(11, 10, 301))).toEqual([seg("ACK", 1, 31, W, ts(0, 301))]);
  });

  it("an ACK-only segment from the peer updates TS.Recent too", () => {
    const { p, s } = open();
    p.send({ flags: "ACK", seq: 1, ack: 1, options: ts(400, 0) });
    s.write(new Uint8Array(5));
    p.poll();
    expect(p.recv()).toEqual([seg("PSH|ACK", 1, 1, W, ts(0, 400), 5)]);
  });
});

describe("PAWS (RFC 7323 §5)", () => {
  it("a segment with a TSval older than TS.Recent is dropped and ACKed; its data is not taken", () => {
    const { p, s } = open();
    expect(p.exchange(data(1, 10, 500))).toEqual([seg("ACK", 1, 11, W, ts(0, 500))]);
    expect(p.exchange(data(11, 10, 499))).toEqual([seg("ACK", 1, 11, W, ts(0, 500))]);
    // the same data with a current TSval is taken
    p.advance(1000);
    expect(p.exchange(data(11, 10, 500))).toEqual([seg("ACK", 1, 21, W, ts(1000, 500))]);
    expect(s.read(new Uint8Array(100))).toBe(20);
  });

  it("TSvals compare modulo 2^32: stepping by 2^30 wraps around and stays newer", () => {
    const { p } = open();
    for (const [i, val] of [0x4000_0000, 0x8000_0000, 0xc000_0000, 5].entries()) {
      expect(p.exchange(data(1 + 10 * i, 10, val))).toEqual([seg("ACK", 1, 11 + 10 * i, W, ts(0, val))]);
    }
    expect(p.exchange(data(41, 10, 0xffff_fff0))).toEqual([seg("ACK", 1, 41, W, ts(0, 5))]);
  });

  it("PAWS does not apply to a RST: an exact RST with an old TSval still resets", () => {
    const { p, s } = open();
    p.send(data(1, 10, 600));
    p.recv();
    expect(p.exchange({ flags: "RST", seq: 11, options: ts(1, 0) })).toEqual([]);
    expect(s.takeError()?.code).toBe("ECONNRESET");
  });

  it("pure ACKs failing PAWS are answered at most once per 500 ms", () => {
    const { p } = open();
    p.send(data(1, 10, 700));
    p.recv();
    expect(p.exchange({ flags: "ACK", seq: 11, ack: 1, options: ts(600, 0) })).toEqual([seg("ACK", 1, 11, W, ts(0, 700))]);
    p.advance(100);
    expect(p.exchange({ flags: "ACK", seq: 11, ack: 1, options: ts(600, 0) })).toEqual([]);
  });

  it("data segments failing PAWS are each answered with a duplicate ACK", () => {
    const { p } = open();
    p.send(data(1, 10, 800));
    p.recv();
    expect(p.exchange(data(11, 10, 700))).toEqual([seg("ACK", 1, 11, W, ts(0, 800))]);
    p.advance(100);
    expect(p.exchange(data(11, 10, 700))).toEqual([seg("ACK", 1, 11, W, ts(100, 800))]);
  });
});
