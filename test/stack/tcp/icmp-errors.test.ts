/**
 * ICMP errors about TCP segments (RFC 9293 §3.9.1.1, RFC 5461), taken as
 * Linux's tcp_v4_err / tcp_v6_err take them: a connect in progress fails at
 * once with the error's errno; an established connection keeps it as a soft
 * error that only surfaces if the connection later times out; an error
 * quoting a sequence number outside [SND.UNA, SND.NXT] is ignored (RFC 5927
 * §4.1); "fragmentation needed" and "packet too big" are about the path
 * MTU, not the socket: the connection cuts its segments to the MTU the
 * router gave and resends what was in flight at once (RFC 1191, RFC 8201;
 * Linux tcp_mtu_reduced), and new connections there start small.
 */
import { describe, expect, it } from "vitest";
import type { IoError } from "../../../src/error.js";
import type { VirtualTcpStream } from "../../../src/stack/tcp/socket.js";
import {
  IpProtocol,
  Icmpv4Type,
  Icmpv4Unreachable,
  Icmpv6Type,
  Icmpv6Unreachable,
  TcpFlags,
  TcpPacket,
  emitIcmpv4Error,
  emitIcmpv6Error,
  emitTcp,
} from "../../../src/stack/wire/index.js";
import { seqAdd } from "../../../src/stack/tcp/seq.js";
import { PEER4, PEER6, US4, US6, ip, ipv4, ipv6, wireWorld, type Sent, type WireWorld } from "../helpers.js";

/** The ICMP error `type`/`code` (with `rest`: the MTU of a frag-needed / too-big) from the peer's side, quoting the packet `about` the stack sent. */
function icmpError(about: Sent, type: number, code: number, seqOverride?: number, rest = 0): Uint8Array {
  const quoted = about.raw.slice();
  if (seqOverride !== undefined) {
    const off = quoted.length - about.l4.length + 4;
    new DataView(quoted.buffer).setUint32(off, seqOverride >>> 0);
  }
  const buf = new Uint8Array(1500);
  if (about.version === 4) {
    const n = emitIcmpv4Error(buf, { type, code, rest }, quoted);
    return ipv4({ src: PEER4, dst: US4, protocol: IpProtocol.Icmp }, buf.subarray(0, n));
  }
  const n = emitIcmpv6Error(buf, { type, code, rest }, quoted, ip(PEER6), ip(US6));
  return ipv6(PEER6, US6, IpProtocol.Icmpv6, buf.subarray(0, n));
}

function tcpOf(s: Sent): TcpPacket {
  const t = new TcpPacket(s.l4);
  if (!t.check(ip(s.src), ip(s.dst)).ok) throw new Error("bad TCP from the stack");
  return t;
}

/** The stack connects to the hand-driven peer; returns the stream and its SYN as seen on the wire. */
function connecting(w: WireWorld, family: 4 | 6): { s: VirtualTcpStream; syn: Sent } {
  const s = w.stack.tcpConnect(family === 4 ? `${PEER4}:80` : `[${PEER6}]:80`) as VirtualTcpStream;
  w.run(5);
  const syn = w.sent().find((p) => p.protocol === IpProtocol.Tcp)!;
  expect(tcpOf(syn).syn).toBe(true);
  return { s, syn };
}

/** Completes the handshake by hand (MSS 1460 / 1440 offered) and has the stack send `data`; returns the stream and its first data segment. */
function established(w: WireWorld, data = 100, family: 4 | 6 = 4): { s: VirtualTcpStream; segment: Sent; sent: Sent[] } {
  const { s, syn } = connecting(w, family);
  const t = tcpOf(syn);
  const synAck = new Uint8Array(24);
  const [peer, us] = family === 4 ? [PEER4, US4] : [PEER6, US6];
  const h = { srcPort: 80, dstPort: t.srcPort, seqNumber: 9000, ackNumber: seqAdd(t.seqNumber, 1), flags: TcpFlags.SYN | TcpFlags.ACK, window: 65535, options: { mss: family === 4 ? 1460 : 1440 } };
  const n = emitTcp(synAck, h, 0, ip(peer), ip(us));
  w.inject(family === 4 ? ipv4({ src: PEER4, dst: US4, protocol: IpProtocol.Tcp }, synAck.subarray(0, n)) : ipv6(PEER6, US6, IpProtocol.Tcp, synAck.subarray(0, n)));
  w.run(5);
  expect(s.conn.state).toBe("ESTABLISHED");
  w.sent();
  expect(s.write(new Uint8Array(data))).toBe(data);
  w.run(5);
  const sent = w.sent().filter((p) => p.protocol === IpProtocol.Tcp && tcpOf(p).payload.length > 0);
  return { s, segment: sent[0]!, sent };
}

