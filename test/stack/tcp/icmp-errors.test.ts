/**
 * ICMP errors about TCP segments (RFC 9293 §3.9.1.1, RFC 5461), taken as
 * Linux's tcp_v4_err / tcp_v6_err take them: a connect in progress fails at
 * once with the error's errno; an established connection keeps it as a soft
 * error that only surfaces if the connection later times out; an error
 * quoting a sequence number outside [SND.UNA, SND.NXT] is ignored (RFC 5927
 * §4.1); "fragmentation needed" is about the path MTU, not the socket.
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

/** The ICMP error `type`/`code` from the peer's side, quoting the packet `about` the stack sent. */
function icmpError(about: Sent, type: number, code: number, seqOverride?: number): Uint8Array {
  const quoted = about.raw.slice();
  if (seqOverride !== undefined) {
    const off = quoted.length - about.l4.length + 4;
    new DataView(quoted.buffer).setUint32(off, seqOverride >>> 0);
  }
  const buf = new Uint8Array(1500);
  if (about.version === 4) {
    const n = emitIcmpv4Error(buf, { type, code }, quoted);
    return ipv4({ src: PEER4, dst: US4, protocol: IpProtocol.Icmp }, buf.subarray(0, n));
  }
  const n = emitIcmpv6Error(buf, { type, code }, quoted, ip(PEER6), ip(US6));
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

/** Completes the handshake by hand and has the stack send `data`; returns the stream and the data segment. */
function established(w: WireWorld, data = 100): { s: VirtualTcpStream; segment: Sent } {
  const { s, syn } = connecting(w, 4);
  const t = tcpOf(syn);
  const synAck = new Uint8Array(20);
  emitTcp(synAck, { srcPort: 80, dstPort: t.srcPort, seqNumber: 9000, ackNumber: seqAdd(t.seqNumber, 1), flags: TcpFlags.SYN | TcpFlags.ACK, window: 65535 }, 0, ip(PEER4), ip(US4));
  w.inject(ipv4({ src: PEER4, dst: US4, protocol: IpProtocol.Tcp }, synAck));
  w.run(5);
  expect(s.conn.state).toBe("ESTABLISHED");
  w.sent();
  expect(s.write(new Uint8Array(data))).toBe(data);
  w.run(5);
  const segment = w.sent().find((p) => p.protocol === IpProtocol.Tcp && tcpOf(p).payload.length > 0)!;
  return { s, segment };
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
