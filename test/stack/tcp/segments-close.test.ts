/**
 * Segment traces of closing (RFC 9293 §3.6, Figures 12 and 13): active close
 * through FIN-WAIT-1/2 and TIME-WAIT, passive close through CLOSE-WAIT and
 * LAST-ACK, simultaneous close through CLOSING, half-close, and the aborts
 * Linux sends on close().
 */
import { describe, expect, it } from "vitest";
import { WOULD_BLOCK } from "../../../src/error.js";
import type { VirtualTcpStream } from "../../../src/stack/tcp/socket.js";
import { SegmentPeer, seg } from "./segments.js";

const W = 65535;
const TIME_WAIT = 1000;
/** The window field of a RST means nothing (Linux sends 0); not checked. */
const ANY: number = expect.any(Number);

function open(): { p: SegmentPeer; s: VirtualTcpStream } {
  const p = new SegmentPeer({ tcp: { timeWaitMs: TIME_WAIT } });
  const { stream } = p.passiveOpen({ mss: 1460 });
  return { p, s: stream };
}

function read(s: VirtualTcpStream, n = 65536): number | typeof WOULD_BLOCK {
  return s.read(new Uint8Array(n));
}

describe("active close", () => {
  it("FIN-WAIT-1 → (ACK) FIN-WAIT-2 → (FIN) TIME-WAIT, ACKing the FIN; CLOSED after 2·MSL", () => {
    const { p, s } = open();
    s.shutdown("write");
    p.poll();
    expect(p.recv()).toEqual([seg("FIN|ACK", 1, 1, W)]);
    expect(p.state()).toBe("FIN-WAIT-1");
    expect(p.exchange({ flags: "ACK", seq: 1, ack: 2 })).toEqual([]);
    expect(p.state()).toBe("FIN-WAIT-2");
    p.advance(100);
    expect(p.exchange({ flags: "FIN|ACK", seq: 1, ack: 2 })).toEqual([seg("ACK", 2, 2, W)]);
    expect(p.state()).toBe("TIME-WAIT");
    expect(read(s)).toBe(0);
    p.advance(TIME_WAIT - 1);
    expect(p.state()).toBe("TIME-WAIT");
    p.advance(1);
    expect(p.state()).toBe("CLOSED");
    expect(p.recv()).toEqual([]);
  });

  it("FIN-WAIT-1 → TIME-WAIT directly when the peer's FIN also ACKs ours", () => {
    const { p, s } = open();
    s.shutdown("write");
    p.poll();
    p.recv();
    expect(p.exchange({ flags: "FIN|ACK", seq: 1, ack: 2 })).toEqual([seg("ACK", 2, 2, W)]);
    expect(p.state()).toBe("TIME-WAIT");
  });

  it("queued data goes before the FIN; the FIN follows the last byte", () => {
    const { p, s } = open();
    s.write(new Uint8Array(100));
    s.shutdown("write");
    p.poll();
    const out = p.recv();
    expect(out.map((x) => [x.seq, x.len, x.flags.includes("FIN")])).toEqual([
      [1, 100, false],
      [101, 0, true],
    ]);
  });

  it("TIME-WAIT ACKs a retransmitted FIN again", () => {
    const { p, s } = open();
    s.shutdown("write");
    p.poll();
    p.recv();
    p.send({ flags: "ACK", seq: 1, ack: 2 });
    p.send({ flags: "FIN|ACK", seq: 1, ack: 2 });
    expect(p.recv()).toEqual([seg("ACK", 2, 2, W)]);
    p.advance(300);
    expect(p.exchange({ flags: "FIN|ACK", seq: 1, ack: 2 })).toEqual([seg("ACK", 2, 2, W)]);
    expect(p.state()).toBe("TIME-WAIT");
  });

  it("a retransmitted FIN restarts the TIME-WAIT timer", () => {
    const { p, s } = open();
    s.shutdown("write");
    p.poll();
    p.send({ flags: "ACK", seq: 1, ack: 2 });
    p.send({ flags: "FIN|ACK", seq: 1, ack: 2 });
    p.recv();
    p.advance(600);
    p.send({ flags: "FIN|ACK", seq: 1, ack: 2 });
    p.advance(TIME_WAIT - 1);
    expect(p.state()).toBe("TIME-WAIT");
    p.advance(1);
    expect(p.state()).toBe("CLOSED");
  });

  it("a RST in TIME-WAIT ends it at once (Linux: tcp_rfc1337 = 0)", () => {
    const { p, s } = open();
    s.shutdown("write");
    p.poll();
    p.send({ flags: "FIN|ACK", seq: 1, ack: 2 });
    p.recv();
    expect(p.exchange({ flags: "RST", seq: 2 })).toEqual([]);
    expect(p.state()).toBe("CLOSED");
  });

  it("an unacknowledged FIN is retransmitted at the RTO, with the same sequence number", () => {
    const { p, s } = open();
    s.shutdown("write");
    p.poll();
    const [fin] = p.take();
    p.advance(10_000);
    const again = p.take();
    expect(again.length).toBeGreaterThanOrEqual(2);
    for (const o of again) expect(o.seg).toEqual(seg("FIN|ACK", 1, 1, W));
    expect(again[1]!.at - again[0]!.at).toBe(2 * (again[0]!.at - fin!.at));
  });

  it("half-close: after our FIN the connection still receives, ACKs and delivers data", () => {
    const { p, s } = open();
    s.shutdown("write");
    p.poll();
    p.recv();
    p.send({ flags: "ACK", seq: 1, ack: 2 });
    expect(p.exchange({ flags: "PSH|ACK", seq: 1, ack: 2, data: 100 })).toEqual([seg("ACK", 2, 101, W)]);
    expect(p.exchange({ flags: "FIN|ACK", seq: 101, ack: 2 })).toEqual([seg("ACK", 2, 102, W)]);
    expect(p.state()).toBe("TIME-WAIT");
    expect(read(s)).toBe(100);
    expect(read(s)).toBe(0);
  });

  it("data for a closed socket in FIN-WAIT-2 draws a RST (Linux: nobody will read it)", () => {
    const { p, s } = open();
    s.close();
    p.poll();
    expect(p.recv()).toEqual([seg("FIN|ACK", 1, 1, W)]);
    p.send({ flags: "ACK", seq: 1, ack: 2 });
    expect(p.state()).toBe("FIN-WAIT-2");
    expect(p.exchange({ flags: "PSH|ACK", seq: 1, ack: 2, data: 10 })).toEqual([seg("RST|ACK", 2, 1, ANY)]);
    expect(p.state()).toBe("CLOSED");
  });

  it("close() with unread data aborts: RST|ACK with seq = SND.NXT, no FIN", () => {
    const { p, s } = open();
    p.send({ flags: "PSH|ACK", seq: 1, ack: 1, data: 10 });
    p.recv();
    s.close();
    p.poll();
    expect(p.recv()).toEqual([seg("RST|ACK", 1, 11, ANY)]);
    expect(p.state()).toBe("CLOSED");
  });
});

