/**
 * ICMP of the userspace stack, seen from the wire: the test plays the peer
 * on one end of a Link, injects hand-built packets and reads what the Stack
 * sends back. Echo replies (v4, v6), errors about UDP to a closed port and
 * unknown protocols, the cases where RFC 1122 / RFC 4443 forbid an error,
 * the global rate limit (1000/s, burst 50, as Linux), reassembly time
 * exceeded, and ICMP errors turned into a connected socket's errno.
 */
import { describe, expect, it } from "vitest";
import { IoError, WOULD_BLOCK } from "../../src/index.js";
import {
  ICMP_HEADER,
  IPV4_MIN_HEADER,
  IPV6_HEADER,
  IpProtocol,
  Icmpv4TimeExceeded,
  Icmpv4Type,
  Icmpv4Unreachable,
  Icmpv6ParameterProblem,
  Icmpv6TimeExceeded,
  Icmpv6Type,
  Icmpv6Unreachable,
  emitIcmpv4Error,
  emitIcmpv6Error,
} from "../../src/stack/wire/index.js";
import {
  PEER4,
  PEER6,
  US4,
  US6,
  checksumOk,
  echoRequest,
  fragment6,
  fragments4,
  icmp4,
  icmp6,
  ip,
  ipv4,
  ipv6,
  pattern,
  udp,
  udpPacket,
  wireWorld,
  type Sent,
} from "./helpers.js";

/** `n` copies of a UDP datagram to a closed port, each from another source port. */
function closedPortBurst(n: number, from = 40000): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => udpPacket(PEER4, US4, from + i, 9, pattern(10, i)));
}

/** An ICMP error message about `invoking` (v4 or v6 by the addresses), as a whole packet from the peer. */
function icmpError(src: string, dst: string, type: number, code: number, invoking: Uint8Array, rest = 0): Uint8Array {
  const buf = new Uint8Array(1280);
  if (src.includes(":")) {
    const n = emitIcmpv6Error(buf, { type, code, rest }, invoking, ip(src), ip(dst));
    return ipv6(src, dst, IpProtocol.Icmpv6, buf.subarray(0, n));
  }
  const n = emitIcmpv4Error(buf, { type, code, rest }, invoking);
  return ipv4({ src, dst, protocol: IpProtocol.Icmp }, buf.subarray(0, n));
}

