/**
 * Segment traces of the three-way handshake (RFC 9293 §3.5): passive open
 * from a listener, active open from tcpConnect, simultaneous open, and the
 * options a SYN-ACK echoes (RFC 7323 §1.3, §2.2; RFC 2018 §2), SYN and
 * SYN-ACK retransmissions, and the RTO the handshake leaves for the data.
 */
import { describe, expect, it } from "vitest";
import { WOULD_BLOCK } from "../../../src/error.js";
import { SegmentPeer, seg } from "./segments.js";

/** What a Linux SYN offers. */
const FULL = { mss: 1460, sackPermitted: true, ts: { val: 100, ecr: 0 }, wscale: 7 } as const;
/** The stack's receive window (256 KiB) in a SYN (never scaled, RFC 7323 §2.2) and scaled by 7 after it. */
const SYN_WIN = 65535;
const WIN7 = (256 * 1024) >> 7;
/** The window field of a RST means nothing (Linux sends 0); not checked. */
const ANY: number = expect.any(Number);

describe("passive open", () => {
  for (const [family, mtu, mss] of [
    [4, 1500, 1460],
    [6, 1500, 1440],
    [4, 1280, 1240],
    [6, 1280, 1220],
  ] as const) {
    it(`SYN → SYN-ACK with MSS = MTU − ${family === 4 ? 40 : 60}, SACK-permitted, timestamps echoing TSval, wscale 7 (v${family}, MTU ${mtu})`, () => {
      const p = new SegmentPeer({ family, mtu });
      p.listen();
      p.send({ flags: "SYN", seq: 0, window: 64240, options: { ...FULL, mss: 1460 } });
      expect(p.recv()).toEqual([seg("SYN|ACK", 0, 1, SYN_WIN, { mss, sackPermitted: true, ts: { val: 0, ecr: 100 }, wscale: 7 })]);
      expect(p.state()).toBe("SYN-RECEIVED");
    });
  }

  it("SYN without options → SYN-ACK with only MSS; later windows are unscaled, segments carry no options", () => {
    const p = new SegmentPeer();
    const l = p.listen();
    p.send({ flags: "SYN", seq: 0, window: 5000 });
    // (which MSS: see "the SYN-ACK announces our own MSS" below)
    expect(p.recv()).toEqual([seg("SYN|ACK", 0, 1, SYN_WIN, { mss: expect.any(Number) as number })]);
    p.send({ flags: "ACK", seq: 1, ack: 1 });
    expect(p.recv()).toEqual([]);
    expect(p.state()).toBe("ESTABLISHED");
    expect(l.accept()).not.toBe(WOULD_BLOCK);
    p.send({ flags: "PSH|ACK", seq: 1, ack: 1, data: 10 });
    // 256 KiB less the 10 unread bytes, but an unscaled field cannot say more than 65535
    expect(p.recv()).toEqual([seg("ACK", 1, 11, 65535)]);
  });

  it("only the options the SYN offered are echoed: wscale alone", () => {
    const p = new SegmentPeer();
    p.listen();
    p.send({ flags: "SYN", seq: 0, options: { mss: 1460, wscale: 2 } });
    expect(p.recv()).toEqual([seg("SYN|ACK", 0, 1, SYN_WIN, { mss: 1460, wscale: 7 })]);
    p.send({ flags: "ACK", seq: 1, ack: 1 });
    p.send({ flags: "PSH|ACK", seq: 1, ack: 1, data: 128 });
    expect(p.recv()).toEqual([seg("ACK", 1, 129, WIN7 - 1)]);
  });

  it("only the options the SYN offered are echoed: SACK-permitted and timestamps without wscale", () => {
    const p = new SegmentPeer();
    p.listen();
    p.send({ flags: "SYN", seq: 0, options: { mss: 1460, sackPermitted: true, ts: { val: 7, ecr: 0 } } });
    expect(p.recv()).toEqual([seg("SYN|ACK", 0, 1, SYN_WIN, { mss: 1460, sackPermitted: true, ts: { val: 0, ecr: 7 } })]);
  });

  it("only the options the SYN offered are echoed: timestamps alone", () => {
    const p = new SegmentPeer();
    p.listen();
    p.send({ flags: "SYN", seq: 0, options: { mss: 1460, ts: { val: 7, ecr: 0 } } });
    expect(p.recv()).toEqual([seg("SYN|ACK", 0, 1, SYN_WIN, { mss: 1460, ts: { val: 0, ecr: 7 } })]);
  });

  it("the ACK completes the handshake: ESTABLISHED, accept() returns the stream, nothing is sent", () => {
    const p = new SegmentPeer();
    const l = p.listen();
    p.send({ flags: "SYN", seq: 0, options: FULL });
    expect(p.recv()).toHaveLength(1);
    p.advance(20);
    expect(l.accept()).toBe(WOULD_BLOCK);
    p.send({ flags: "ACK", seq: 1, ack: 1, options: { ts: { val: 120, ecr: 0 } } });
    expect(p.recv()).toEqual([]);
    expect(p.state()).toBe("ESTABLISHED");
    expect(l.accept()).not.toBe(WOULD_BLOCK);
  });

  it("the SYN-ACK announces our own MSS whatever the SYN offered (none: 536 assumed; 1400)", () => {
    const p = new SegmentPeer();
    p.listen();
    p.send({ flags: "SYN", seq: 0 });
    expect(p.recv()).toEqual([seg("SYN|ACK", 0, 1, SYN_WIN, { mss: 1460 })]);
    const q = new SegmentPeer();
    q.listen();
    q.send({ flags: "SYN", seq: 0, options: { mss: 1400 } });
    expect(q.recv()).toEqual([seg("SYN|ACK", 0, 1, SYN_WIN, { mss: 1460 })]);
  });

  it("a wrong ACK in SYN-RECEIVED draws a RST with seq = SEG.ACK; the half-open connection survives", () => {
    const p = new SegmentPeer();
    const l = p.listen();
    p.send({ flags: "SYN", seq: 0 });
    expect(p.recv()).toHaveLength(1);
    expect(p.exchange({ flags: "ACK", seq: 1, ack: 5000 })).toEqual([seg("RST", 5000, 0, ANY)]);
    expect(p.state()).toBe("SYN-RECEIVED");
    expect(p.exchange({ flags: "ACK", seq: 1, ack: 1 })).toEqual([]);
    expect(p.state()).toBe("ESTABLISHED");
    expect(l.accept()).not.toBe(WOULD_BLOCK);
  });

  it("an ACK for the SYN-ACK's own sequence number (SEG.ACK = ISS) is wrong too", () => {
    const p = new SegmentPeer();
    p.listen();
    p.send({ flags: "SYN", seq: 0 });
    p.recv();
    expect(p.exchange({ flags: "ACK", seq: 1, ack: 0 })).toEqual([seg("RST", 0, 0, ANY)]);
  });

  it("a duplicate SYN in SYN-RECEIVED → the same SYN-ACK again", () => {
    const p = new SegmentPeer();
    p.listen();
    p.send({ flags: "SYN", seq: 0, options: { mss: 1460, wscale: 7 } });
    const first = p.recv();
    p.advance(300);
    expect(p.exchange({ flags: "SYN", seq: 0, options: { mss: 1460, wscale: 7 } })).toEqual(first);
  });

  it("a RST in SYN-RECEIVED drops the half-open connection silently; the listener has nothing to accept", () => {
    const p = new SegmentPeer();
    const l = p.listen();
    p.send({ flags: "SYN", seq: 0 });
    p.recv();
    expect(p.exchange({ flags: "RST", seq: 1 })).toEqual([]);
    expect(p.state()).toBe("CLOSED");
    expect(l.accept()).toBe(WOULD_BLOCK);
    p.advance(5000);
    expect(p.recv()).toEqual([]);
  });

  it("the SYN-ACK is retransmitted at 1 s, 3 s, 7 s (RTO 1 s doubling, RFC 6298 §2.1, §5.5)", () => {
    const p = new SegmentPeer();
    p.listen();
    p.send({ flags: "SYN", seq: 0 });
    const synAck = p.recv();
    p.advance(7000);
    expect(p.take().map((o) => [o.at, o.seg])).toEqual([
      [1000, synAck[0]],
      [3000, synAck[0]],
      [7000, synAck[0]],
    ]);
  });

  it("the SYN-ACK is retransmitted 5 times (Linux tcp_synack_retries), then the half-open connection is dropped", () => {
    const p = new SegmentPeer();
    p.listen();
    p.send({ flags: "SYN", seq: 0 });
    p.recv();
    p.advance(200_000);
    expect(p.take().map((o) => o.at)).toEqual([1000, 3000, 7000, 15_000, 31_000]);
    expect(p.state()).toBe("CLOSED");
  });
});

