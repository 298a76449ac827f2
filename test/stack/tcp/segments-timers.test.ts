/**
 * Segment traces of the timers: the delayed ACK and what cancels it, the
 * keepalive (RFC 1122 §4.2.3.6, Linux tcp_keepalive_timer), the connect
 * timeout, TIME-WAIT's 2·MSL and the end of an orphaned FIN-WAIT-2 (Linux
 * tcp_fin_timeout).
 */
import { describe, expect, it } from "vitest";
import type { VirtualTcpStream } from "../../../src/stack/tcp/socket.js";
import { type PeerOptions, SegmentPeer, seg } from "./segments.js";

const W = 65535;

function open(peer: PeerOptions = {}): { p: SegmentPeer; s: VirtualTcpStream } {
  const p = new SegmentPeer(peer);
  const { stream } = p.passiveOpen({ mss: 1460 });
  return { p, s: stream };
}

function useQuickAcks(p: SegmentPeer): number {
  for (let i = 0; i < 16; i++) p.send({ flags: "PSH|ACK", seq: 1 + 10 * i, ack: 1, data: 10 });
  expect(p.recv()).toHaveLength(16);
  return 161;
}

describe("delayed ACK", () => {
  it("data sent meanwhile carries the ACK; the timer then sends nothing", () => {
    const { p, s } = open();
    const seq = useQuickAcks(p);
    p.send({ flags: "PSH|ACK", seq, ack: 1, data: 10 });
    p.advance(20);
    s.write(new Uint8Array(5));
    p.poll();
    expect(p.recv()).toEqual([seg("PSH|ACK", 1, seq + 10, W, {}, 5)]);
    p.advance(100);
    expect(p.recv()).toEqual([]);
  });

  it("the timer runs from the first unACKed segment, not the last", () => {
    const { p } = open();
    const seq = useQuickAcks(p);
    p.send({ flags: "PSH|ACK", seq, ack: 1, data: 10 });
    p.advance(30);
    p.send({ flags: "PSH|ACK", seq: seq + 10, ack: 1, data: 10 });
    // two segments: the second is ACKed at once
    expect(p.take().map((o) => [o.at, o.seg])).toEqual([[30, seg("ACK", 1, seq + 20, W)]]);
  });
});

describe("keepalive", () => {
  it("after idleMs without a segment: probes with seq = SND.UNA − 1 every intervalMs; an answer starts the idle time again", () => {
    const { p, s } = open();
    s.setKeepalive({ idleMs: 10_000, intervalMs: 1000, count: 3 });
    p.advance(11_500);
    expect(p.take().map((o) => [o.at, o.seg])).toEqual([
      [10_000, seg("ACK", 0, 1, W)],
      [11_000, seg("ACK", 0, 1, W)],
    ]);
    p.send({ flags: "ACK", seq: 1, ack: 1 });
    p.advance(10_000);
    expect(p.take().map((o) => o.at)).toEqual([21_500]);
    expect(p.state()).toBe("ESTABLISHED");
  });

  it("count unanswered probes: the connection fails with ETIMEDOUT one interval after the last", () => {
    const { p, s } = open();
    s.setKeepalive({ idleMs: 10_000, intervalMs: 1000, count: 3 });
    p.advance(12_999);
    expect(p.take().map((o) => o.at)).toEqual([10_000, 11_000, 12_000]);
    expect(s.takeError()).toBe(null);
    p.advance(1);
    expect(s.takeError()?.code).toBe("ETIMEDOUT");
    expect(p.state()).toBe("CLOSED");
  });

  it("giving up on keepalive sends a RST|ACK", () => {
    const { p, s } = open();
    s.setKeepalive({ idleMs: 10_000, intervalMs: 1000, count: 3 });
    p.advance(13_000);
    expect(p.take().map((o) => [o.at, o.seg.flags, o.seg.seq])).toEqual([
      [10_000, "ACK", 0],
      [11_000, "ACK", 0],
      [12_000, "ACK", 0],
      [13_000, "RST|ACK", 1],
    ]);
  });

  it("no probe while data is in flight: the retransmission timer does the work", () => {
    const { p, s } = open({ tcp: { retries: 30 } });
    s.setKeepalive({ idleMs: 1000, intervalMs: 1000, count: 3 });
    s.write(new Uint8Array(10));
    p.advance(20_000);
    for (const x of p.recv()) expect([x.seq, x.len]).toEqual([1, 10]);
    expect(p.state()).toBe("ESTABLISHED");
  });
});

describe("connect timeout and retry limits", () => {
  it("tcp.connectTimeoutMs: ETIMEDOUT at that time even between SYN retransmissions", () => {
    const p = new SegmentPeer({ tcp: { connectTimeoutMs: 2500 } });
    const s = p.connect();
    p.advance(10_000);
    expect(p.take().map((o) => [o.at, o.seg.flags])).toEqual([
      [0, "SYN"],
      [1000, "SYN"],
    ]);
    expect(s.takeError()?.code).toBe("ETIMEDOUT");
    expect(p.state()).toBe("CLOSED");
  });

  it("tcp.synRetries: 2 retransmissions (1 s, 3 s), ETIMEDOUT at 7 s", () => {
    const p = new SegmentPeer({ tcp: { synRetries: 2 } });
    const s = p.connect();
    p.advance(6999);
    expect(p.take().map((o) => o.at)).toEqual([0, 1000, 3000]);
    expect(s.takeError()).toBe(null);
    p.advance(1);
    expect(s.takeError()?.code).toBe("ETIMEDOUT");
  });
});

describe("TIME-WAIT and FIN-WAIT-2", () => {
  it("TIME-WAIT lasts 60 s by default (Linux TCP_TIMEWAIT_LEN)", () => {
    const { p, s } = open();
    s.shutdown("write");
    p.poll();
    p.send({ flags: "FIN|ACK", seq: 1, ack: 2 });
    expect(p.recv()).toEqual([seg("FIN|ACK", 1, 1, W), seg("ACK", 2, 2, W)]);
    p.advance(59_999);
    expect(p.state()).toBe("TIME-WAIT");
    p.advance(1);
    expect(p.state()).toBe("CLOSED");
  });

  it("a shutdown(write) connection stays in FIN-WAIT-2 as long as the peer keeps it open", () => {
    const { p, s } = open();
    s.shutdown("write");
    p.poll();
    p.send({ flags: "ACK", seq: 1, ack: 2 });
    p.advance(600_000);
    expect(p.state()).toBe("FIN-WAIT-2");
  });

  it("a closed socket's FIN-WAIT-2 ends after 60 s (Linux tcp_fin_timeout)", () => {
    const { p, s } = open();
    s.close();
    p.poll();
    p.send({ flags: "ACK", seq: 1, ack: 2 });
    expect(p.state()).toBe("FIN-WAIT-2");
    p.advance(60_000);
    expect(p.state()).toBe("CLOSED");
  });
});