describe("ICMP echo", () => {
  for (const family of [4, 6] as const) {
    const [us, peer] = family === 4 ? [US4, PEER4] : [US6, PEER6];
    it(`IPv${family}: an echo request gets one reply with identifier, sequence and body intact and a valid checksum`, () => {
      const w = wireWorld();
      const body = pattern(1000, 3);
      w.inject(echoRequest(peer, us, 0x1234, 0xbeef, body));
      w.run(1);
      const sent = w.sent();
      expect(sent).toHaveLength(1);
      const s = sent[0]!;
      expect([s.src, s.dst, s.ttl]).toEqual([us, peer, 64]);
      const m = family === 4 ? icmp4(s) : icmp6(s);
      expect(m.type).toBe(family === 4 ? Icmpv4Type.EchoReply : Icmpv6Type.EchoReply);
      expect([m.code, m.identifier, m.sequence]).toEqual([0, 0x1234, 0xbeef]);
      expect(Buffer.from(m.body).equals(Buffer.from(body))).toBe(true);
      // verified independently of the wire module
      const pseudo = family === 6 ? { src: s.src, dst: s.dst, protocol: IpProtocol.Icmpv6 } : undefined;
      expect(checksumOk(s.l4, pseudo)).toBe(true);
      if (family === 4) expect(checksumOk(s.raw.subarray(0, IPV4_MIN_HEADER))).toBe(true);
      expect(w.stack.stats().icmpSent).toEqual({ "echo-reply": 1 });
    });

    it(`IPv${family}: an empty echo and a fragmented 4000-byte echo are answered whole`, () => {
      const w = wireWorld();
      w.inject(echoRequest(peer, us, 1, 1, new Uint8Array(0)));
      const big = pattern(4000, 9);
      const request = echoRequest(peer, us, 2, 2, big);
      const hl = family === 4 ? IPV4_MIN_HEADER : IPV6_HEADER;
      const message = request.subarray(hl);
      const frags =
        family === 4
          ? fragments4({ src: peer, dst: us, protocol: IpProtocol.Icmp, id: 77 }, message, 1480)
          : [0, 1232, 2464, 3696].map((off) =>
              fragment6(peer, us, IpProtocol.Icmpv6, 77, off, off + 1232 < message.length, message.subarray(off, off + 1232)),
            );
      w.inject(...frags.reverse());
      w.run(1);
      const sent = w.sent();
      const whole = sent.filter((s) => s.fragment === null);
      expect(whole).toHaveLength(1);
      const empty = family === 4 ? icmp4(whole[0]!) : icmp6(whole[0]!);
      expect([empty.sequence, empty.body.length]).toEqual([1, 0]);
      // the reply to the big one is fragmented in turn: reassemble it by offset
      const pieces = sent.filter((s) => s.fragment !== null);
      expect(pieces.length).toBeGreaterThanOrEqual(3);
      const reply = new Uint8Array(ICMP_HEADER + big.length);
      for (const p of pieces) reply.set(p.l4, p.fragment!.offset);
      expect(reply[0]).toBe(family === 4 ? Icmpv4Type.EchoReply : Icmpv6Type.EchoReply);
      expect(Buffer.from(reply.subarray(ICMP_HEADER)).equals(Buffer.from(big))).toBe(true);
      const pseudo = family === 6 ? { src: us, dst: peer, protocol: IpProtocol.Icmpv6 } : undefined;
      expect(checksumOk(reply, pseudo)).toBe(true);
    });
  }

  it("IPv4: an echo to the subnet or limited broadcast gets no reply (icmp_echo_ignore_broadcasts), and is counted", () => {
    const w = wireWorld();
    w.inject(echoRequest(PEER4, "10.0.0.255", 1, 1, pattern(8)), echoRequest(PEER4, "255.255.255.255", 1, 2, pattern(8)));
    w.inject(echoRequest(PEER4, "224.0.0.1", 1, 3, pattern(8)));
    w.run(1);
    expect(w.sent()).toEqual([]);
    expect(w.stack.stats().dropped["icmpv4:echo-to-broadcast"]).toBe(3);
  });

  it("IPv6: an echo to all-nodes ff02::1 is answered from our unicast address (Linux echo_ignore_multicast = 0)", () => {
    const w = wireWorld();
    w.inject(echoRequest(PEER6, "ff02::1", 5, 6, pattern(16)));
    w.run(1);
    const sent = w.sent();
    expect(sent).toHaveLength(1);
    expect([sent[0]!.src, sent[0]!.dst]).toEqual([US6, PEER6]);
    const m = icmp6(sent[0]!);
    expect([m.type, m.identifier, m.sequence]).toEqual([Icmpv6Type.EchoReply, 5, 6]);
  });

  it("an echo from a source we have no route to is dropped and counted, never thrown out of poll", () => {
    const w = wireWorld();
    w.inject(echoRequest("192.0.2.9", US4, 1, 1, pattern(8)), echoRequest("2001:db8::9", US6, 1, 1, pattern(8)));
    expect(() => w.run(1)).not.toThrow();
    expect(w.sent()).toEqual([]);
    expect(w.stack.stats().dropped["icmp:no-route"]).toBe(2);
  });

  it("an echo from an off-link source is answered through the default gateway", () => {
    const w = wireWorld({ stack: { routes: [{ dest: "0.0.0.0/0", via: "10.0.0.254" }, { dest: "::/0", via: "fd00::fe" }] } });
    w.inject(echoRequest("192.0.2.9", US4, 1, 1, pattern(8)), echoRequest("2001:db8::9", US6, 1, 1, pattern(8)));
    w.run(1);
    expect(w.sent().map((s) => [s.src, s.dst])).toEqual([
      [US4, "192.0.2.9"],
      [US6, "2001:db8::9"],
    ]);
  });
});

