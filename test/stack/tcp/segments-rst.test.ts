/**
 * Segment traces of resets and of the blind-attack mitigations of RFC 5961:
 * a RST is taken only at exactly RCV.NXT, otherwise (in the window) it draws
 * a challenge ACK (§3.2); a SYN in a synchronized state draws one too (§4);
 * an ACK outside [SND.UNA − MAX.SND.WND, SND.NXT] is answered and its
 * segment dropped (§5.2); challenge ACKs are rate-limited (§7). Segments
 * for no connection get the RST of RFC 9293 §3.10.7.1; a RST is never
 * answered.
 */
import { describe, expect, it } from "vitest";
import { WOULD_BLOCK } from "../../../src/error.js";
import type { VirtualTcpStream } from "../../../src/stack/tcp/socket.js";
import { SegmentPeer, seg } from "./segments.js";

const W = 65535;

function open(family: 4 | 6 = 4): { p: SegmentPeer; s: VirtualTcpStream } {
  const p = new SegmentPeer({ family });
  const { stream } = p.passiveOpen({ mss: 1460 });
  return { p, s: stream };
}

describe("RST in a synchronized state (RFC 5961 §3.2)", () => {
  for (const flags of ["RST", "RST|ACK"]) {
    it(`${flags} with seq = RCV.NXT resets: ECONNRESET, CLOSED, nothing sent`, () => {
      const { p, s } = open();
      expect(p.exchange({ flags, seq: 1, ack: 1 })).toEqual([]);
      expect(p.state()).toBe("CLOSED");
      expect(s.takeError()?.code).toBe("ECONNRESET");
      p.advance(5000);
      expect(p.recv()).toEqual([]);
    });
  }

  it("the reset is reported by read() too, once", () => {
    const { p, s } = open();
    p.send({ flags: "RST", seq: 1 });
    expect(() => s.read(new Uint8Array(10))).toThrow(expect.objectContaining({ code: "ECONNRESET" }));
    expect(s.takeError()).toBe(null);
  });

  it("a RST in CLOSE-WAIT reports EPIPE (Linux tcp_reset)", () => {
    const { p, s } = open();
    p.send({ flags: "FIN|ACK", seq: 1, ack: 1 });
    expect(p.state()).toBe("CLOSE-WAIT");
    p.send({ flags: "RST", seq: 2 });
    expect(p.state()).toBe("CLOSED");
    expect(s.takeError()?.code).toBe("EPIPE");
  });

  it("a RST in the window but not at RCV.NXT draws a challenge ACK and changes nothing", () => {
    const { p, s } = open();
    expect(p.exchange({ flags: "RST", seq: 1000 })).toEqual([seg("ACK", 1, 1, W)]);
    expect(p.state()).toBe("ESTABLISHED");
    expect(s.takeError()).toBe(null);
    // the peer's answer to the challenge: a RST at exactly RCV.NXT
    expect(p.exchange({ flags: "RST", seq: 1 })).toEqual([]);
    expect(s.takeError()?.code).toBe("ECONNRESET");
  });

  it("challenge ACKs are rate-limited: at most one per 500 ms (RFC 5961 §7, Linux tcp_invalid_ratelimit)", () => {
    const { p } = open();
    expect(p.exchange({ flags: "RST", seq: 1000 })).toHaveLength(1);
    p.advance(499);
    expect(p.exchange({ flags: "RST", seq: 2000 })).toEqual([]);
    expect(p.exchange({ flags: "SYN", seq: 3000 })).toEqual([]);
    p.advance(1);
    expect(p.exchange({ flags: "RST", seq: 2000 })).toEqual([seg("ACK", 1, 1, W)]);
  });

  it("a RST outside the window is dropped silently", () => {
    const { p, s } = open();
    expect(p.exchange({ flags: "RST", seq: 1 + 300_000 })).toEqual([]);
    expect(p.exchange({ flags: "RST", seq: 0 })).toEqual([]);
    expect(p.exchange({ flags: "RST|ACK", seq: -100_000, ack: 1 })).toEqual([]);
    expect(p.state()).toBe("ESTABLISHED");
    expect(s.takeError()).toBe(null);
  });

  it("a RST beyond the advertised window (though within the buffer) is dropped silently", () => {
    const { p } = open();
    expect(p.exchange({ flags: "RST", seq: 1 + 70_000 })).toEqual([]);
  });

  it("a RST for data in flight resets too, and the data is gone", () => {
    const { p, s } = open();
    s.write(new Uint8Array(100));
    p.poll();
    p.recv();
    expect(p.exchange({ flags: "RST", seq: 1 })).toEqual([]);
    expect(() => s.write(new Uint8Array(1))).toThrow(expect.objectContaining({ code: "ECONNRESET" }));
    p.advance(10_000);
    expect(p.recv()).toEqual([]);
  });
});

describe("SYN in a synchronized state (RFC 5961 §4)", () => {
  for (const seq of [1, 5000, 0, -100_000]) {
    it(`a SYN (seq ${seq}) in ESTABLISHED draws a challenge ACK; the connection stays`, () => {
      const { p, s } = open();
      expect(p.exchange({ flags: "SYN", seq, options: { mss: 1460 } })).toEqual([seg("ACK", 1, 1, W)]);
      expect(p.state()).toBe("ESTABLISHED");
      expect(s.takeError()).toBe(null);
    });
  }

  it("a SYN|ACK in ESTABLISHED draws a challenge ACK too", () => {
    const { p } = open();
    expect(p.exchange({ flags: "SYN|ACK", seq: 0, ack: 1 })).toEqual([seg("ACK", 1, 1, W)]);
    expect(p.state()).toBe("ESTABLISHED");
  });
});

