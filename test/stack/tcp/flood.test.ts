/**
 * SYN flood resilience (RFC 4987): once a listener's SYN queue is full the
 * stack answers SYNs with SYN cookies, so spoofed SYNs neither grow memory
 * nor lock legitimate clients out; what a cookie keeps of the SYN (MSS from
 * a table, window scale and SACK-permitted through timestamps) shows on the
 * wire; forged or expired cookies get a RST. A full accept queue drops the
 * handshake's last ACK, as Linux does, and the client gets in once the
 * application accepts.
 */
import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";
import { describe, expect, it } from "vitest";
import { WOULD_BLOCK } from "../../../src/error.js";
import { SocketAddr } from "../../../src/net/socket-addr.js";
import { Random } from "../../../src/random.js";
import type { Stack } from "../../../src/stack/stack.js";
import { COOKIE_TICK_MS, decodeTsOptions } from "../../../src/stack/tcp/syn-cookie.js";
import type { VirtualTcpStream } from "../../../src/stack/tcp/socket.js";
import { IpProtocol, TcpFlags, TcpPacket, emitTcp, tcpHeaderLength, type TcpHeader } from "../../../src/stack/wire/index.js";
import { US4, US6, ip, ipv4, ipv6, pair, wireWorld, type Sent, type WireWorld } from "../helpers.js";
import { patternByte, patternSlice } from "./world.js";

const SYN_BACKLOG = 256;
const { SYN, ACK, RST, PSH } = TcpFlags;

/** A whole TCP/IP packet from `src` to `dst` (v4 or v6 by the address form). */
function tcpPacket(src: string, dst: string, h: TcpHeader, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const hl = tcpHeaderLength(h.options);
  const seg = new Uint8Array(hl + payload.length);
  seg.set(payload, hl);
  emitTcp(seg, h, payload.length, ip(src), ip(dst));
  return src.includes(":") ? ipv6(src, dst, IpProtocol.Tcp, seg) : ipv4({ src, dst, protocol: IpProtocol.Tcp }, seg);
}

/** The TCP segment of a packet the stack sent, checksum and options checked. */
function tcpOf(s: Sent): TcpPacket {
  expect(s.protocol).toBe(IpProtocol.Tcp);
  const t = new TcpPacket(s.l4);
  expect(t.check(ip(s.src), ip(s.dst)).ok).toBe(true);
  return t;
}

/** A spoofed SYN from a random host of 10.0.0.3-254 and port (a host that never answers). */
function spoofedSyn(rnd: Random, dstPort: number, withOptions: boolean): Uint8Array {
  const src = `10.0.0.${3 + rnd.int(252)}`;
  const options = withOptions ? { mss: 1460, windowScale: 7, sackPermitted: true, tsVal: rnd.u32(), tsEcr: 0 } : undefined;
  return tcpPacket(src, US4, { srcPort: 1024 + rnd.int(64_000), dstPort, seqNumber: rnd.u32(), ackNumber: 0, flags: SYN, window: 64_240, options });
}

/** Fills the listener's SYN queue with spoofed SYNs. */
function fillSynQueue(w: WireWorld, port: number, rnd: Random): void {
  for (let i = 0; i < SYN_BACKLOG; i++) w.inject(spoofedSyn(rnd, port, true));
  w.run(2);
}

function dropped(s: Stack, reason: string): number {
  return s.stats().dropped[reason] ?? 0;
}

/** A stack's count of a TCP event that is not a drop. */
function counted(s: Stack, event: string): number {
  return s.stats().tcp[event] ?? 0;
}