describe("ICMP errors about UDP to a closed port", () => {
  it("IPv4: port unreachable (3/3) from the datagram's destination, quoting the whole datagram", () => {
    const w = wireWorld();
    const pkt = udpPacket(PEER4, US4, 5555, 9, pattern(20));
    w.inject(pkt);
    w.run(1);
    const [s] = w.sent() as [Sent];
    expect([s.src, s.dst]).toEqual([US4, PEER4]);
    const m = icmp4(s);
    expect([m.type, m.code, m.rest]).toEqual([Icmpv4Type.DestinationUnreachable, Icmpv4Unreachable.Port, 0]);
    expect(Buffer.from(m.body).equals(Buffer.from(pkt))).toBe(true);
    expect(checksumOk(s.l4)).toBe(true);
    expect(w.stack.stats().dropped["udp:no-socket"]).toBe(1);
    expect(w.stack.stats().icmpSent["port-unreachable"]).toBe(1);
  });

  it("IPv4: the quote stops at 548 bytes, so the error stays within 576 bytes (RFC 1812 §4.3.2.3)", () => {
    const w = wireWorld();
    const pkt = udpPacket(PEER4, US4, 5555, 9, pattern(1000));
    w.inject(pkt);
    w.run(1);
    const [s] = w.sent() as [Sent];
    expect(s.raw.length).toBe(576);
    expect(Buffer.from(icmp4(s).body).equals(Buffer.from(pkt.subarray(0, 548)))).toBe(true);
  });

  it("IPv6: port unreachable (1/4), quoting as much as fits in 1280 bytes (RFC 4443 §2.4(c))", () => {
    const w = wireWorld();
    const small = udpPacket(PEER6, US6, 5555, 9, pattern(20));
    const big = udpPacket(PEER6, US6, 5556, 9, pattern(1400));
    w.inject(small, big);
    w.run(1);
    const [a, b] = w.sent() as [Sent, Sent];
    const m = icmp6(a);
    expect([a.src, a.dst]).toEqual([US6, PEER6]);
    expect([m.type, m.code, m.rest]).toEqual([Icmpv6Type.DestinationUnreachable, Icmpv6Unreachable.Port, 0]);
    expect(Buffer.from(m.body).equals(Buffer.from(small))).toBe(true);
    expect(checksumOk(a.l4, { src: a.src, dst: a.dst, protocol: IpProtocol.Icmpv6 })).toBe(true);
    expect(b.raw.length).toBe(1280);
    expect(Buffer.from(icmp6(b).body).equals(Buffer.from(big.subarray(0, 1232)))).toBe(true);
  });

  it("a datagram to a bound port gets no error (and is delivered)", () => {
    const w = wireWorld();
    const sock = w.stack.udpBind(`${US4}:9`);
    w.inject(udpPacket(PEER4, US4, 5555, 9, pattern(20)));
    w.run(1);
    expect(w.sent()).toEqual([]);
    const buf = new Uint8Array(64);
    const r = sock.recvFrom(buf);
    expect(r).not.toBe(WOULD_BLOCK);
    if (r === WOULD_BLOCK) return;
    expect([r[0], r[1].toString()]).toEqual([20, `${PEER4}:5555`]);
    sock.close();
  });

  it("no error for a broadcast or multicast datagram (RFC 1122 §3.2.2), only the drop is counted", () => {
    const w = wireWorld();
    w.inject(
      udpPacket(PEER4, "10.0.0.255", 5555, 9, pattern(8)),
      udpPacket(PEER4, "255.255.255.255", 5555, 9, pattern(8)),
      udpPacket(PEER4, "239.1.2.3", 5555, 9, pattern(8)),
      udpPacket(PEER6, "ff02::1", 5555, 9, pattern(8)),
    );
    w.run(1);
    expect(w.sent()).toEqual([]);
    expect(w.stack.stats().dropped["udp:no-socket"]).toBe(4);
  });

  it("no error in reply to a datagram whose source is unspecified (IPv6 ::)", () => {
    const w = wireWorld();
    w.inject(udpPacket("::", US6, 5555, 9, pattern(8)));
    w.run(1);
    expect(w.sent()).toEqual([]);
    expect(w.stack.stats().dropped["udp:no-socket"]).toBe(1);
  });

  it("no error towards a source we have no route to: counted, never thrown out of poll", () => {
    const w = wireWorld();
    w.inject(udpPacket("192.0.2.7", US4, 5555, 9, pattern(8)), udpPacket("2001:db8::7", US6, 5555, 9, pattern(8)));
    expect(() => w.run(1)).not.toThrow();
    expect(w.sent()).toEqual([]);
    expect(w.stack.stats().dropped["icmp:no-route"]).toBe(2);
  });

  it("a fragmented datagram to a closed port is answered once, after reassembly, quoting its first fragment", () => {
    const w = wireWorld();
    const dgram = udp(PEER4, US4, 5555, 9, pattern(3000));
    const frags = fragments4({ src: PEER4, dst: US4, protocol: IpProtocol.Udp, id: 9 }, dgram, 1480);
    w.inject(...frags);
    w.run(1);
    const sent = w.sent();
    expect(sent).toHaveLength(1);
    const m = icmp4(sent[0]!);
    expect([m.type, m.code]).toEqual([Icmpv4Type.DestinationUnreachable, Icmpv4Unreachable.Port]);
    expect(Buffer.from(m.body).equals(Buffer.from(frags[0]!.subarray(0, 548)))).toBe(true);
  });
});