describe("the ACK field (RFC 5961 §5.2)", () => {
  it("an ACK of data never sent is answered with an ACK; its data is dropped", () => {
    const { p, s } = open();
    expect(p.exchange({ flags: "ACK", seq: 1, ack: 1000 })).toEqual([seg("ACK", 1, 1, W)]);
    p.advance(1000);
    expect(p.exchange({ flags: "PSH|ACK", seq: 1, ack: 1000, data: 10 })).toEqual([seg("ACK", 1, 1, W)]);
    expect(s.read(new Uint8Array(10))).toBe(WOULD_BLOCK);
    expect(p.state()).toBe("ESTABLISHED");
  });

  it("data whose ACK is older than SND.UNA − MAX.SND.WND is dropped with a challenge ACK", () => {
    const { p, s } = open();
    expect(p.exchange({ flags: "PSH|ACK", seq: 1, ack: 1 - 100_000, data: 10 })).toEqual([seg("ACK", 1, 1, W)]);
    expect(s.read(new Uint8Array(10))).toBe(WOULD_BLOCK);
  });

  it("an old ACK within MAX.SND.WND is fine: its data is delivered", () => {
    const { p, s } = open();
    s.write(new Uint8Array(1000));
    p.poll();
    p.recv();
    p.send({ flags: "ACK", seq: 1, ack: 1001 });
    expect(p.exchange({ flags: "PSH|ACK", seq: 1, ack: 1, data: 10 })).toEqual([seg("ACK", 1001, 11, W)]);
    expect(s.read(new Uint8Array(10))).toBe(10);
  });

  it("a segment without ACK in ESTABLISHED is dropped silently (RFC 9293 §3.10.7.4 fifth)", () => {
    const { p, s } = open();
    expect(p.exchange({ flags: "PSH", seq: 1, data: 10 })).toEqual([]);
    expect(s.read(new Uint8Array(10))).toBe(WOULD_BLOCK);
  });
});

describe("segments for no connection (RFC 9293 §3.10.7.1)", () => {
  for (const family of [4, 6] as const) {
    it(`a SYN to a closed port → RST|ACK, seq 0, ack = SEG.SEQ + 1 (v${family})`, () => {
      const p = new SegmentPeer({ family });
      const out = (p.send({ flags: "SYN", seq: 0, dstPort: 81, options: { mss: 1460 } }), p.take());
      expect(out.map((o) => [o.srcPort, o.dstPort, o.seg])).toEqual([[81, 40000, seg("RST|ACK", 0, 1, 0)]]);
    });
  }

  it("a segment with ACK → RST with seq = SEG.ACK, no ACK", () => {
    const p = new SegmentPeer();
    expect(p.exchange({ flags: "PSH|ACK", seq: 5, ack: 0x12345678, data: 10, dstPort: 81 })).toEqual([seg("RST", 0x12345678, 0, 0)]);
  });

  it("without ACK → RST|ACK with ack = SEG.SEQ + SEG.LEN (data, SYN and FIN count)", () => {
    const p = new SegmentPeer();
    expect(p.exchange({ flags: "FIN", seq: 5, data: 10, dstPort: 81 })).toEqual([seg("RST|ACK", 0, 16, 0)]);
    expect(p.exchange({ flags: "", seq: 5, dstPort: 81 })).toEqual([seg("RST|ACK", 0, 5, 0)]);
  });

  it("a RST is never answered", () => {
    const p = new SegmentPeer();
    expect(p.exchange({ flags: "RST", seq: 5, dstPort: 81 })).toEqual([]);
    expect(p.exchange({ flags: "RST|ACK", seq: 5, ack: 9, dstPort: 81 })).toEqual([]);
    p.listen();
    expect(p.exchange({ flags: "RST", seq: 5 })).toEqual([]);
    expect(p.exchange({ flags: "RST|ACK", seq: 5, ack: 9 })).toEqual([]);
  });

  it("an ACK to a listener that has no such half-open connection → RST with seq = SEG.ACK", () => {
    const p = new SegmentPeer();
    p.listen();
    expect(p.exchange({ flags: "ACK", seq: 1, ack: 777 })).toEqual([seg("RST", 777, 0, 0)]);
    expect(p.exchange({ flags: "SYN|ACK", seq: 1, ack: 778 })).toEqual([seg("RST", 778, 0, 0)]);
  });

  it("a listener drops a segment with neither SYN nor ACK silently", () => {
    const p = new SegmentPeer();
    p.listen();
    expect(p.exchange({ flags: "FIN", seq: 1 })).toEqual([]);
    expect(p.exchange({ flags: "PSH", seq: 1, data: 5 })).toEqual([]);
  });

  it("after the connection is gone, its segments get RSTs", () => {
    const { p, s } = open();
    p.send({ flags: "RST", seq: 1 });
    s.takeError();
    expect(p.exchange({ flags: "PSH|ACK", seq: 1, ack: 1, data: 5 })).toEqual([seg("RST", 1, 0, 0)]);
  });
});