describe("ICMP errors for TCP connections", () => {
  const cases: Array<[string, 4 | 6, number, number, string]> = [
    ["v4 host unreachable", 4, Icmpv4Type.DestinationUnreachable, Icmpv4Unreachable.Host, "EHOSTUNREACH"],
    ["v4 network unreachable", 4, Icmpv4Type.DestinationUnreachable, Icmpv4Unreachable.Net, "ENETUNREACH"],
    ["v4 port unreachable", 4, Icmpv4Type.DestinationUnreachable, Icmpv4Unreachable.Port, "ECONNREFUSED"],
    ["v4 time exceeded", 4, Icmpv4Type.TimeExceeded, 0, "EHOSTUNREACH"],
    ["v6 no route", 6, Icmpv6Type.DestinationUnreachable, Icmpv6Unreachable.NoRoute, "ENETUNREACH"],
    ["v6 address unreachable", 6, Icmpv6Type.DestinationUnreachable, Icmpv6Unreachable.Address, "EHOSTUNREACH"],
    ["v6 port unreachable", 6, Icmpv6Type.DestinationUnreachable, Icmpv6Unreachable.Port, "ECONNREFUSED"],
    ["v6 administratively prohibited", 6, Icmpv6Type.DestinationUnreachable, Icmpv6Unreachable.AdminProhibited, "EACCES"],
  ];
  for (const [name, family, type, code, errno] of cases) {
    it(`${name} during connect fails it with ${errno}`, () => {
      const w = wireWorld();
      const { s, syn } = connecting(w, family);
      w.inject(icmpError(syn, type, code));
      w.run(5);
      expect(s.takeError()?.code).toBe(errno);
      expect(s.conn.state).toBe("CLOSED");
    });
  }

  it("an error quoting a sequence number we did not send is ignored", () => {
    const w = wireWorld();
    const { s, syn } = connecting(w, 4);
    w.inject(icmpError(syn, Icmpv4Type.DestinationUnreachable, Icmpv4Unreachable.Host, tcpOf(syn).seqNumber + 100_000));
    w.run(5);
    expect(s.takeError()).toBeNull();
    expect(s.conn.state).toBe("SYN-SENT");
  });

  it("fragmentation needed does not fail a connect", () => {
    const w = wireWorld();
    const { s, syn } = connecting(w, 4);
    w.inject(icmpError(syn, Icmpv4Type.DestinationUnreachable, Icmpv4Unreachable.FragmentationNeeded));
    w.run(5);
    expect(s.takeError()).toBeNull();
    expect(s.conn.state).toBe("SYN-SENT");
  });

  it("on an established connection the error is soft: nothing now, and it replaces ETIMEDOUT when the connection times out", () => {
    const w = wireWorld({ stack: { tcp: { retries: 3 } } });
    const { s, segment } = established(w);
    w.inject(icmpError(segment, Icmpv4Type.DestinationUnreachable, Icmpv4Unreachable.Host));
    w.run(5);
    expect(s.takeError()).toBeNull();
    expect(s.conn.state).toBe("ESTABLISHED");
    // the peer never acknowledges: after the retries the connection fails with the ICMP error
    let err: IoError | null = null;
    for (let i = 0; i < 100 && err === null; i++) {
      w.run(1000);
      w.sent();
      err = s.takeError();
    }
    expect(err?.code).toBe("EHOSTUNREACH");
  });

  it("an acknowledgment after the soft error clears it: a later timeout says ETIMEDOUT", () => {
    const w = wireWorld({ stack: { tcp: { retries: 3 } } });
    const { s, segment } = established(w);
    w.inject(icmpError(segment, Icmpv4Type.DestinationUnreachable, Icmpv4Unreachable.Host));
    w.run(5);
    const t = tcpOf(segment);
    const ack = new Uint8Array(20);
    emitTcp(ack, { srcPort: 80, dstPort: t.srcPort, seqNumber: 9001, ackNumber: seqAdd(t.seqNumber, t.payload.length), flags: TcpFlags.ACK, window: 65535 }, 0, ip(PEER4), ip(US4));
    w.inject(ipv4({ src: PEER4, dst: US4, protocol: IpProtocol.Tcp }, ack));
    w.run(5);
    expect(s.write(new Uint8Array(10))).toBe(10);
    let err: IoError | null = null;
    for (let i = 0; i < 100 && err === null; i++) {
      w.run(1000);
      w.sent();
      err = s.takeError();
    }
    expect(err?.code).toBe("ETIMEDOUT");
  });
});