describe("active open", () => {
  for (const [family, mss] of [
    [4, 1460],
    [6, 1440],
  ] as const) {
    it(`the SYN carries MSS, SACK-permitted, timestamps (TSecr 0), wscale 7 (v${family})`, () => {
      const p = new SegmentPeer({ family });
      p.connect();
      expect(p.recv()).toEqual([seg("SYN", 0, 0, SYN_WIN, { mss, sackPermitted: true, ts: { val: 0, ecr: 0 }, wscale: 7 })]);
    });
  }

  it("SYN-ACK → ACK; ESTABLISHED and writable", () => {
    const p = new SegmentPeer();
    const s = p.connect();
    p.recv();
    p.advance(50);
    expect(p.exchange({ flags: "SYN|ACK", seq: 0, ack: 1, options: { mss: 1400, sackPermitted: true, ts: { val: 900, ecr: 0 }, wscale: 3 } })).toEqual([
      seg("ACK", 1, 1, WIN7, { ts: { val: 50, ecr: 900 } }),
    ]);
    expect(p.state()).toBe("ESTABLISHED");
    expect(s.write(new Uint8Array(10))).toBe(10);
  });

  it("a SYN-ACK without options: MSS 536 (RFC 9293 §3.7.1), no timestamps, windows unscaled", () => {
    const p = new SegmentPeer();
    const s = p.connect();
    p.recv();
    expect(p.exchange({ flags: "SYN|ACK", seq: 0, ack: 1 })).toEqual([seg("ACK", 1, 1, 65535)]);
    s.write(new Uint8Array(1072));
    p.poll();
    expect(p.recv()).toEqual([seg("ACK", 1, 1, 65535, {}, 536), seg("PSH|ACK", 537, 1, 65535, {}, 536)]);
  });

  it("RST|ACK for the SYN → ECONNREFUSED from takeError; nothing is sent", () => {
    const p = new SegmentPeer();
    const s = p.connect();
    p.recv();
    expect(p.exchange({ flags: "RST|ACK", seq: 0, ack: 1 })).toEqual([]);
    expect(s.takeError()?.code).toBe("ECONNREFUSED");
    expect(p.state()).toBe("CLOSED");
    p.advance(5000);
    expect(p.recv()).toEqual([]);
  });

  it("a RST without ACK in SYN-SENT is ignored (RFC 9293 §3.10.7.3)", () => {
    const p = new SegmentPeer();
    const s = p.connect();
    p.recv();
    expect(p.exchange({ flags: "RST", seq: 0 })).toEqual([]);
    expect(s.takeError()).toBe(null);
    expect(p.state()).toBe("SYN-SENT");
  });

  it("a SYN-ACK with a bad ACK → RST with seq = SEG.ACK; still SYN-SENT", () => {
    const p = new SegmentPeer();
    const s = p.connect();
    p.recv();
    expect(p.exchange({ flags: "SYN|ACK", seq: 0, ack: 77 })).toEqual([seg("RST", 77, 0, ANY)]);
    expect(p.exchange({ flags: "ACK", seq: 0, ack: 0 })).toEqual([seg("RST", 0, 0, ANY)]);
    expect(p.state()).toBe("SYN-SENT");
    expect(s.takeError()).toBe(null);
  });

  it("a RST|ACK with a bad ACK in SYN-SENT is ignored", () => {
    const p = new SegmentPeer();
    const s = p.connect();
    p.recv();
    expect(p.exchange({ flags: "RST|ACK", seq: 0, ack: 2 })).toEqual([]);
    expect(p.state()).toBe("SYN-SENT");
    expect(s.takeError()).toBe(null);
  });

  it("simultaneous open: a SYN without ACK in SYN-SENT → SYN-ACK (same ISS), SYN-RECEIVED; the ACK → ESTABLISHED", () => {
    const p = new SegmentPeer();
    p.connect();
    const [syn] = p.recv();
    expect(syn!.options.wscale).toBe(7);
    expect(p.exchange({ flags: "SYN", seq: 0, options: { mss: 1460, wscale: 7 } })).toEqual([seg("SYN|ACK", 0, 1, SYN_WIN, { mss: 1460, wscale: 7 })]);
    expect(p.state()).toBe("SYN-RECEIVED");
    expect(p.exchange({ flags: "ACK", seq: 1, ack: 1 })).toEqual([]);
    expect(p.state()).toBe("ESTABLISHED");
  });

  it("simultaneous open: the peer's SYN-ACK crossing ours establishes the connection (Linux tcp_validate_incoming)", () => {
    const p = new SegmentPeer();
    const s = p.connect();
    p.recv();
    p.send({ flags: "SYN", seq: 0, options: { mss: 1460 } });
    expect(p.recv().map((x) => x.flags)).toEqual(["SYN|ACK"]);
    p.send({ flags: "SYN|ACK", seq: 0, ack: 1, options: { mss: 1460 } });
    expect(p.state()).toBe("ESTABLISHED");
    expect(s.write(new Uint8Array(10))).toBe(10);
  });

  it("the SYN is retransmitted at 1, 3, 7, 15, 31, 63 s; at 127 s connect fails with ETIMEDOUT (Linux tcp_syn_retries 6)", () => {
    const p = new SegmentPeer();
    const s = p.connect();
    const [syn] = p.take();
    expect(syn!.at).toBe(0);
    p.advance(130_000);
    const out = p.take();
    expect(out.map((o) => o.at)).toEqual([1000, 3000, 7000, 15_000, 31_000, 63_000]);
    for (const o of out) expect(o.seg).toEqual({ ...syn!.seg, options: { ...syn!.seg.options, ts: { val: o.at, ecr: 0 } } });
    expect(s.takeError()?.code).toBe("ETIMEDOUT");
    expect(p.state()).toBe("CLOSED");
  });
});