/** A function that collects garbage, when V8 lets us have one. */
function gcFunction(): (() => void) | null {
  try {
    setFlagsFromString("--expose-gc");
    const gc: unknown = runInNewContext("gc");
    return typeof gc === "function" ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

function memory(gc: (() => void) | null): number {
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

describe("SYN cookies on the wire", () => {
  it("with the SYN queue full, a SYN with timestamps gets a cookie SYN-ACK keeping MSS, window scale and SACK; the ACK opens an established connection", () => {
    const w = wireWorld({ link: { delayMs: 1 } });
    const listener = w.stack.tcpBind(`${US4}:80`);
    const rnd = new Random(1, "flood");
    // no cookie sent yet: an ACK for the listener is answered by a RST, as for any unknown connection
    w.inject(tcpPacket("10.0.0.1", US4, { srcPort: 39_999, dstPort: 80, seqNumber: 1, ackNumber: 2, flags: ACK, window: 100 }));
    w.run(2);
    expect(w.sent().map((s) => tcpOf(s).flags & (RST | ACK | SYN))).toEqual([RST]);
    expect(dropped(w.stack, "tcp:syn-cookie-bad")).toBe(0);

    fillSynQueue(w, 80, rnd);
    expect(listener.synQueue.size).toBe(SYN_BACKLOG);
    expect(w.sent().filter((s) => tcpOf(s).syn).length).toBe(SYN_BACKLOG);
    const held = w.stack.tcpLayer.connections().length;
    expect(held).toBe(SYN_BACKLOG);

    const peerIsn = 0xfffffff0; // wraps while the connection runs
    w.inject(tcpPacket("10.0.0.1", US4, {
      srcPort: 40_000, dstPort: 80, seqNumber: peerIsn, ackNumber: 0, flags: SYN, window: 65_535,
      options: { mss: 1460, windowScale: 5, sackPermitted: true, tsVal: 5000, tsEcr: 0 },
    }));
    w.run(2);
    const synAcks = w.sent().map(tcpOf);
    expect(synAcks.length).toBe(1);
    const sa = synAcks[0]!;
    expect(sa.flags).toBe(SYN | ACK);
    expect(sa.dstPort).toBe(40_000);
    expect(sa.ackNumber).toBe((peerIsn + 1) >>> 0);
    expect(sa.mss).toBe(1460);
    expect(sa.windowScale).toBe(7);
    expect(sa.sackPermitted).toBe(true);
    expect(sa.hasTimestamps).toBe(true);
    expect(sa.tsEcr).toBe(5000);
    expect(decodeTsOptions(sa.tsVal)).toEqual({ windowScale: 5, sackPermitted: true });
    // nothing was kept for it
    expect(counted(w.stack, "syn-cookie-sent")).toBe(1);
    expect(listener.synQueue.size).toBe(SYN_BACKLOG);
    expect(w.stack.tcpLayer.connections().length).toBe(held);
    expect(listener.accept()).toBe(WOULD_BLOCK);

    // the ACK returns the cookie, with the first data
    const iss = sa.seqNumber;
    const hello = patternSlice(0, 100, 1);
    w.inject(tcpPacket("10.0.0.1", US4, {
      srcPort: 40_000, dstPort: 80, seqNumber: (peerIsn + 1) >>> 0, ackNumber: (iss + 1) >>> 0, flags: ACK | PSH, window: 2000,
      options: { tsVal: 5001, tsEcr: sa.tsVal },
    }, hello));
    w.run(2);
    expect(counted(w.stack, "syn-cookie-ok")).toBe(1);
    const r = listener.accept();
    if (r === WOULD_BLOCK) throw new Error("the cookie ACK made no connection");
    const [server, peer] = r;
    expect(peer.toString()).toBe("10.0.0.1:40000");
    expect(server.conn.state).toBe("ESTABLISHED");
    expect(server.conn.mss).toBe(1460);
    const buf = new Uint8Array(1000);
    expect(server.read(buf)).toBe(100);
    expect(Buffer.compare(buf.subarray(0, 100), hello)).toBe(0);
    const ack1 = w.sent().map(tcpOf);
    expect(ack1.length).toBe(1);
    expect(ack1[0]!.ackNumber).toBe((peerIsn + 101) >>> 0);
    // its TSval continues the SYN-ACK's (never backwards: PAWS at the peer)
    expect(ack1[0]!.hasTimestamps).toBe(true);
    expect((ack1[0]!.tsVal - sa.tsVal) >>> 0).toBeLessThan(1000);
    expect(ack1[0]!.tsEcr).toBe(5001);
    // our window is scaled by the 7 we announced
    expect(ack1[0]!.window).toBe(Math.floor((server.conn.rcvBuf.capacity - 100) / 128));

    // the peer's window scale (5) is used: its window is 2000 << 5
    expect(server.conn.sndWnd).toBe(64_000);
    expect(server.write(patternSlice(0, 100_000, 2))).toBeGreaterThan(64_000);
    w.run(2);
    const data = w.sent().map(tcpOf);
    expect(data[0]!.seqNumber).toBe((iss + 1) >>> 0);
    // an initial window of full-sized segments (the MSS less the timestamps option)
    expect(data.length).toBe(10);
    for (const t of data) expect(t.payload.length).toBe(1460 - 12);

    // SACK is on: out-of-order data draws an ACK with a SACK block
    w.inject(tcpPacket("10.0.0.1", US4, {
      srcPort: 40_000, dstPort: 80, seqNumber: (peerIsn + 301) >>> 0, ackNumber: (iss + 1) >>> 0, flags: ACK, window: 2000,
      options: { tsVal: 5002, tsEcr: sa.tsVal },
    }, patternSlice(300, 50, 1)));
    w.run(2);
    const dup = w.sent().map(tcpOf).filter((t) => t.payload.length === 0);
    expect(dup.length).toBe(1);
    expect(dup[0]!.ackNumber).toBe((peerIsn + 101) >>> 0);
    expect(dup[0]!.sackCount).toBe(1);
    expect([dup[0]!.sackLeft(0), dup[0]!.sackRight(0)]).toEqual([(peerIsn + 301) >>> 0, (peerIsn + 351) >>> 0]);
  });

  it("a SYN without timestamps gets a cookie SYN-ACK with only the MSS (from the table); the connection runs without window scale and SACK (v6)", () => {
    const w = wireWorld({ link: { delayMs: 1 } });
    const listener = w.stack.tcpBind(`[${US6}]:443`);
    const rnd = new Random(2, "flood");
    for (let i = 0; i < SYN_BACKLOG; i++) {
      w.inject(tcpPacket(`fd00::${(3 + i).toString(16)}`, US6, { srcPort: 1024 + rnd.int(60_000), dstPort: 443, seqNumber: rnd.u32(), ackNumber: 0, flags: SYN, window: 1000 }));
    }
    w.run(2);
    expect(listener.synQueue.size).toBe(SYN_BACKLOG);
    w.sent();

    w.inject(tcpPacket("fd00::1", US6, {
      srcPort: 41_000, dstPort: 443, seqNumber: 1000, ackNumber: 0, flags: SYN, window: 30_000,
      options: { mss: 1430, windowScale: 8, sackPermitted: true },
    }));
    w.run(2);
    const [sa] = w.sent().map(tcpOf);
    expect(sa!.flags).toBe(SYN | ACK);
    expect(sa!.mss).toBe(1400); // the largest table entry not above 1430
    expect(sa!.windowScale).toBe(-1);
    expect(sa!.sackPermitted).toBe(false);
    expect(sa!.hasTimestamps).toBe(false);

    w.inject(tcpPacket("fd00::1", US6, { srcPort: 41_000, dstPort: 443, seqNumber: 1001, ackNumber: (sa!.seqNumber + 1) >>> 0, flags: ACK, window: 30_000 }));
    w.run(2);
    const r = listener.accept();
    if (r === WOULD_BLOCK) throw new Error("the cookie ACK made no connection");
    const server = r[0];
    expect(server.conn.mss).toBe(1400);
    // out-of-order data: a duplicate ACK without SACK blocks nor timestamps, window unscaled
    w.inject(tcpPacket("fd00::1", US6, { srcPort: 41_000, dstPort: 443, seqNumber: 1101, ackNumber: (sa!.seqNumber + 1) >>> 0, flags: ACK, window: 30_000 }, patternSlice(0, 10, 3)));
    w.run(2);
    const [dup] = w.sent().map(tcpOf);
    expect(dup!.ackNumber).toBe(1001);
    expect(dup!.sackCount).toBe(0);
    expect(dup!.hasTimestamps).toBe(false);
    expect(dup!.window).toBe(Math.min(server.conn.receiveWindow(), 0xffff));
    // the peer's window is taken unscaled
    expect(server.conn.sndWnd).toBe(30_000);
    server.write(patternSlice(0, 100_000, 4));
    w.run(2);
    const data = w.sent().map(tcpOf);
    expect(data.length).toBe(10);
    for (const t of data) expect(t.payload.length).toBe(1400);
  });

  it("forged, misdirected and expired cookies get a RST and make no connection", () => {
    const w = wireWorld({ link: { delayMs: 1 } });
    const listener = w.stack.tcpBind(`${US4}:80`);
    const rnd = new Random(3, "flood");
    fillSynQueue(w, 80, rnd);
    w.sent();
    const syn = (port: number, seq: number): Uint8Array =>
      tcpPacket("10.0.0.1", US4, { srcPort: port, dstPort: 80, seqNumber: seq, ackNumber: 0, flags: SYN, window: 1000, options: { mss: 1460 } });
    w.inject(syn(40_000, 7777));
    w.run(2);
    const [sa] = w.sent().map(tcpOf);
    const cookieAck = (port: number, seq: number, ack: number): Uint8Array =>
      tcpPacket("10.0.0.1", US4, { srcPort: port, dstPort: 80, seqNumber: seq, ackNumber: ack, flags: ACK, window: 1000 });
    const held = w.stack.tcpLayer.connections().length;
    const forged = [
      cookieAck(40_000, 7778, (sa!.seqNumber + 2) >>> 0), // another ISN
      cookieAck(40_000, 7779, (sa!.seqNumber + 1) >>> 0), // another peer ISN
      cookieAck(40_001, 7778, (sa!.seqNumber + 1) >>> 0), // another port
    ];
    for (let i = 0; i < 97; i++) forged.push(cookieAck(2000 + i, rnd.u32(), rnd.u32()));
    for (const p of forged) w.inject(p);
    w.run(2);
    const rsts = w.sent().map(tcpOf);
    expect(rsts.length).toBe(forged.length);
    for (const t of rsts) expect(t.flags).toBe(RST);
    expect(rsts[0]!.seqNumber).toBe((sa!.seqNumber + 2) >>> 0);
    expect(dropped(w.stack, "tcp:syn-cookie-bad")).toBe(forged.length);
    expect(counted(w.stack, "syn-cookie-ok")).toBe(0);
    expect(w.stack.tcpLayer.connections().length).toBe(held);
    expect(listener.accept()).toBe(WOULD_BLOCK);

    // expiry: the SYN queue fills again and cookies are still being sent, but this one is too old
    w.run(3 * COOKIE_TICK_MS + 10);
    fillSynQueue(w, 80, rnd);
    w.inject(syn(40_002, 1));
    w.run(2);
    expect(counted(w.stack, "syn-cookie-sent")).toBe(2);
    w.sent();
    w.inject(cookieAck(40_000, 7778, (sa!.seqNumber + 1) >>> 0));
    w.run(2);
    expect(w.sent().map((s) => tcpOf(s).flags)).toEqual([RST]);
    expect(dropped(w.stack, "tcp:syn-cookie-bad")).toBe(forged.length + 1);
    expect(listener.accept()).toBe(WOULD_BLOCK);
  });
});

describe("SYN flood", () => {
  it("20,000 spoofed SYNs at 100,000/s: the SYN queue and the connections stay bounded, memory stays flat, and every real client connects and exchanges data", () => {
    const FLOOD = 20_000;
    const PER_MS = 100;
    const CLIENTS = 20;
    const small = { tcp: { sendBuffer: 16_384, recvBuffer: 16_384 } };
    const w = pair({ link: { delayMs: 2 }, a: small, b: small });
    const gc = gcFunction();
    try {
      const listener = w.b.tcpBind(`${US4}:80`);
      const rnd = new Random(4, "flood");
      interface Client {
        stream: VirtualTcpStream;
        sent: number;
        got: number;
        server: VirtualTcpStream | null;
        request: number;
        reply: number;
      }
      const REQUEST = 3000;
      const REPLY = 5000;
      const clients: Client[] = [];
      const byPeer = new Map<string, Client>();
      const buf = new Uint8Array(65_536);
      const pump = (): void => {
        for (let r = listener.accept(); r !== WOULD_BLOCK; r = listener.accept()) {
          const c = byPeer.get(r[1].toString());
          if (c === undefined) throw new Error(`accepted an unknown peer ${r[1].toString()}`);
          if (c.server !== null) throw new Error(`accepted ${r[1].toString()} twice`);
          c.server = r[0];
        }
        for (const [i, c] of clients.entries()) {
          if (c.sent < REQUEST && c.stream.conn.state === "ESTABLISHED") {
            const n = c.stream.write(patternSlice(c.sent, REQUEST - c.sent, i));
            if (n !== WOULD_BLOCK) c.sent += n;
          }
          if (c.server !== null && c.request < REQUEST) {
            const n = c.server.read(buf);
            if (n !== WOULD_BLOCK) {
              for (let k = 0; k < n; k++) if (buf[k] !== patternByte(c.request + k, i)) throw new Error(`client ${i}: request byte ${c.request + k} differs`);
              c.request += n;
              if (c.request === REQUEST) expect(c.server.write(patternSlice(0, REPLY, 100 + i))).toBe(REPLY);
            }
          }
          if (c.got < REPLY) {
            const n = c.stream.read(buf);
            if (n !== WOULD_BLOCK) {
              for (let k = 0; k < n; k++) if (buf[k] !== patternByte(c.got + k, 100 + i)) throw new Error(`client ${i}: reply byte ${c.got + k} differs`);
              c.got += n;
            }
          }
        }
      };
      let maxSynQueue = 0;
      let maxConns = 0;
      const watch = (): void => {
        maxSynQueue = Math.max(maxSynQueue, listener.synQueue.size);
        maxConns = Math.max(maxConns, w.b.tcpLayer.connections().length);
      };
      let injected = 0;
      let memoryAt5k = 0;
      for (let ms = 0; injected < FLOOD; ms++) {
        for (let i = 0; i < PER_MS; i++) w.link.a.transmit(spoofedSyn(rnd, 80, injected++ % 2 === 0));
        if (ms % 10 === 5 && clients.length < CLIENTS) {
          const stream = w.a.tcpConnect(`${US4}:80`);
          const c: Client = { stream, sent: 0, got: 0, server: null, request: 0, reply: 0 };
          clients.push(c);
          byPeer.set(stream.localAddr().toString(), c);
        }
        w.run(1);
        watch();
        pump();
        if (injected === 5000) memoryAt5k = memory(gc);
      }
      const memoryGrowth = memory(gc) - memoryAt5k;
      expect(clients.length).toBe(CLIENTS);
      for (let i = 0; i < 10_000 && clients.some((c) => c.got < REPLY); i++) {
        w.run(1);
        watch();
        pump();
      }
      const report = clients.map((c, i) => `#${i} ${c.stream.conn.state} sent ${c.sent} request ${c.request} reply ${c.got} accepted ${c.server !== null}`).join("; ");
      for (const c of clients) {
        expect(c.server, report).not.toBeNull();
        expect(c.request, report).toBe(REQUEST);
        expect(c.got, report).toBe(REPLY);
      }
      const { dropped: drops, tcp: events } = w.b.stats();
      const msg = `${JSON.stringify(drops)} ${JSON.stringify(events)}; max SYN queue ${maxSynQueue}, max connections ${maxConns}, memory growth ${memoryGrowth} bytes (gc ${gc !== null})`;
      expect(maxSynQueue, msg).toBe(SYN_BACKLOG);
      expect(maxConns, msg).toBeLessThanOrEqual(SYN_BACKLOG + CLIENTS);
      // the flood was answered statelessly, and the real clients came in through cookies
      expect(events["syn-cookie-sent"], msg).toBeGreaterThanOrEqual(FLOOD - SYN_BACKLOG);
      expect(events["syn-cookie-ok"], msg).toBe(CLIENTS);
      expect(drops["tcp:syn-cookie-bad"], msg).toBeUndefined();
      // 15,000 SYNs after the 5,000th left no trace: a connection each would hold its 32 KiB of buffers (480 MB)
      expect(memoryGrowth, msg).toBeLessThan(16 * 1024 * 1024);

      // the half-open connections of the spoofed SYNs time out (SYN-ACK retries), the real ones stay
      w.run(200_000);
      expect(listener.synQueue.size).toBe(0);
      expect(w.b.tcpLayer.connections().length).toBe(CLIENTS);
      for (const c of clients) expect(c.server!.conn.state).toBe("ESTABLISHED");
    } finally {
      w.a.close();
      w.b.close();
    }
  }, 60_000);

  it("accept queue full: the handshake's last ACK is dropped, the client retransmits and gets in once accept() makes room", () => {
    const w = pair({ link: { delayMs: 5 } });
    try {
      const BACKLOG = 3;
      const CLIENTS = 8;
      const listener = w.b.tcpLayer.bind(SocketAddr.parse(`${US4}:80`), BACKLOG);
      const clients = Array.from({ length: CLIENTS }, () => w.a.tcpConnect(`${US4}:80`));
      w.run(100);
      // every client believes it is connected; only BACKLOG are queued for accept, the rest stay half-open at the server
      for (const c of clients) expect(c.conn.state).toBe("ESTABLISHED");
      expect(listener.synQueue.size).toBe(CLIENTS - BACKLOG);
      expect(w.b.stats().dropped["tcp:accept-queue-full"]).toBe(CLIENTS - BACKLOG);
      // a SYN arriving while the accept queue is full is dropped: the client stays in SYN-SENT and retries
      const late = w.a.tcpConnect(`${US4}:80`);
      w.run(100);
      expect(late.conn.state).toBe("SYN-SENT");
      expect(w.b.stats().dropped["tcp:accept-queue-full"]).toBe(CLIENTS - BACKLOG + 1);
      expect(listener.synQueue.size).toBe(CLIENTS - BACKLOG);
      clients.push(late);
      // each client sends its request; the ones not accepted yet are dropped and retransmitted later
      const written = new Set<VirtualTcpStream>();
      const accepted = new Map<string, VirtualTcpStream>();
      const buf = new Uint8Array(1000);
      for (let round = 0; round < 600 && accepted.size < clients.length; round++) {
        for (const [i, c] of clients.entries()) {
          if (written.has(c) || c.conn.state !== "ESTABLISHED") continue;
          expect(c.write(patternSlice(0, 500, i))).toBe(500);
          written.add(c);
        }
        // the application accepts one connection every 100 ms
        const r = listener.accept();
        if (r !== WOULD_BLOCK) accepted.set(r[1].toString(), r[0]);
        w.run(100);
      }
      expect(accepted.size).toBe(CLIENTS + 1);
      expect(w.b.stats().dropped["tcp:accept-queue-full"]).toBeGreaterThan(CLIENTS - BACKLOG + 1);
      for (const [i, c] of clients.entries()) {
        const s = accepted.get(c.localAddr().toString());
        expect(s, `client ${i} not accepted`).toBeDefined();
        let got = 0;
        for (let k = 0; k < 100 && got < 500; k++) {
          const n = s!.read(buf.subarray(got));
          if (n === WOULD_BLOCK) w.run(100);
          else got += n;
        }
        expect(Buffer.compare(buf.subarray(0, got), patternSlice(0, 500, i)), `client ${i}`).toBe(0);
        expect(s!.write(patternSlice(0, 300, 50 + i))).toBe(300);
      }
      w.run(100);
      for (const [i, c] of clients.entries()) {
        const n = c.read(buf);
        expect(n, `client ${i}`).toBe(300);
        expect(Buffer.compare(buf.subarray(0, 300), patternSlice(0, 300, 50 + i))).toBe(0);
      }
      expect(w.b.tcpLayer.connections().length).toBe(CLIENTS + 1);
    } finally {
      w.a.close();
      w.b.close();
    }
  });
});