describe("path MTU discovery (RFC 1191, RFC 8201)", () => {
  it("IPv4: TCP segments carry DF; Fragmentation Needed (MTU 1200) cuts the segments to 1200 bytes and resends what was in flight at once", () => {
    const w = wireWorld();
    const { s, segment, sent } = established(w, 8000);
    expect(sent.map((p) => p.raw.length)).toEqual([1500, 1500, 1500, 1500, 1500, 40 + 8000 - 5 * 1460]);
    for (const p of sent) expect(p.raw[6]! & 0x40).toBe(0x40); // DF
    const retransmitsBefore = s.conn.stats().retransmits;
    w.inject(icmpError(segment, Icmpv4Type.DestinationUnreachable, Icmpv4Unreachable.FragmentationNeeded, undefined, 1200));
    w.run(1); // well before any RTO
    const again = w.sent().filter((p) => p.protocol === IpProtocol.Tcp && tcpOf(p).payload.length > 0);
    expect(again.length).toBeGreaterThan(0);
    expect(tcpOf(again[0]!).seqNumber).toBe(tcpOf(segment).seqNumber);
    expect(Math.max(...again.map((p) => p.raw.length))).toBe(1200);
    expect(again.reduce((n, p) => n + tcpOf(p).payload.length, 0)).toBeGreaterThanOrEqual(8000);
    expect(s.conn.stats()).toMatchObject({ mss: 1160, retransmits: retransmitsBefore + 1 });
    expect(s.takeError()).toBeNull();
    expect(s.conn.state).toBe("ESTABLISHED");
  });

  it("IPv6: Packet Too Big (MTU 1300) cuts the segments to 1300 bytes; below 1280 it is taken as 1280", () => {
    const w = wireWorld();
    const { s, segment } = established(w, 4000, 6);
    w.inject(icmpError(segment, Icmpv6Type.PacketTooBig, 0, undefined, 1300));
    w.run(1);
    const again = w.sent().filter((p) => p.protocol === IpProtocol.Tcp && tcpOf(p).payload.length > 0);
    expect(Math.max(...again.map((p) => p.raw.length))).toBe(1300);
    expect(s.conn.stats().mss).toBe(1240);
    w.inject(icmpError(again[0]!, Icmpv6Type.PacketTooBig, 0, undefined, 600));
    w.run(1);
    expect(s.conn.stats().mss).toBe(1220);
  });

  it("ignores an MTU no smaller than the path's, one quoting a sequence number we did not send, and an MTU of 0; IPv4 goes no lower than 552", () => {
    const w = wireWorld();
    const { s, segment } = established(w, 3000);
    const FN = [Icmpv4Type.DestinationUnreachable, Icmpv4Unreachable.FragmentationNeeded] as const;
    w.inject(icmpError(segment, ...FN, undefined, 1500), icmpError(segment, ...FN, undefined, 9000), icmpError(segment, ...FN, undefined, 0));
    w.inject(icmpError(segment, ...FN, tcpOf(segment).seqNumber + 100_000, 1000));
    w.run(1);
    expect(s.conn.stats().mss).toBe(1460);
    expect(w.sent().filter((p) => p.protocol === IpProtocol.Tcp && tcpOf(p).payload.length > 0)).toEqual([]);
    w.inject(icmpError(segment, ...FN, undefined, 300));
    w.run(1);
    expect(s.conn.stats().mss).toBe(552 - 40);
  });

  it("a new connection to the same host starts with the learned MTU; after 10 minutes it tries the device's MTU again", () => {
    const w = wireWorld();
    const { segment } = established(w, 3000);
    w.inject(icmpError(segment, Icmpv4Type.DestinationUnreachable, Icmpv4Unreachable.FragmentationNeeded, undefined, 1000));
    w.run(1);
    w.sent();
    const { syn } = connecting(w, 4);
    expect(tcpOf(syn).mss).toBe(960);
    w.run(600_000);
    w.sent();
    const later = connecting(w, 4);
    expect(tcpOf(later.syn).mss).toBe(1460);
  });

  it("UDP: a datagram that fits carries DF; after Fragmentation Needed a larger one is fragmented to the path MTU, without DF", () => {
    const w = wireWorld();
    const u = w.stack.udpBind(`${US4}:5000`);
    u.sendTo(new Uint8Array(1400), `${PEER4}:9`);
    w.run(1);
    const [first] = w.sent();
    expect([first!.raw.length, first!.raw[6]! & 0x40]).toEqual([1428, 0x40]);
    w.inject(icmpError(first!, Icmpv4Type.DestinationUnreachable, Icmpv4Unreachable.FragmentationNeeded, undefined, 1000));
    w.run(1);
    u.sendTo(new Uint8Array(1400), `${PEER4}:9`);
    w.run(1);
    const frags = w.sent();
    expect(frags.map((p) => [p.raw.length, p.raw[6]! & 0x40])).toEqual([
      [996, 0],
      [452, 0],
    ]);
  });
});
