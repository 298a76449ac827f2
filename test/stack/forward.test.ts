/**
 * A forwarding Stack (StackOptions.forward): the far end of a network that
 * terminates connections to any address, as `tsmio run` needs. Client `a`
 * (10.0.0.1, fd00::1) routes everything through `b` (10.0.0.2, fd00::2),
 * which forwards; every scenario checks what the client's sockets see.
 */
import { describe, expect, it } from "vitest";
import { IoError, WOULD_BLOCK } from "../../src/error.js";
import type { TcpForwardRequest } from "../../src/stack/forward.js";
import type { Stack } from "../../src/stack/stack.js";
import type { VirtualTcpStream } from "../../src/stack/tcp/socket.js";
import { Tracer } from "../../src/stack/iface/index.js";
import { TcpPacket } from "../../src/stack/wire/index.js";
import { echoRequest, ip, pair, pattern, type Pair } from "./helpers.js";

interface World extends Pair {
  requests: TcpForwardRequest[];
  datagrams: Array<{ data: Uint8Array; from: string; to: string }>;
}

/** Client a routes everything via b; b forwards. `udpVerdict` says whether b takes datagrams; `trace` sees b's packets. */
function world(udpVerdict = true, trace?: (dir: "rx" | "tx", packet: Uint8Array) => void): World {
  const requests: TcpForwardRequest[] = [];
  const datagrams: World["datagrams"] = [];
  const p = pair({
    a: { routes: [{ dest: "0.0.0.0/0", via: "10.0.0.2" }, { dest: "::/0", via: "fd00::2" }] },
    wrapB: trace === undefined ? undefined : (d) => new Tracer(d, trace),
    b: {
      forward: {
        tcp: (r) => requests.push(r),
        udp: (data, from, to) => {
          datagrams.push({ data: data.slice(), from: from.toString(), to: to.toString() });
          return udpVerdict;
        },
      },
    },
  });
  return { ...p, requests, datagrams };
}

/** Reads everything readable from `s`. */
function readAll(s: VirtualTcpStream): Uint8Array {
  const out: number[] = [];
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = s.read(buf);
    if (n === WOULD_BLOCK || n === 0) break;
    out.push(...buf.subarray(0, n));
  }
  return Uint8Array.from(out);
}

function errnoOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof IoError) return e.code;
    throw e;
  }
  return undefined;
}