describe("ICMP errors about unknown protocols", () => {
  it("IPv4: protocol unreachable (3/2) quoting the datagram", () => {
    const w = wireWorld();
    const pkt = ipv4({ src: PEER4, dst: US4, protocol: 253 }, pattern(40));
    w.inject(pkt);
    w.run(1);
    const [s] = w.sent() as [Sent];
    const m = icmp4(s);
    expect([m.type, m.code]).toEqual([Icmpv4Type.DestinationUnreachable, Icmpv4Unreachable.Protocol]);
    expect(Buffer.from(m.body).equals(Buffer.from(pkt))).toBe(true);
    expect(w.stack.stats().dropped["ip:protocol-253"]).toBe(1);
    expect(w.stack.stats().icmpSent["protocol-unreachable"]).toBe(1);
  });

  it("IPv6: parameter problem, unrecognized Next Header (4/1), pointing at the Next Header field", () => {
    const w = wireWorld();
    const plain = ipv6(PEER6, US6, 253, pattern(40));
    // the same behind a Destination Options header (8 bytes: Next Header 253, length 0, a PadN option)
    const opts = new Uint8Array(8 + 16);
    opts.set([253, 0, 1, 4, 0, 0, 0, 0]);
    opts.set(pattern(16), 8);
    const withOpts = ipv6(PEER6, US6, IpProtocol.Ipv6Opts, opts);
    w.inject(plain, withOpts);
    w.run(1);
    const [a, b] = w.sent() as [Sent, Sent];
    const ma = icmp6(a);
    expect([ma.type, ma.code, ma.pointer]).toEqual([Icmpv6Type.ParameterProblem, Icmpv6ParameterProblem.UnrecognizedNextHeader, 6]);
    expect(Buffer.from(ma.body).equals(Buffer.from(plain))).toBe(true);
    const mb = icmp6(b);
    expect([mb.type, mb.code, mb.pointer]).toEqual([Icmpv6Type.ParameterProblem, 1, IPV6_HEADER]);
  });

  it("IPv6: No Next Header (59) is discarded quietly (RFC 8200 §4.7)", () => {
    const w = wireWorld();
    w.inject(ipv6(PEER6, US6, IpProtocol.Ipv6NoNxt, pattern(16)));
    w.run(1);
    expect(w.sent()).toEqual([]);
    expect(w.stack.stats().dropped["ipv6:no-next-header"]).toBe(1);
  });
});

describe("ICMP error rate limit: 1000 per second, burst 50", () => {
  it("a burst of 100 gets 50 errors; 20 ms later 20 more; after a second the full burst again", () => {
    const w = wireWorld();
    const t0 = w.clock.now();
    w.inject(...closedPortBurst(100));
    w.run(1);
    expect(w.sent()).toHaveLength(50);
    expect(w.stack.stats().dropped["icmp:rate-limited"]).toBe(50);
    expect(w.clock.now() - t0).toBe(1);

    w.run(20); // 21 tokens by now: one per ms since the burst
    w.inject(...closedPortBurst(100));
    w.run(0);
    expect(w.sent()).toHaveLength(21);

    w.run(1000);
    w.inject(...closedPortBurst(100));
    w.run(0);
    expect(w.sent()).toHaveLength(50);
    const stats = w.stack.stats();
    expect(stats.icmpSent["port-unreachable"]).toBe(121);
    expect(stats.dropped["icmp:rate-limited"]).toBe(179);
    expect(stats.dropped["udp:no-socket"]).toBe(300);
  });

  it("a steady 2000 per second is held to 1000 errors per second", () => {
    const w = wireWorld();
    let errors = 0;
    w.inject(...closedPortBurst(50)); // spend the burst first
    w.run(0);
    errors += w.sent().length;
    expect(errors).toBe(50);
    errors = 0;
    for (let ms = 0; ms < 1000; ms++) {
      w.run(1);
      w.inject(...closedPortBurst(2));
      w.run(0);
      errors += w.sent().length;
    }
    expect(errors).toBe(1000);
  });

  it("echo replies are not limited", () => {
    const w = wireWorld();
    for (let i = 0; i < 200; i++) w.inject(echoRequest(PEER4, US4, 1, i, pattern(8)));
    w.run(1);
    expect(w.sent()).toHaveLength(200);
  });
});