describe("passive close", () => {
  it("FIN → ACK, CLOSE-WAIT, end of stream; our FIN → LAST-ACK; its ACK → CLOSED without reply", () => {
    const { p, s } = open();
    expect(p.exchange({ flags: "FIN|ACK", seq: 1, ack: 1 })).toEqual([seg("ACK", 1, 2, W)]);
    expect(p.state()).toBe("CLOSE-WAIT");
    expect(read(s)).toBe(0);
    // the connection can still send
    expect(s.write(new Uint8Array(10))).toBe(10);
    p.poll();
    expect(p.recv()).toEqual([seg("PSH|ACK", 1, 2, W, {}, 10)]);
    p.send({ flags: "ACK", seq: 2, ack: 11 });
    s.shutdown("write");
    p.poll();
    expect(p.recv()).toEqual([seg("FIN|ACK", 11, 2, W)]);
    expect(p.state()).toBe("LAST-ACK");
    expect(p.exchange({ flags: "ACK", seq: 2, ack: 12 })).toEqual([]);
    expect(p.state()).toBe("CLOSED");
  });

  it("data with the FIN: both ACKed in one segment, the data readable before end of stream", () => {
    const { p, s } = open();
    expect(p.exchange({ flags: "FIN|PSH|ACK", seq: 1, ack: 1, data: 20 })).toEqual([seg("ACK", 1, 22, W)]);
    expect(read(s)).toBe(20);
    expect(read(s)).toBe(0);
  });

  it("a FIN beyond a hole is not taken before the hole fills; a retransmitted FIN then closes", () => {
    const { p, s } = open();
    expect(p.exchange({ flags: "FIN|PSH|ACK", seq: 11, ack: 1, data: 10 })).toEqual([seg("ACK", 1, 1, W)]);
    expect(p.state()).toBe("ESTABLISHED");
    expect(read(s)).toBe(WOULD_BLOCK);
    expect(p.exchange({ flags: "PSH|ACK", seq: 1, ack: 1, data: 10 })[0]!.ack).toBeGreaterThanOrEqual(21);
    expect(p.exchange({ flags: "FIN|PSH|ACK", seq: 11, ack: 1, data: 10 })).toEqual([seg("ACK", 1, 22, W)]);
    expect(p.state()).toBe("CLOSE-WAIT");
    expect(read(s)).toBe(20);
    expect(read(s)).toBe(0);
  });

  it("a FIN beyond a hole is kept with its segment: filling the hole ACKs the FIN too", () => {
    const { p } = open();
    expect(p.exchange({ flags: "FIN|PSH|ACK", seq: 11, ack: 1, data: 10 })).toEqual([seg("ACK", 1, 1, W)]);
    expect(p.exchange({ flags: "PSH|ACK", seq: 1, ack: 1, data: 10 })).toEqual([seg("ACK", 1, 22, W)]);
    expect(p.state()).toBe("CLOSE-WAIT");
  });

  it("the LAST-ACK FIN is retransmitted at the RTO", () => {
    const { p, s } = open();
    p.send({ flags: "FIN|ACK", seq: 1, ack: 1 });
    s.shutdown("write");
    p.poll();
    expect(p.recv()).toEqual([seg("ACK", 1, 2, W), seg("FIN|ACK", 1, 2, W)]);
    p.advance(5000);
    const again = p.recv();
    expect(again.length).toBeGreaterThanOrEqual(1);
    for (const x of again) expect(x).toEqual(seg("FIN|ACK", 1, 2, W));
  });
});

describe("simultaneous close", () => {
  it("FIN-WAIT-1 → (FIN) CLOSING, ACKing it → (ACK of our FIN) TIME-WAIT", () => {
    const { p, s } = open();
    s.shutdown("write");
    p.poll();
    expect(p.recv()).toEqual([seg("FIN|ACK", 1, 1, W)]);
    expect(p.exchange({ flags: "FIN|ACK", seq: 1, ack: 1 })).toEqual([seg("ACK", 2, 2, W)]);
    expect(p.state()).toBe("CLOSING");
    expect(p.exchange({ flags: "ACK", seq: 2, ack: 2 })).toEqual([]);
    expect(p.state()).toBe("TIME-WAIT");
  });
});
