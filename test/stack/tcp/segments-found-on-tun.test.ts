/**
 * Segment traces pinning down two deviations from Linux that the conformance
 * scenarios found when they first ran against the kernel through a TUN device
 * (test/support/backends.ts, backend "tun-reverse"):
 *
 * - After an active open, the right edge of the window we offered (RCV.ADV)
 *   started at 0 instead of RCV.NXT. It only ever moves forward, so with a
 *   peer ISS in the upper half of the sequence space it stayed at 0: the
 *   offered window looked huge, and reading a full buffer never sent the
 *   window update (the kernel sat on a zero window until its probe).
 * - writev queued each buffer with its own send, so under Nagle the second
 *   small buffer waited for the ACK of the first; Linux sends the bytes of
 *   one writev together (one sendmsg).
 */
import { describe, expect, it } from "vitest";
import { WOULD_BLOCK } from "../../../src/error.js";
import { SegmentPeer, seg } from "./segments.js";

/** A peer ISS in the upper half of the sequence space (as a kernel picks one half the time). */
const HIGH_ISS = 0xf000_0000;

describe("found on TUN: the receive window after an active open", () => {
  for (const iss of [0x1000_0000, HIGH_ISS]) {
    it(`peer ISS 0x${iss.toString(16)}: a zero window, then a window update when the app reads`, () => {
      const p = new SegmentPeer({ iss, tcp: { recvBuffer: 4096 } });
      const { stream: s } = p.activeOpen({ mss: 1460 });
      expect(p.exchange({ flags: "ACK", seq: 1, ack: 1, data: 1460 })).toEqual([seg("ACK", 1, 1461, 4096 - 1460)]);
      expect(p.exchange({ flags: "ACK", seq: 1461, ack: 1, data: 1460 })).toEqual([seg("ACK", 1, 2921, 4096 - 2920)]);
      // 284 of these bytes lie past the right edge: trimmed, and the window is shut
      expect(p.exchange({ flags: "ACK", seq: 2921, ack: 1, data: 1460 })).toEqual([seg("ACK", 1, 4097, 0)]);
      // nothing fits a zero window
      expect(p.exchange({ flags: "ACK", seq: 4097, ack: 1, data: 100 })).toEqual([seg("ACK", 1, 4097, 0)]);
      const buf = new Uint8Array(8192);
      expect(s.read(buf)).toBe(4096);
      expect(p.recv()).toEqual([seg("ACK", 1, 4097, 4096)]);
      expect(p.exchange({ flags: "ACK", seq: 4097, ack: 1, data: 100 })).toEqual([seg("ACK", 1, 4197, 3996)]);
    });
  }
});

describe("found on TUN: writev is one send", () => {
  it("two small buffers leave in one segment (the second is not held back by Nagle behind the first)", () => {
    const p = new SegmentPeer();
    const { stream: s } = p.activeOpen({ mss: 1460 });
    expect(s.writev([new Uint8Array(12).fill(2), new Uint8Array(0), new Uint8Array(11).fill(3)])).toBe(23);
    const out = p.take();
    expect(out.map((o) => o.seg)).toEqual([seg("PSH|ACK", 1, 1, 65535, {}, 23)]);
    expect(Array.from(out[0]!.data)).toEqual([...new Array(12).fill(2), ...new Array(11).fill(3)]);
  });

  it("readv of a full buffer sends one window update, not one per buffer", () => {
    const p = new SegmentPeer({ tcp: { recvBuffer: 4096 } });
    const { stream: s } = p.activeOpen({ mss: 1460 });
    p.send({ flags: "ACK", seq: 1, ack: 1, data: 1460 }, { flags: "ACK", seq: 1461, ack: 1, data: 1460 }, { flags: "ACK", seq: 2921, ack: 1, data: 1176 });
    expect(p.recv().at(-1)).toEqual(seg("ACK", 1, 4097, 0));
    const parts = [new Uint8Array(1024), new Uint8Array(1024), new Uint8Array(1024), new Uint8Array(2048)];
    expect(s.readv(parts)).toBe(4096);
    expect(p.recv()).toEqual([seg("ACK", 1, 4097, 4096)]);
    expect(s.readv(parts)).toBe(WOULD_BLOCK);
  });
});