describe("reassembly time exceeded", () => {
  it("IPv4: only the first fragment arrived: time exceeded (11/1) after 30 s, quoting it", () => {
    const w = wireWorld();
    const frags = fragments4({ src: PEER4, dst: US4, protocol: IpProtocol.Udp, id: 5 }, udp(PEER4, US4, 1, 2, pattern(3000)), 1480);
    w.inject(frags[0]!);
    w.run(29_999);
    expect(w.sent()).toEqual([]);
    w.run(1);
    const sent = w.sent();
    expect(sent).toHaveLength(1);
    const m = icmp4(sent[0]!);
    expect([m.type, m.code]).toEqual([Icmpv4Type.TimeExceeded, Icmpv4TimeExceeded.FragmentReassembly]);
    expect(Buffer.from(m.body).equals(Buffer.from(frags[0]!.subarray(0, 548)))).toBe(true);
    expect(w.stack.stats().icmpSent["reassembly-time-exceeded"]).toBe(1);
  });

  it("IPv6: time exceeded (3/1) after 60 s when the first fragment arrived", () => {
    const w = wireWorld();
    const first = fragment6(PEER6, US6, IpProtocol.Udp, 0xabcdef, 0, true, udp(PEER6, US6, 1, 2, pattern(1224)));
    w.inject(first);
    w.run(59_999);
    expect(w.sent()).toEqual([]);
    w.run(1);
    const [s] = w.sent() as [Sent];
    const m = icmp6(s);
    expect([m.type, m.code]).toEqual([Icmpv6Type.TimeExceeded, Icmpv6TimeExceeded.FragmentReassembly]);
    expect(first.length).toBe(1280);
    expect(Buffer.from(m.body).equals(Buffer.from(first.subarray(0, 1232)))).toBe(true);
  });

  it("no time exceeded when the first fragment never came (v4 and v6), and the state is freed", () => {
    const w = wireWorld({ stack: { reassemblyTimeoutMs: 1000 } });
    const frags = fragments4({ src: PEER4, dst: US4, protocol: IpProtocol.Udp, id: 6 }, udp(PEER4, US4, 1, 2, pattern(3000)), 1480);
    w.inject(frags[1]!, frags[2]!);
    w.inject(fragment6(PEER6, US6, IpProtocol.Udp, 7, 1232, false, pattern(100)));
    w.run(1);
    expect(w.stack.pollAt()).toBe(1000);
    w.run(5000);
    expect(w.sent()).toEqual([]);
    expect(w.stack.pollAt()).toBeNull();
    // the late first fragment alone cannot complete the datagram now
    w.inject(frags[0]!);
    w.run(1);
    expect(w.stack.stats().reassembled).toBe(0);
  });

  it("no time exceeded about a fragmented ICMP error (never an error about an error)", () => {
    const w = wireWorld({ stack: { reassemblyTimeoutMs: 1000 } });
    const quoted = udpPacket(US4, PEER4, 9, 9, pattern(600));
    const err = new Uint8Array(ICMP_HEADER + quoted.length);
    err.set(quoted, ICMP_HEADER);
    err[0] = Icmpv4Type.DestinationUnreachable;
    err[1] = Icmpv4Unreachable.Port;
    const frags = fragments4({ src: PEER4, dst: US4, protocol: IpProtocol.Icmp, id: 8 }, err, 400);
    w.inject(frags[0]!);
    // and, as a control, the first fragment of an echo request does get one
    const echo = echoRequest(PEER4, US4, 1, 1, pattern(600)).subarray(IPV4_MIN_HEADER);
    w.inject(fragments4({ src: PEER4, dst: US4, protocol: IpProtocol.Icmp, id: 9 }, echo, 400)[0]!);
    w.run(2000);
    const sent = w.sent();
    expect(sent).toHaveLength(1);
    const m = icmp4(sent[0]!);
    expect([m.type, m.code]).toEqual([Icmpv4Type.TimeExceeded, Icmpv4TimeExceeded.FragmentReassembly]);
    expect((m.body[4]! << 8) | m.body[5]!).toBe(9); // the quoted datagram's identification: the echo's
  });
});