describe("forwarding stack: TCP", () => {
  for (const [family, dst] of [
    [4, "192.0.2.7:80"],
    [6, "[2001:db8::7]:80"],
  ] as const) {
    it(`offers a SYN to any address and answers from it (IPv${family})`, () => {
      const w = world();
      const client = w.a.tcpConnect(dst);
      w.run(1);
      expect(w.requests).toHaveLength(1);
      const req = w.requests[0]!;
      expect(req.local.toString()).toBe(dst);
      expect(req.remote.toString()).toBe(client.localAddr().toString());
      const server = req.accept();
      w.run(10);
      expect(client.takeError()).toBeNull();
      expect(client.peerAddr().toString()).toBe(dst);
      expect(server.localAddr().toString()).toBe(dst);
      expect(server.peerAddr().toString()).toBe(client.localAddr().toString());
      const up = pattern(100_000, 1);
      const down = pattern(70_000, 2);
      let sentUp = 0;
      let sentDown = 0;
      const gotUp: number[] = [];
      const gotDown: number[] = [];
      for (let i = 0; i < 200 && (gotUp.length < up.length || gotDown.length < down.length); i++) {
        if (sentUp < up.length) {
          const n = client.write(up.subarray(sentUp));
          if (n !== WOULD_BLOCK) sentUp += n;
        }
        if (sentDown < down.length) {
          const n = server.write(down.subarray(sentDown));
          if (n !== WOULD_BLOCK) sentDown += n;
        }
        w.run(5);
        gotUp.push(...readAll(server));
        gotDown.push(...readAll(client));
      }
      expect(Uint8Array.from(gotUp)).toEqual(up);
      expect(Uint8Array.from(gotDown)).toEqual(down);
    });
  }

  it("the SYN-ACK grants what the SYN asked for: MSS, window scale, SACK, timestamps", () => {
    const synAcks: TcpPacket[] = [];
    const w = world(true, (dir, packet) => {
      if (dir !== "tx" || packet[9] !== 6) return;
      const seg = new TcpPacket().reset(packet.slice(20));
      if (!seg.check(ip("192.0.2.7"), ip("10.0.0.1")).ok) throw new Error("bad segment");
      if (seg.syn && seg.ack) synAcks.push(seg);
    });
    w.a.tcpConnect("192.0.2.7:86");
    w.run(1);
    w.requests[0]!.accept();
    w.run(1);
    expect(synAcks).toHaveLength(1);
    const s = synAcks[0]!;
    expect(s.mss).toBe(1460);
    expect(s.windowScale).toBeGreaterThan(0);
    expect(s.sackPermitted).toBe(true);
    expect(s.hasTimestamps).toBe(true);
  });

  it("refuse() answers with a RST: the client's connect fails with ECONNREFUSED", () => {
    const w = world();
    const client = w.a.tcpConnect("192.0.2.7:81");
    w.run(1);
    w.requests[0]!.refuse();
    w.run(10);
    expect(client.takeError()?.code).toBe("ECONNREFUSED");
  });

  for (const [how, family, dst] of [
    ["unreachable", 4, "192.0.2.7:82"],
    ["prohibited", 4, "192.0.2.7:83"],
    ["unreachable", 6, "[2001:db8::7]:82"],
    ["prohibited", 6, "[2001:db8::7]:83"],
  ] as const) {
    // Linux: an ICMP error while connecting is hard (tcp_v4_err); administratively
    // prohibited is EHOSTUNREACH for IPv4 (icmp_err_convert) and EACCES for IPv6
    const errno = family === 6 && how === "prohibited" ? "EACCES" : "EHOSTUNREACH";
    it(`refuse("${how}") sends ICMP: the client's connect fails with ${errno} (IPv${family})`, () => {
      const w = world();
      const client = w.a.tcpConnect(dst);
      w.run(1);
      w.requests[0]!.refuse(how);
      w.run(10);
      expect(client.takeError()?.code).toBe(errno);
      expect(w.b.stats().icmpSent[how]).toBe(1);
    });
  }

  it("absorbs the client's SYN retransmissions while the decision is pending, then completes", () => {
    const w = world();
    const client = w.a.tcpConnect("192.0.2.7:84");
    w.run(3500); // the SYN is sent again at 1 s and 3 s
    expect(w.requests).toHaveLength(1);
    expect(w.b.stats().dropped["tcp:forward-pending"]).toBe(2);
    const server = w.requests[0]!.accept();
    w.run(10);
    expect(client.takeError()).toBeNull();
    expect(client.write(Uint8Array.of(1, 2, 3))).toBe(3);
    w.run(10);
    expect(readAll(server)).toEqual(Uint8Array.of(1, 2, 3));
  });

  it("a request is decided once: a second accept or refuse is EINVAL", () => {
    const w = world();
    w.a.tcpConnect("192.0.2.7:85");
    w.run(1);
    const req = w.requests[0]!;
    req.accept();
    expect(errnoOf(() => req.accept())).toBe("EINVAL");
    expect(errnoOf(() => req.refuse())).toBe("EINVAL");
  });

  it("a wildcard listener takes the stack's own addresses only; listeners still win for them", () => {
    const w = world();
    const l = w.b.tcpBind("0.0.0.0:80");
    const own = w.a.tcpConnect("10.0.0.2:80");
    const other = w.a.tcpConnect("192.0.2.9:80");
    w.run(10);
    expect(l.accept()).not.toBe(WOULD_BLOCK);
    expect(own.takeError()).toBeNull();
    expect(w.requests.map((r) => r.local.toString())).toEqual(["192.0.2.9:80"]);
    w.requests[0]!.refuse();
    w.run(10);
    expect(other.takeError()?.code).toBe("ECONNREFUSED");
  });

  it("tcpConnectFrom opens a connection from an address that is not the stack's", () => {
    const w = world();
    const l = w.a.tcpBind("10.0.0.1:8080");
    const out = w.b.tcpConnectFrom("203.0.113.5:4000", "10.0.0.1:8080");
    w.run(10);
    const acc = l.accept();
    if (acc === WOULD_BLOCK) throw new Error("not accepted");
    expect(acc[1].toString()).toBe("203.0.113.5:4000");
    expect(out.localAddr().toString()).toBe("203.0.113.5:4000");
    expect(errnoOf(() => w.b.tcpConnectFrom("203.0.113.5:4000", "10.0.0.1:8080"))).toBe("EADDRINUSE");
    expect(errnoOf(() => w.b.tcpConnectFrom("0.0.0.0:4000", "10.0.0.1:8080"))).toBe("EINVAL");
    expect(errnoOf(() => w.b.tcpConnectFrom("[2001:db8::1]:4000", "10.0.0.1:8080"))).toBe("EAFNOSUPPORT");
  });

  it("a non-forwarding stack still drops segments to other addresses", () => {
    const p = pair({ a: { routes: [{ dest: "0.0.0.0/0", via: "10.0.0.2" }] } });
    const client = p.a.tcpConnect("192.0.2.7:80");
    p.run(10);
    expect(p.b.stats().dropped["ipv4:not-for-us"]).toBeGreaterThan(0);
    expect(client.takeError()).toBeNull(); // still trying
  });
});

