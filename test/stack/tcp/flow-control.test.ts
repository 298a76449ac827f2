/**
 * Flow control against a slow reader: silly window syndrome avoidance on
 * both ends (RFC 9293 §3.8.6.2). A receiver whose application reads a few
 * bytes at a time never offers a sliver of window, and the sender never
 * sends a sliver of data while more is queued.
 */
import { describe, expect, it } from "vitest";
import { WOULD_BLOCK } from "../../../src/error.js";
import { Tracer } from "../../../src/stack/iface/index.js";
import { IpProtocol, TcpPacket } from "../../../src/stack/wire/index.js";
import { seqAdd, seqDiff } from "../../../src/stack/tcp/seq.js";
import { ip, parse } from "../helpers.js";
import { connectPair, patternByte, patternSlice, tcpWorld } from "./world.js";

describe("silly window syndrome avoidance", () => {
  it("a reader taking 100 bytes at a time: the window's right edge moves by at least one MSS, segments are full", () => {
    const RECV = 8192;
    const TOTAL = 64 * 1024;
    const rightEdges: number[] = [];
    const dataSizes: number[] = [];
    const tcp = new TcpPacket();
    const w = tcpWorld(
      { delayMs: 5 },
      {
        b: (d) =>
          new Tracer(d, (dir, packet) => {
            const p = parse(packet);
            if (p.protocol !== IpProtocol.Tcp || !tcp.reset(p.l4).check(ip(p.src), ip(p.dst)).ok) return;
            if (dir === "tx" && tcp.ack && !tcp.syn) { rightEdges.push(seqAdd(tcp.ackNumber, tcp.window << 7)); }
            if (dir === "rx" && tcp.payload.length > 0) dataSizes.push(tcp.payload.length);
          }),
      },
      { b: { tcp: { recvBuffer: RECV } } },
    );
    const { client, server } = connectPair(w, 4);
    const mss = client.conn.mss - 12;
    let written = 0;
    let read = 0;
    const buf = new Uint8Array(100);
    for (let i = 0; i < 20_000 && read < TOTAL; i++) {
      while (written < TOTAL) {
        const r = client.write(patternSlice(written, Math.min(16_384, TOTAL - written), 5));
        if (r === WOULD_BLOCK) break;
        written += r;
      }
      const r = server.read(buf);
      if (r !== WOULD_BLOCK) {
        for (let k = 0; k < r; k++) if (buf[k] !== patternByte(read + k, 5)) throw new Error(`byte ${read + k} differs`);
        read += r;
      }
      w.run(10);
    }
    expect(read).toBe(TOTAL);
    // when the right edge moves on, it moves by at least min(buffer / 2, MSS); it never moves
    // back by more than the rounding of the scaled window (128-byte units, RFC 7323 §2.3)
    const moves: number[] = [];
    let furthest = rightEdges[0]!;
    for (let i = 1; i < rightEdges.length; i++) {
      const d = seqDiff(rightEdges[i]!, furthest);
      expect(d, `right edge moved back at ACK ${i}`).toBeGreaterThan(-128);
      if (d >= 128) {
        moves.push(d);
        furthest = rightEdges[i]!;
      }
    }
    expect(moves.length).toBeGreaterThan(5);
    for (const d of moves) expect(d).toBeGreaterThanOrEqual(Math.min(RECV / 2, mss) - 128);
    // the sender sends full segments only, except the last one of the stream
    const small = dataSizes.slice(0, -1).filter((n) => n < Math.min(mss, RECV / 2) - 128);
    expect(small).toEqual([]);
  });
});
