/**
 * TCP connection lifecycles between two Stacks in virtual time, observed
 * through "tcp-state" events and the sockets: handshakes, the closing
 * sequences of RFC 9293 §3.6 (active, passive, simultaneous, half-close),
 * a simultaneous open (§3.5, Figure 8),
 * RST for a closed port, a partition outlasting the retry budget, a zero
 * window, and the options a SYN carries.
 */
import { describe, expect, it } from "vitest";
import { IoError, WOULD_BLOCK } from "../../../src/error.js";
import { SocketAddr } from "../../../src/net/socket-addr.js";
import { Events } from "../../../src/poll/event.js";
import { Interest } from "../../../src/poll/interest.js";
import { Token } from "../../../src/poll/token.js";
import { Tracer } from "../../../src/stack/iface/index.js";
import { IpProtocol, TcpPacket } from "../../../src/stack/wire/index.js";
import { ip, parse } from "../helpers.js";
import { connectPair, path, patternByte, patternSlice, tcpWorld, type TcpWorld } from "./world.js";

const TIME_WAIT_MS = 60_000;

function closeAll(w: TcpWorld): void {
  w.a.close();
  w.b.close();
}

/** Reads until end of stream (or `maxMs` of virtual time); returns the bytes. */
function readToEnd(w: TcpWorld, s: { read(b: Uint8Array): number | typeof WOULD_BLOCK }, maxMs = 60_000): Uint8Array {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  const end = w.clock.now() + maxMs;
  for (;;) {
    const r = s.read(buf);
    if (r === 0) break;
    if (r === WOULD_BLOCK) {
      if (w.clock.now() >= end) throw new Error("readToEnd: no end of stream in time");
      w.run(5);
      continue;
    }
    chunks.push(buf.slice(0, r));
  }
  return Buffer.concat(chunks);
}