describe("the handshake's RTT sample (RFC 6298)", () => {
  it("active open without timestamps: the SYN's round trip (100 ms) is the first RTT sample: data RTO 300 ms, then 600", () => {
    const p = new SegmentPeer();
    const s = p.connect();
    p.recv();
    p.advance(100);
    p.send({ flags: "SYN|ACK", seq: 0, ack: 1, options: { mss: 1460 } });
    p.recv();
    s.write(new Uint8Array(100));
    p.poll();
    const t0 = p.now();
    expect(p.take().map((o) => o.at)).toEqual([t0]);
    p.advance(1000);
    expect(p.take().map((o) => o.at - t0)).toEqual([300, 900]);
  });

  it("passive open without timestamps: the SYN-ACK's round trip (100 ms) is the first RTT sample: data RTO 300 ms", () => {
    const p = new SegmentPeer();
    const l = p.listen();
    p.send({ flags: "SYN", seq: 0, options: { mss: 1460 } });
    p.recv();
    p.advance(100);
    p.send({ flags: "ACK", seq: 1, ack: 1 });
    const s = l.accept();
    if (s === WOULD_BLOCK) throw new Error("not accepted");
    s[0].write(new Uint8Array(100));
    p.poll();
    const t0 = p.now();
    p.advance(1000);
    expect(p.take().map((o) => o.at - t0)).toEqual([0, 300, 900]);
  });

  it("after a retransmitted SYN-ACK (no timestamps, so no sample: Karn) the data RTO is 3 s (RFC 6298 §5.7)", () => {
    const p = new SegmentPeer();
    const l = p.listen();
    p.send({ flags: "SYN", seq: 0, options: { mss: 1460 } });
    p.advance(1100);
    expect(p.take().map((o) => o.at)).toEqual([0, 1000]);
    p.send({ flags: "ACK", seq: 1, ack: 1 });
    const s = l.accept();
    if (s === WOULD_BLOCK) throw new Error("not accepted");
    s[0].write(new Uint8Array(100));
    p.advance(4000);
    expect(p.take().map((o) => o.at - 1100)).toEqual([0, 3000]);
  });

  it("after a retransmitted SYN-ACK, the TSecr still gives a sample (RFC 7323 §4.1): data RTO 300 ms", () => {
    const p = new SegmentPeer();
    const l = p.listen();
    p.send({ flags: "SYN", seq: 0, options: { mss: 1460, ts: { val: 1, ecr: 0 } } });
    p.advance(1100);
    expect(p.take().map((o) => [o.at, o.seg.options.ts])).toEqual([
      [0, { val: 0, ecr: 1 }],
      [1000, { val: 1000, ecr: 1 }],
    ]);
    p.send({ flags: "ACK", seq: 1, ack: 1, options: { ts: { val: 2, ecr: 1000 } } });
    const s = l.accept();
    if (s === WOULD_BLOCK) throw new Error("not accepted");
    s[0].write(new Uint8Array(100));
    p.advance(1000);
    expect(p.take().map((o) => o.at - 1100)).toEqual([0, 300, 900]);
  });

  it("with timestamps the SYN-ACK's round trip (100 ms) is the first RTT sample (TSecr, RFC 7323 §4.1): data RTO 300 ms", () => {
    const p = new SegmentPeer();
    const l = p.listen();
    p.send({ flags: "SYN", seq: 0, options: { mss: 1460, ts: { val: 1, ecr: 0 } } });
    p.recv();
    p.advance(100);
    p.send({ flags: "ACK", seq: 1, ack: 1, options: { ts: { val: 101, ecr: 0 } } });
    const s = l.accept();
    if (s === WOULD_BLOCK) throw new Error("not accepted");
    s[0].write(new Uint8Array(100));
    p.poll();
    const t0 = p.now();
    p.advance(1000);
    expect(p.take().map((o) => o.at - t0)).toEqual([0, 300, 900]);
  });
});