describe("arriving ICMP errors become a connected socket's errno (Linux icmp_err_convert)", () => {
  const cases: Array<{ family: 4 | 6; type: number; code: number; errno: string | null; what: string }> = [
    { family: 4, type: Icmpv4Type.DestinationUnreachable, code: Icmpv4Unreachable.Port, errno: "ECONNREFUSED", what: "port unreachable" },
    { family: 4, type: Icmpv4Type.DestinationUnreachable, code: Icmpv4Unreachable.Protocol, errno: "ENOPROTOOPT", what: "protocol unreachable" },
    { family: 4, type: Icmpv4Type.DestinationUnreachable, code: Icmpv4Unreachable.CommunicationProhibited, errno: "EHOSTUNREACH", what: "prohibited" },
    { family: 4, type: Icmpv4Type.DestinationUnreachable, code: Icmpv4Unreachable.Net, errno: null, what: "net unreachable (soft)" },
    { family: 4, type: Icmpv4Type.DestinationUnreachable, code: Icmpv4Unreachable.Host, errno: null, what: "host unreachable (soft)" },
    { family: 4, type: Icmpv4Type.TimeExceeded, code: 0, errno: null, what: "time exceeded (soft)" },
    { family: 4, type: Icmpv4Type.ParameterProblem, code: 0, errno: "EPROTO", what: "parameter problem" },
    { family: 6, type: Icmpv6Type.DestinationUnreachable, code: Icmpv6Unreachable.Port, errno: "ECONNREFUSED", what: "port unreachable" },
    { family: 6, type: Icmpv6Type.DestinationUnreachable, code: Icmpv6Unreachable.AdminProhibited, errno: "EACCES", what: "administratively prohibited" },
    { family: 6, type: Icmpv6Type.DestinationUnreachable, code: Icmpv6Unreachable.NoRoute, errno: null, what: "no route (soft)" },
    { family: 6, type: Icmpv6Type.TimeExceeded, code: 0, errno: null, what: "time exceeded (soft)" },
    { family: 6, type: Icmpv6Type.PacketTooBig, code: 0, errno: "EMSGSIZE", what: "packet too big" },
    { family: 6, type: Icmpv6Type.ParameterProblem, code: 0, errno: "EPROTO", what: "parameter problem" },
  ];
  for (const c of cases) {
    it(`IPv${c.family} ${c.what} → ${c.errno ?? "nothing"}`, () => {
      const w = wireWorld();
      const [us, peer] = c.family === 4 ? [US4, PEER4] : [US6, PEER6];
      const bracket = (a: string): string => (c.family === 6 ? `[${a}]` : a);
      const connected = w.stack.udpBind(`${bracket(us)}:0`);
      connected.connect(`${bracket(peer)}:7000`);
      const unconnected = w.stack.udpBind(`${bracket(us)}:0`);
      const sent: Sent[] = [];
      for (const s of [connected, unconnected]) {
        if (s === connected) s.send(pattern(12));
        else s.sendTo(pattern(12), `${bracket(peer)}:7000`);
        w.run(1);
        sent.push(...w.sent());
      }
      expect(sent).toHaveLength(2);
      for (const s of sent) w.inject(icmpError(peer, us, c.type, c.code, s.raw, c.type === Icmpv6Type.PacketTooBig && c.family === 6 ? 1280 : 0));
      w.run(1);
      const err = connected.takeError();
      expect(err?.code ?? null).toBe(c.errno);
      if (err) expect(err).toBeInstanceOf(IoError);
      expect(unconnected.takeError()).toBeNull();
      expect(w.sent()).toEqual([]); // never an error about an error
      connected.close();
      unconnected.close();
    });
  }
});