describe("TCP handshake and teardown between two Stacks", () => {
  for (const family of [4, 6] as const) {
    it(`active and passive open, then active close through FIN-WAIT-2 and TIME-WAIT, passive close through LAST-ACK (v${family})`, () => {
      const w = tcpWorld({ delayMs: 10 });
      try {
        const { client, server, listener } = connectPair(w, family);
        const c = client.localAddr().toString();
        const s = server.localAddr().toString();
        expect(path(w, c)).toEqual(["CLOSED", "SYN-SENT", "ESTABLISHED"]);
        expect(path(w, s)).toEqual(["CLOSED", "SYN-RECEIVED", "ESTABLISHED"]);

        client.shutdown("write");
        expect(client.conn.state).toBe("FIN-WAIT-1");
        w.run(30); // the FIN arrives (10 ms), its ACK comes back (10 ms)
        expect(client.conn.state).toBe("FIN-WAIT-2");
        expect(server.conn.state).toBe("CLOSE-WAIT");
        expect(server.read(new Uint8Array(10))).toBe(0);

        server.close();
        expect(path(w, s)).toEqual(["CLOSED", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK"]);
        w.run(30);
        expect(path(w, s)).toEqual(["CLOSED", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"]);
        expect(client.read(new Uint8Array(10))).toBe(0);
        expect(client.conn.state).toBe("TIME-WAIT");
        const enteredTimeWait = w.clock.now();

        // TIME-WAIT lasts 2·MSL (60 s, as Linux), not less
        w.run(TIME_WAIT_MS - 100);
        expect(client.conn.state).toBe("TIME-WAIT");
        w.run(200);
        expect(client.conn.state).toBe("CLOSED");
        expect(w.clock.now() - enteredTimeWait).toBeGreaterThanOrEqual(TIME_WAIT_MS - 40);
        expect(path(w, c)).toEqual(["CLOSED", "SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED"]);
        client.close();
        listener.close();
      } finally {
        closeAll(w);
      }
    });
  }

  it("half-close: after shutdown(write) the client keeps reading everything the server sends", () => {
    const w = tcpWorld({ delayMs: 5, mtu: 1500 });
    try {
      const { client, server } = connectPair(w, 4);
      client.write(patternSlice(0, 1000, 7));
      client.shutdown("write");
      expect(() => client.write(new Uint8Array(1))).toThrow(expect.objectContaining({ code: "EPIPE" }));
      const got = readToEnd(w, server);
      expect(Buffer.compare(got, patternSlice(0, 1000, 7))).toBe(0);
      // the server still sends 300 KiB to the half-closed client
      const total = 300 * 1024;
      let written = 0;
      const buf = new Uint8Array(65536);
      let read = 0;
      for (let i = 0; i < 100_000 && read < total; i++) {
        if (written < total) {
          const r = server.write(patternSlice(written, Math.min(16384, total - written), 8));
          if (r !== WOULD_BLOCK) written += r;
        }
        w.run(2);
        for (;;) {
          const r = client.read(buf);
          if (r === WOULD_BLOCK) break;
          expect(r).toBeGreaterThan(0);
          for (let k = 0; k < r; k++) if (buf[k] !== patternByte(read + k, 8)) throw new Error(`byte ${read + k} differs`);
          read += r;
        }
      }
      expect(read).toBe(total);
      expect(client.conn.state).toBe("FIN-WAIT-2");
      const serverName = server.localAddr().toString();
      server.close();
      expect(readToEnd(w, client).length).toBe(0);
      expect(client.conn.state).toBe("TIME-WAIT");
      w.run(20); // the client's ACK of the FIN reaches the server
      expect(path(w, serverName).slice(-3), JSON.stringify(path(w, serverName))).toEqual(["CLOSE-WAIT", "LAST-ACK", "CLOSED"]);
    } finally {
      closeAll(w);
    }
  });

  it("simultaneous close: both ends go FIN-WAIT-1 -> CLOSING -> TIME-WAIT -> CLOSED", () => {
    const w = tcpWorld({ delayMs: 20 });
    try {
      const { client, server } = connectPair(w, 6);
      w.run(100);
      client.shutdown("write");
      server.shutdown("write");
      w.run(200);
      for (const s of [client, server]) {
        expect(s.read(new Uint8Array(4))).toBe(0);
        expect(s.conn.state).toBe("TIME-WAIT");
      }
      w.run(TIME_WAIT_MS + 100);
      for (const s of [client, server]) {
        expect(path(w, s.localAddr().toString()).slice(-5)).toEqual(["ESTABLISHED", "FIN-WAIT-1", "CLOSING", "TIME-WAIT", "CLOSED"]);
      }
    } finally {
      closeAll(w);
    }
  });
});

describe("TCP errors between two Stacks", () => {
  for (const family of [4, 6] as const) {
    it(`connect to a closed port is refused by a RST: ECONNREFUSED from takeError and an error event (v${family})`, () => {
      const w = tcpWorld({ delayMs: 1 });
      try {
        const s1 = w.a.tcpConnect(w.addrB(6000, family));
        const s2 = w.a.tcpConnect(w.addrB(6001, family));
        w.poll.registry().register(s2, Token(9), Interest.READABLE.add(Interest.WRITABLE));
        const events = new Events(16);
        let sawError = false;
        for (let i = 0; i < 100 && !sawError; i++) {
          w.poll.poll(events, 10);
          for (const e of events) if (e.token() === 9 && e.isError()) sawError = true;
        }
        expect(sawError).toBe(true);
        const e1 = s1.takeError();
        expect(e1).toBeInstanceOf(IoError);
        expect(e1!.code).toBe("ECONNREFUSED");
        expect(s1.takeError()).toBeNull();
        expect(s2.takeError()?.code).toBe("ECONNREFUSED");
        expect(path(w, s1.localAddr().toString())).toEqual(["CLOSED", "SYN-SENT", "CLOSED"]);
        expect(w.b.stats().dropped["tcp:no-socket"]).toBe(2);
        s1.close();
        s2.close();
      } finally {
        closeAll(w);
      }
    });
  }

  it("a partition makes a pending write fail with ETIMEDOUT after the retry budget (virtual minutes)", () => {
    const w = tcpWorld({ delayMs: 10 });
    try {
      const { client, server } = connectPair(w, 4);
      w.run(1000);
      w.link.setDown(true);
      const start = w.clock.now();
      expect(client.write(patternSlice(0, 10_000, 3))).toBe(10_000);
      let error: IoError | null = null;
      for (let i = 0; i < 10_000 && error === null; i++) {
        w.run(1000);
        try {
          if (client.write(new Uint8Array(1)) === WOULD_BLOCK) continue;
        } catch (e) {
          if (!(e instanceof IoError)) throw e;
          error = e;
        }
      }
      const elapsed = w.clock.now() - start;
      expect(error?.code).toBe("ETIMEDOUT");
      // Linux with tcp_retries2 = 15 gives up after about 924.6 s from a 200 ms RTO
      expect(elapsed).toBeGreaterThan(5 * 60_000);
      expect(elapsed).toBeLessThan(40 * 60_000);
      const local = client.localAddr().toString();
      expect(w.retransmits.filter((e) => e.local === local).length).toBe(15);
      expect(path(w, local).slice(-2)).toEqual(["ESTABLISHED", "CLOSED"]);
      // the error is reported once; afterwards the stream is just closed
      expect(client.takeError()).toBeNull();
      void server;
    } finally {
      closeAll(w);
    }
  });

  it("a SYN that never gets an answer ends in ETIMEDOUT after the SYN retries (Linux: 6 retries, about 127 s)", () => {
    const w = tcpWorld({ delayMs: 1 });
    try {
      w.link.setDown(true);
      const start = w.clock.now();
      const s = w.a.tcpConnect(w.addrB(5000, 4));
      const local = s.localAddr().toString();
      let err: IoError | null = null;
      for (let i = 0; i < 1000 && err === null; i++) {
        w.run(1000);
        err = s.takeError();
      }
      expect(err?.code).toBe("ETIMEDOUT");
      const elapsed = w.clock.now() - start;
      expect(elapsed).toBeGreaterThanOrEqual(127_000);
      expect(elapsed).toBeLessThan(135_000);
      expect(w.retransmits.filter((e) => e.local === local).length).toBe(6);
      expect(path(w, local)).toEqual(["CLOSED", "SYN-SENT", "CLOSED"]);
    } finally {
      closeAll(w);
    }
  });

  it("closing with unread data resets the connection: the peer's read fails with ECONNRESET", () => {
    const w = tcpWorld({ delayMs: 5 });
    try {
      const { client, server } = connectPair(w, 6);
      expect(client.write(patternSlice(0, 5000, 4))).toBe(5000);
      w.run(50);
      const serverName = server.localAddr().toString();
      server.close(); // 5000 bytes unread: RST instead of FIN, as Linux does
      w.run(50);
      expect(path(w, serverName).slice(-2)).toEqual(["ESTABLISHED", "CLOSED"]);
      expect(() => client.read(new Uint8Array(10))).toThrow(expect.objectContaining({ code: "ECONNRESET" }));
      expect(client.conn.state).toBe("CLOSED");
    } finally {
      closeAll(w);
    }
  });

  it("window scaling lets more than 64 KiB be in flight on a long path", () => {
    const w = tcpWorld({ delayMs: 50 });
    try {
      const { client, server } = connectPair(w, 4);
      let written = 0;
      let maxInFlight = 0;
      const sink = new Uint8Array(65536);
      for (let i = 0; i < 400; i++) {
        const r = client.write(patternSlice(written, 65536, 2));
        if (r !== WOULD_BLOCK) written += r;
        w.run(10);
        while (server.read(sink) !== WOULD_BLOCK);
        maxInFlight = Math.max(maxInFlight, (client.conn.sndMax - client.conn.sndUna) >>> 0);
      }
      // the peer's ACKs advertise its 256 KiB buffer through the scale factor
      expect(client.conn.sndWnd).toBeGreaterThan(65535);
      expect(maxInFlight).toBeGreaterThan(65535);
    } finally {
      closeAll(w);
    }
  });

  it("zero window: a receiver that does not read makes write return WOULD_BLOCK; reading lets the rest through", () => {
    const w = tcpWorld({ delayMs: 5 });
    try {
      const { client, server } = connectPair(w, 4);
      const total = 2 * 1024 * 1024;
      let written = 0;
      let blockedSince: number | null = null;
      for (let i = 0; i < 100_000; i++) {
        const r = client.write(patternSlice(written, 16384, 5));
        if (r === WOULD_BLOCK) {
          blockedSince ??= w.clock.now();
          if (w.clock.now() - blockedSince > 30_000) break;
        } else {
          written += r;
          blockedSince = null;
        }
        w.run(10);
      }
      // the receive buffer and the send buffer are full and nothing moves for 30 s
      expect(blockedSince).not.toBeNull();
      expect(written).toBeGreaterThan(256 * 1024);
      expect(written).toBeLessThan(total);
      expect(client.conn.state).toBe("ESTABLISHED");
      expect(server.conn.stats().bytesIn).toBeLessThanOrEqual(server.conn.rcvBuf.capacity);

      // now read everything and keep writing to the end
      const buf = new Uint8Array(65536);
      let read = 0;
      let shut = false;
      for (let i = 0; i < 1_000_000; i++) {
        if (written < total) {
          const r = client.write(patternSlice(written, Math.min(16384, total - written), 5));
          if (r !== WOULD_BLOCK) written += r;
        } else if (!shut) {
          client.shutdown("write");
          shut = true;
        }
        const r = server.read(buf);
        if (r === 0) break;
        if (r === WOULD_BLOCK) {
          w.run(5);
          continue;
        }
        for (let k = 0; k < r; k++) if (buf[k] !== patternByte(read + k, 5)) throw new Error(`byte ${read + k} differs`);
        read += r;
      }
      expect(read).toBe(total);
    } finally {
      closeAll(w);
    }
  });
});

describe("TCP options in the SYN and SYN-ACK", () => {
  for (const mtu of [1280, 1500, 9000]) {
    for (const family of [4, 6] as const) {
      it(`MSS is the link MTU minus headers, with window scale, timestamps and SACK-permitted (MTU ${mtu}, v${family})`, () => {
        const syns: Array<{ dir: string; mss: number; wscale: number; ts: boolean; sackOk: boolean; ack: boolean }> = [];
        let biggest = 0;
        const w = tcpWorld({ mtu, delayMs: 1 }, {
          a: (d) =>
            new Tracer(d, (dir, packet) => {
              const p = parse(packet);
              if (p.protocol !== IpProtocol.Tcp) return;
              // a TCP segment is never fragmented: the MSS and its options fit the MTU
              expect(p.fragment).toBeNull();
              biggest = Math.max(biggest, packet.length);
              const t = new TcpPacket(p.l4);
              expect(t.check(ip(p.src), ip(p.dst)).ok).toBe(true);
              if (t.syn) syns.push({ dir, mss: t.mss, wscale: t.windowScale, ts: t.hasTimestamps, sackOk: t.sackPermitted, ack: t.ack });
            }),
        });
        try {
          const { client, server } = connectPair(w, family);
          const want = mtu - (family === 4 ? 40 : 60);
          expect(syns.map((s) => [s.dir, s.ack])).toEqual([["tx", false], ["rx", true]]);
          for (const s of syns) {
            expect(s.mss).toBe(want);
            expect(s.wscale).toBeGreaterThanOrEqual(0);
            expect(s.wscale).toBeLessThanOrEqual(14);
            expect(s.ts).toBe(true);
            expect(s.sackOk).toBe(true);
          }
          expect(client.conn.mss).toBe(want);
          expect(server.conn.mss).toBe(want);
          // full-sized segments fit the link exactly
          const n = client.write(patternSlice(0, 100_000, 1));
          expect(n).toBe(100_000);
          w.run(500);
          expect(biggest).toBe(mtu);
          expect(w.link.stats().aToB.dropped.mtu).toBe(0);
          expect(w.link.stats().bToA.dropped.mtu).toBe(0);
        } finally {
          closeAll(w);
        }
      });
    }
  }
});

describe("TCP simultaneous open", () => {
  for (const family of [4, 6] as const) {
    it(`both ends connect to each other's fixed port at once: CLOSED -> SYN-SENT -> SYN-RECEIVED -> ESTABLISHED on both, data both ways (v${family})`, () => {
      const w = tcpWorld({ delayMs: 10 });
      try {
        const a = w.a.tcpLayer.connect(SocketAddr.parse(w.addrB(6000, family)), 5000);
        const b = w.b.tcpLayer.connect(SocketAddr.parse(w.addrA(5000, family)), 6000);
        expect(a.localAddr().toString()).toBe(w.addrA(5000, family));
        expect(b.localAddr().toString()).toBe(w.addrB(6000, family));
        // the port is taken now: another connect from it, or a listener on it, fails
        expect(() => w.a.tcpLayer.connect(SocketAddr.parse(w.addrB(7000, family)), 5000)).toThrow(expect.objectContaining({ code: "EADDRINUSE" }));
        expect(() => w.b.tcpBind(w.addrB(6000, family))).toThrow(expect.objectContaining({ code: "EADDRINUSE" }));
        for (let i = 0; i < 1000 && !(a.conn.state === "ESTABLISHED" && b.conn.state === "ESTABLISHED"); i++) w.run(1);
        for (const s of [a, b]) {
          expect(path(w, s.localAddr().toString())).toEqual(["CLOSED", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED"]);
          expect(s.peerAddr().toString()).toBe((s === a ? b : a).localAddr().toString());
        }
        // no RST and no retransmission were needed
        expect(w.retransmits).toEqual([]);
        expect(a.write(patternSlice(0, 3000, 11))).toBe(3000);
        expect(b.write(patternSlice(0, 2000, 12))).toBe(2000);
        a.shutdown("write");
        b.shutdown("write");
        expect(Buffer.compare(readToEnd(w, b), patternSlice(0, 3000, 11))).toBe(0);
        expect(Buffer.compare(readToEnd(w, a), patternSlice(0, 2000, 12))).toBe(0);
      } finally {
        closeAll(w);
      }
    });
  }
});