describe("forwarding stack: UDP and ICMP", () => {
  it("offers datagrams nobody is bound to; udpSendFrom answers from the address asked", () => {
    const w = world();
    const s = w.a.udpBind("0.0.0.0:0");
    s.sendTo(Uint8Array.of(9, 8, 7), "192.0.2.53:53");
    w.run(1);
    expect(w.datagrams).toEqual([{ data: Uint8Array.of(9, 8, 7), from: s.localAddr().toString().replace("0.0.0.0", "10.0.0.1"), to: "192.0.2.53:53" }]);
    w.b.udpSendFrom("192.0.2.53:53", w.datagrams[0]!.from, Uint8Array.of(1, 2));
    w.run(1);
    const buf = new Uint8Array(16);
    const r = s.recvFrom(buf);
    if (r === WOULD_BLOCK) throw new Error("no reply");
    expect(r[1].toString()).toBe("192.0.2.53:53");
    expect(buf.subarray(0, r[0])).toEqual(Uint8Array.of(1, 2));
  });

  it("a refused datagram gets ICMP port unreachable: a connected socket sees ECONNREFUSED", () => {
    const w = world(false);
    const s = w.a.udpBind("[::]:0");
    s.connect("[2001:db8::53]:53");
    s.send(Uint8Array.of(1));
    w.run(1);
    expect(w.datagrams).toHaveLength(1);
    expect(s.takeError()?.code).toBe("ECONNREFUSED");
  });

  it("bound sockets take datagrams to the stack's own addresses; a wildcard does not catch other addresses", () => {
    const w = world();
    const bound = w.b.udpBind("0.0.0.0:53");
    const s = w.a.udpBind("0.0.0.0:0");
    s.sendTo(Uint8Array.of(1), "10.0.0.2:53");
    s.sendTo(Uint8Array.of(2), "192.0.2.53:53");
    w.run(1);
    const buf = new Uint8Array(4);
    const r = bound.recvFrom(buf);
    expect(r !== WOULD_BLOCK && buf[0]).toBe(1);
    expect(bound.recvFrom(buf)).toBe(WOULD_BLOCK);
    expect(w.datagrams.map((d) => d.to)).toEqual(["192.0.2.53:53"]);
  });

  it("udpSendFrom checks like sendto: family, size, port", () => {
    const w = world();
    expect(errnoOf(() => w.b.udpSendFrom("192.0.2.53:53", "[fd00::1]:5", Uint8Array.of(1)))).toBe("EAFNOSUPPORT");
    expect(errnoOf(() => w.b.udpSendFrom("192.0.2.53:53", "10.0.0.1:0", Uint8Array.of(1)))).toBe("EINVAL");
    expect(errnoOf(() => w.b.udpSendFrom("192.0.2.53:53", "10.0.0.1:5", new Uint8Array(65508)))).toBe("EMSGSIZE");
    expect(errnoOf(() => w.b.udpSendFrom("192.0.2.53:0", "10.0.0.1:5", Uint8Array.of(1)))).toBe("EINVAL");
  });

  it("answers pings to its own addresses only, never for the hosts it forwards to", () => {
    const w = world();
    const replies = (s: Stack): number => s.stats().icmpSent["echo-reply"] ?? 0;
    // hand-built echo requests from the client's side of the link
    for (const [src, dst] of [
      ["10.0.0.1", "10.0.0.2"],
      ["10.0.0.1", "192.0.2.7"],
      ["fd00::1", "fd00::2"],
      ["fd00::1", "2001:db8::7"],
    ]) {
      w.link.a.transmit(echoRequest(src!, dst!, 1, 1, pattern(8)));
    }
    w.run(5);
    expect(replies(w.b)).toBe(2);
    expect(w.b.stats().dropped["icmp:echo-not-local"]).toBe(2);
  });

  it("checks its handlers", () => {
    expect(() => pair({ b: { forward: { tcp: 5 as never } } })).toThrow(/forward.tcp must be a function/);
  });
});
