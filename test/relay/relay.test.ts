/**
 * The relay of `tsmio run`, in process and without root: a guest Stack with
 * the command's addresses talks through a Link to the Relay, which reaches
 * the test's kernel sockets on 127.0.0.1 / ::1 (see relay-world.ts). Every
 * scenario checks what real sockets see: bytes, peer addresses, errnos, and
 * the relay's flow records. Nothing is sent beyond loopback.
 */
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { IoError, WOULD_BLOCK } from "../../src/error.js";
import { Events } from "../../src/poll/event.js";
import { Poll } from "../../src/poll/poll.js";
import { TcpListener, TcpStream as KernelStream, UdpSocket } from "../../src/net/kernel.js";
import type { TcpStream, UdpSocket as UdpApi } from "../../src/net/network.js";
import { Link } from "../../src/stack/iface/link.js";
import { Icmpv4Type, Icmpv6Type } from "../../src/stack/wire/index.js";
import type { FlowRecord } from "../../src/relay/flow-record.js";
import { OutboundPolicy } from "../../src/relay/outbound-policy.js";
import { Relay } from "../../src/relay/relay.js";
import { echoRequest, icmp4, icmp6, parse, pattern } from "../stack/helpers.js";
import { PatternReader, PatternWriter, RelayWorld, concat, errnoOf, readNow, type WorldOptions } from "./relay-world.js";

const worlds: RelayWorld[] = [];
function world(o: WorldOptions = {}): RelayWorld {
  const w = new RelayWorld(o);
  worlds.push(w);
  return w;
}
afterEach(() => {
  for (const w of worlds.splice(0)) w.close();
});

/** `actual` holds the same bytes as `expected` (compared without a slow element-wise diff). */
function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  expect(Buffer.compare(actual, expected), "bytes differ").toBe(0);
}

/** The relay's TCP buffers and its splice's one held read: what it may hold per direction. */
const STACK_BUFFER = 256 * 1024;
const SPLICE_CHUNK = 256 * 1024;

/** A port free on 127.0.0.1 (or ::1) for `protocol` a moment ago. */
function freePort(protocol: "tcp" | "udp", host = "127.0.0.1"): number {
  const addr = host.includes(":") ? `[${host}]:0` : `${host}:0`;
  const s = protocol === "tcp" ? TcpListener.bind(addr) : UdpSocket.bind(addr);
  const port = s.localAddr().port;
  s.close();
  return port;
}

/** `host:port` with brackets for IPv6. */
function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Waits for `l` to accept one connection; the stream is owned by the world. */
function acceptOne(w: RelayWorld, l: { accept(): [TcpStream, { toString(): string }] | typeof WOULD_BLOCK }): [TcpStream, string] {
  let out: [TcpStream, string] | null = null;
  w.until("accept", () => {
    const r = l.accept();
    if (r === WOULD_BLOCK) return false;
    out = [w.own(r[0]), r[1].toString()];
    return true;
  });
  return out!;
}

/** How a connect ended: "connected" or the errno. */
function connectOutcome(w: RelayWorld, s: TcpStream, ms = 2000): string {
  let out = "";
  w.until(
    "connect outcome",
    () => {
      const e = s.takeError();
      if (e !== null) {
        out = e.code;
        return true;
      }
      const code = errnoOf(() => s.peerAddr());
      if (code === "ENOTCONN") return false;
      out = code ?? "connected";
      return true;
    },
    ms,
  );
  return out;
}

/** Reads `s` until it fails: the errno, or "eof" when the stream ended instead. */
function readFailure(w: RelayWorld, s: TcpStream, ms = 2000): string {
  let out = "";
  w.until(
    "read error",
    () => {
      try {
        if (readNow(s).eof) out = "eof";
      } catch (e) {
        if (!(e instanceof IoError)) throw e;
        out = e.code;
      }
      return out !== "";
    },
    ms,
  );
  return out;
}

/** Reads `s` until its stream ends; all the bytes. */
function readToEnd(w: RelayWorld, s: TcpStream): Uint8Array {
  const parts: Uint8Array[] = [];
  w.until("end of stream", () => {
    const r = readNow(s);
    parts.push(r.bytes);
    return r.eof;
  });
  return concat(parts);
}

/** Reads `s` until `n` bytes came. */
function readExactly(w: RelayWorld, s: TcpStream, n: number): Uint8Array {
  const parts: Uint8Array[] = [];
  let got = 0;
  w.until(`${n} bytes`, () => {
    const r = readNow(s);
    parts.push(r.bytes);
    got += r.bytes.length;
    if (r.eof && got < n) throw new Error(`stream ended after ${got} of ${n} bytes`);
    return got >= n;
  });
  return concat(parts);
}

/** Writes all of `data` (small) to `s`. */
function writeAll(w: RelayWorld, s: TcpStream, data: Uint8Array): void {
  let off = 0;
  w.until("write", () => {
    const n = s.write(data.subarray(off));
    if (n !== WOULD_BLOCK) off += n;
    return off === data.length;
  });
}

/** The one datagram `s` receives next. */
function recvOne(w: RelayWorld, s: UdpApi, ms = 2000): { data: Uint8Array; from: string } {
  const buf = new Uint8Array(65536);
  let out: { data: Uint8Array; from: string } | null = null;
  w.until(
    "datagram",
    () => {
      const r = s.recvFrom(buf);
      if (r === WOULD_BLOCK) return false;
      out = { data: buf.slice(0, r[0]), from: r[1].toString() };
      return true;
    },
    ms,
  );
  return out!;
}

/** The relay's record of the flow `from` → `to`. */
function recordOf(w: RelayWorld, protocol: "tcp" | "udp", from: string, to: string): FlowRecord {
  const r = w.relay.flows().records.filter((x) => x.protocol === protocol && x.from === from && x.to === to);
  expect(r, `one ${protocol} record ${from} -> ${to}`).toHaveLength(1);
  return r[0]!;
}

/** Largest the kernel lets a TCP socket's send and receive buffers grow (tcp_wmem, tcp_rmem maxima). */
function kernelTcpBuffers(): number {
  const max = (f: string): number => Number(readFileSync(f, "utf8").trim().split(/\s+/)[2]);
  return max("/proc/sys/net/ipv4/tcp_wmem") + max("/proc/sys/net/ipv4/tcp_rmem");
}

/** A guest connection to the host's loopback through the gateway, accepted: [guest, host, host's view of the peer]. */
function connected(w: RelayWorld, family: 4 | 6): [TcpStream, TcpStream, string, number] {
  const l = w.own(TcpListener.bind(family === 4 ? "127.0.0.1:0" : "[::1]:0"));
  const port = l.localAddr().port;
  const g = w.own(w.guest.tcpConnect(family === 4 ? `10.0.2.2:${port}` : `[fd00::2]:${port}`));
  const [h, peer] = acceptOne(w, l);
  expect(connectOutcome(w, g)).toBe("connected");
  return [g, h, peer, port];
}

describe("relay: TCP to the host's loopback through the gateway", () => {
  for (const family of [4, 6] as const) {
    const [gw, lo] = family === 4 ? ["10.0.2.2", "127.0.0.1"] : ["fd00::2", "::1"];
    it(`IPv${family}: ${gw} reaches ${lo}; 8 MiB each way at once arrive byte-exact`, () => {
      const w = world({ hostLoopback: true });
      const [g, h, peer, port] = connected(w, family);
      expect(g.peerAddr().toString()).toBe(hostPort(gw, port));
      expect(g.localAddr().ip).toBe(family === 4 ? "10.0.2.100" : "fd00::100");
      expect(h.localAddr().toString()).toBe(hostPort(lo, port));
      expect(peer).toMatch(family === 4 ? /^127\.0\.0\.1:\d+$/ : /^\[::1\]:\d+$/);
      expect(h.peerAddr().toString()).toBe(peer);

      const N = 8 << 20;
      const up = new PatternWriter(family * 10 + 1, N);
      const down = new PatternWriter(family * 10 + 2, N);
      const gotUp = new PatternReader(family * 10 + 1);
      const gotDown = new PatternReader(family * 10 + 2);
      let shutUp = false;
      let shutDown = false;
      w.until("8 MiB each way and both ends", () => {
        up.pushTo(g);
        down.pushTo(h);
        if (up.done && !shutUp) {
          g.shutdown("write");
          shutUp = true;
        }
        if (down.done && !shutDown) {
          h.shutdown("write");
          shutDown = true;
        }
        gotUp.pullFrom(h);
        gotDown.pullFrom(g);
        return gotUp.eof && gotDown.eof;
      });
      expect([gotUp.read, gotUp.firstMismatch, gotDown.read, gotDown.firstMismatch]).toEqual([N, -1, N, -1]);

      const record = recordOf(w, "tcp", g.localAddr().toString(), hostPort(gw, port));
      expect(record.via).toBe(hostPort(lo, port));
      w.until("the splice ends", () => record.end !== null);
      expect(record).toMatchObject({ up: N, down: N, end: "closed" });
    });
  }

  it("backpressure from the host: the guest's writes block and the relay holds at most its buffers; then all arrives", () => {
    const w = world({ hostLoopback: true });
    const [g, h] = connected(w, 4);
    const record = recordOf(w, "tcp", g.localAddr().toString(), g.peerAddr().toString());
    const N = 64 << 20;
    const up = new PatternWriter(5, N);
    let last = -1;
    let still = Date.now();
    w.until("the guest's writes stall", () => {
      up.pushTo(g);
      if (up.written + record.up !== last) {
        last = up.written + record.up;
        still = Date.now();
      }
      return up.blocked && Date.now() - still > 300;
    });
    // guest's send buffer + relay stack's receive buffer + one held read, nothing more in the relay
    expect(up.written - record.up).toBeLessThanOrEqual(STACK_BUFFER + STACK_BUFFER + SPLICE_CHUNK);
    // what left the relay sits in the kernel's socket buffers
    expect(record.up).toBeLessThanOrEqual(kernelTcpBuffers());
    expect(up.written).toBeLessThan(N / 2);

    const got = new PatternReader(5);
    w.until("the host reads all", () => {
      up.pushTo(g);
      got.pullFrom(h);
      return got.read === N;
    }, 20_000);
    expect(got.firstMismatch).toBe(-1);
  });

  it("backpressure from the guest: the host's writes block and the relay holds at most its buffers; then all arrives", () => {
    const w = world({ hostLoopback: true });
    const [g, h] = connected(w, 4);
    const record = recordOf(w, "tcp", g.localAddr().toString(), g.peerAddr().toString());
    const N = 64 << 20;
    const down = new PatternWriter(6, N);
    let last = -1;
    let still = Date.now();
    w.until("the host's writes stall", () => {
      down.pushTo(h);
      if (down.written + record.down !== last) {
        last = down.written + record.down;
        still = Date.now();
      }
      return down.blocked && Date.now() - still > 300;
    });
    // the relay stack's send buffer + the guest's receive buffer
    expect(record.down).toBeLessThanOrEqual(STACK_BUFFER + STACK_BUFFER);
    // the kernel's buffers + one held read
    expect(down.written - record.down).toBeLessThanOrEqual(kernelTcpBuffers() + SPLICE_CHUNK);
    expect(down.written).toBeLessThan(N / 2);

    const got = new PatternReader(6);
    w.until("the guest reads all", () => {
      down.pushTo(h);
      got.pullFrom(g);
      return got.read === N;
    }, 20_000);
    expect(got.firstMismatch).toBe(-1);
  });

  it("half-close from the guest: the host reads EOF and can still answer", () => {
    const w = world({ hostLoopback: true });
    const [g, h] = connected(w, 4);
    writeAll(w, g, pattern(3000, 1));
    g.shutdown("write");
    expectBytes(readToEnd(w, h), pattern(3000, 1));
    const reply = pattern(5000, 2);
    writeAll(w, h, reply);
    expectBytes(readExactly(w, g, reply.length), reply);
    h.shutdown("write");
    expectBytes(readToEnd(w, g), new Uint8Array(0));
    const record = recordOf(w, "tcp", g.localAddr().toString(), g.peerAddr().toString());
    w.until("the splice ends", () => record.end !== null);
    expect(record).toMatchObject({ up: 3000, down: 5000, end: "closed" });
  });

  it("half-close from the host: the guest reads EOF and can still send", () => {
    const w = world({ hostLoopback: true });
    const [g, h] = connected(w, 6);
    writeAll(w, h, pattern(4000, 3));
    h.shutdown("write");
    expectBytes(readToEnd(w, g), pattern(4000, 3));
    writeAll(w, g, pattern(7000, 4));
    expectBytes(readExactly(w, h, 7000), pattern(7000, 4));
    g.shutdown("write");
    expectBytes(readToEnd(w, h), new Uint8Array(0));
  });

  it("a reset from the host (SO_LINGER 0) reaches the guest as ECONNRESET", () => {
    const w = world({ hostLoopback: true });
    const [g, h] = connected(w, 4);
    const record = recordOf(w, "tcp", g.localAddr().toString(), g.peerAddr().toString());
    writeAll(w, g, pattern(100));
    expectBytes(readExactly(w, h, 100), pattern(100));
    h.setLinger(0);
    h.close();
    expect(readFailure(w, g)).toBe("ECONNRESET");
    expect(record.end).toBe("reset");
  });

  it("the guest closing with unread data resets the host side: ECONNRESET", () => {
    const w = world({ hostLoopback: true });
    const [g, h] = connected(w, 6);
    writeAll(w, h, pattern(100));
    const peek = new Uint8Array(100);
    w.until("the guest has the bytes", () => g.peek(peek) === 100);
    g.close();
    expect(readFailure(w, h)).toBe("ECONNRESET");
  });

  it("relay.close() after the guest's end went out closes gracefully: the host still gets every byte and the end", () => {
    const w = world({ hostLoopback: true });
    const [g, h] = connected(w, 4);
    const data = pattern(300_000);
    writeAll(w, g, data);
    g.shutdown("write");
    const record = recordOf(w, "tcp", g.localAddr().toString(), g.peerAddr().toString());
    // the host has read nothing yet: the bytes wait in its socket while the relay passes the end on
    w.until("the guest's end passed on", () => w.relay.drained());
    w.relay.close();
    expect(record.end).toBe("closed");
    expectBytes(readToEnd(w, h), data);
  });

  it("relay.close() resets the connections it relays", () => {
    const w = world({ hostLoopback: true });
    const [g, h] = connected(w, 4);
    writeAll(w, h, pattern(10));
    expectBytes(readExactly(w, g, 10), pattern(10));
    const record = recordOf(w, "tcp", g.localAddr().toString(), g.peerAddr().toString());
    w.relay.close();
    expect(record.end).toBe("reset");
    expect(readFailure(w, h)).toBe("ECONNRESET");
    expect(readFailure(w, g)).toBe("ECONNRESET");
  });
});

describe("relay: refused TCP", () => {
  /** Connects from the guest to `to` and returns how it ended and how long it took. */
  function attempt(w: RelayWorld, to: string): { outcome: string; ms: number; from: string } {
    const t0 = Date.now();
    const s = w.own(w.guest.tcpConnect(to));
    const from = s.localAddr().toString();
    const outcome = connectOutcome(w, s);
    return { outcome, ms: Date.now() - t0, from };
  }

  it("without host loopback the gateway, and the rest of the subnets, refuse at once", () => {
    const w = world();
    const l = w.own(TcpListener.bind("127.0.0.1:0"));
    const port = l.localAddr().port;
    for (const to of [`10.0.2.2:${port}`, `[fd00::2]:${port}`, "10.0.2.50:80", "[fd00::50]:80", "10.0.2.3:53"]) {
      const r = attempt(w, to);
      expect(r.outcome, to).toBe("ECONNREFUSED");
      expect(r.ms, to).toBeLessThan(200);
      expect(recordOf(w, "tcp", r.from, to)).toMatchObject({ via: "-", end: "refused", up: 0, down: 0 });
    }
    expect(l.accept()).toBe(WOULD_BLOCK);
  });

  it("outbound none refuses any other address at once, without a host socket", () => {
    const w = world({ outbound: OutboundPolicy.NONE, hostLoopback: true });
    for (const to of ["192.0.2.1:80", "[2001:db8::1]:80"]) {
      const r = attempt(w, to);
      expect(r.outcome, to).toBe("ECONNREFUSED");
      expect(r.ms, to).toBeLessThan(200);
      // via "-": the relay had no host-side target, so it never opened a socket
      expect(recordOf(w, "tcp", r.from, to)).toMatchObject({ via: "-", end: "refused" });
    }
  });

  it("a host port nobody listens on: the host's ECONNREFUSED is passed on", () => {
    const w = world({ hostLoopback: true });
    for (const [gw, lo] of [
      ["10.0.2.2", "127.0.0.1"],
      ["fd00::2", "::1"],
    ] as const) {
      const port = freePort("tcp", lo);
      const to = hostPort(gw, port);
      const r = attempt(w, to);
      expect(r.outcome, to).toBe("ECONNREFUSED");
      expect(r.ms, to).toBeLessThan(200);
      expect(recordOf(w, "tcp", r.from, to)).toMatchObject({ via: hostPort(lo, port), end: "refused" });
    }
  });
});

describe("relay: UDP", () => {
  /** A host UDP echo server on `addr`, answering on each turn of `w`. */
  function echoServer(w: RelayWorld, addr: string): { sock: UdpApi; seen: string[]; serve(): void } {
    const sock = w.own(UdpSocket.bind(addr));
    const seen: string[] = [];
    const buf = new Uint8Array(65536);
    return {
      sock,
      seen,
      serve() {
        for (;;) {
          const r = sock.recvFrom(buf);
          if (r === WOULD_BLOCK) return;
          seen.push(r[1].toString());
          sock.sendTo(buf.subarray(0, r[0]), r[1]);
        }
      },
    };
  }

  /** Receives on `s` while `echo` serves. */
  function recvEchoed(w: RelayWorld, s: UdpApi, echo: { serve(): void }): { data: Uint8Array; from: string } {
    const buf = new Uint8Array(65536);
    let out: { data: Uint8Array; from: string } | null = null;
    w.until("echo", () => {
      echo.serve();
      const r = s.recvFrom(buf);
      if (r === WOULD_BLOCK) return false;
      out = { data: buf.slice(0, r[0]), from: r[1].toString() };
      return true;
    });
    return out!;
  }

  for (const family of [4, 6] as const) {
    const [gw, lo, any] = family === 4 ? ["10.0.2.2", "127.0.0.1", "0.0.0.0"] : ["fd00::2", "::1", "::"];
    it(`IPv${family}: a datagram to ${gw}:P reaches ${lo}:P; the answer comes from ${gw}:P`, () => {
      const w = world({ hostLoopback: true });
      const echo = echoServer(w, hostPort(lo, 0));
      const port = echo.sock.localAddr().port;
      const s = w.own(w.guest.udpBind(hostPort(any, 0)));
      const to = hostPort(gw, port);
      for (const size of [0, 1, 1400, 8000]) {
        s.sendTo(pattern(size, size), to);
        const r = recvEchoed(w, s, echo);
        expect(r.from).toBe(to);
        expectBytes(r.data, pattern(size, size));
      }
      // one flow: one host socket for all four datagrams
      expect(new Set(echo.seen).size).toBe(1);
      expect(echo.seen[0]).toMatch(family === 4 ? /^127\.0\.0\.1:\d+$/ : /^\[::1\]:\d+$/);
      const from = hostPort(family === 4 ? "10.0.2.100" : "fd00::100", s.localAddr().port);
      expect(recordOf(w, "udp", from, to)).toMatchObject({ via: hostPort(lo, port), up: 9401, down: 9401, end: null });
    });
  }

  it("a refused destination: the guest's connected socket gets ECONNREFUSED", () => {
    const w = world();
    const s = w.own(w.guest.udpBind("0.0.0.0:0"));
    s.connect("10.0.2.2:9");
    s.send(pattern(10));
    const buf = new Uint8Array(100);
    let code: string | null = null;
    w.until("ICMP port unreachable", () => {
      code = errnoOf(() => s.recv(buf));
      return code !== null;
    });
    expect(code).toBe("ECONNREFUSED");
    expect(w.relay.flows().records).toEqual([]);
  });

  it("an idle flow expires on tick(); the next datagram opens a new one", () => {
    const w = world({ hostLoopback: true, udpIdleMs: 200 });
    const echo = echoServer(w, "127.0.0.1:0");
    const to = `10.0.2.2:${echo.sock.localAddr().port}`;
    const s = w.own(w.guest.udpBind("0.0.0.0:0"));
    s.sendTo(pattern(5), to);
    recvEchoed(w, s, echo);
    const next = w.relay.tick();
    expect(next).not.toBeNull();
    expect(next!).toBeLessThanOrEqual(200);
    w.idle(250);
    const from = `10.0.2.100:${s.localAddr().port}`;
    expect(recordOf(w, "udp", from, to).end).toBeNull();
    expect(w.relay.tick()).toBeNull();
    expect(recordOf(w, "udp", from, to).end).toBe("idle");
    s.sendTo(pattern(6), to);
    expectBytes(recvEchoed(w, s, echo).data, pattern(6));
    expect(echo.seen).toHaveLength(2);
    expect(echo.seen[1]).not.toBe(echo.seen[0]);
    const records = w.relay.flows().records.filter((r) => r.protocol === "udp");
    expect(records.map((r) => r.end)).toEqual(["idle", null]);
  });

  it("DNS: queries to 10.0.2.3:53 and [fd00::3]:53 go to the first resolver's port 53", (ctx) => {
    let resolver: UdpApi;
    try {
      resolver = UdpSocket.bind("127.0.0.1:53");
    } catch (e) {
      if (!(e instanceof IoError)) throw e;
      return ctx.skip(`cannot bind 127.0.0.1:53 (${e.code}): needs root and the port free`);
    }
    const w = world({ dns: ["127.0.0.1"] });
    w.own(resolver);
    const echo = {
      serve(): void {
        const buf = new Uint8Array(512);
        for (;;) {
          const r = resolver.recvFrom(buf);
          if (r === WOULD_BLOCK) return;
          // the "answer": the query with the QR bit set
          const answer = buf.slice(0, r[0]);
          answer[2]! |= 0x80;
          resolver.sendTo(answer, r[1]);
        }
      },
    };
    for (const [any, ns] of [
      ["0.0.0.0:0", "10.0.2.3:53"],
      ["[::]:0", "[fd00::3]:53"],
    ] as const) {
      const s = w.own(w.guest.udpBind(any));
      const query = Uint8Array.of(0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 0x77, 0x77, 0x77, 0, 0, 1, 0, 1);
      s.sendTo(query, ns);
      const r = recvEchoed(w, s, echo);
      expect(r.from).toBe(ns);
      expectBytes(r.data, Uint8Array.from(query, (b, i) => (i === 2 ? b | 0x80 : b)));
    }
    // another port of the DNS address is refused
    const s = w.own(w.guest.udpBind("0.0.0.0:0"));
    s.connect("10.0.2.3:54");
    s.send(pattern(4));
    let code: string | null = null;
    w.until("ICMP port unreachable", () => (code = errnoOf(() => s.recv(new Uint8Array(10)))) !== null);
    expect(code).toBe("ECONNREFUSED");
  });
});

describe("relay: published ports", () => {
  it("TCP: a host client reaches the guest's listener and is seen as the gateway; data both ways", () => {
    const p4 = freePort("tcp");
    const p6 = freePort("tcp", "::1");
    const w = world({
      publish: [
        { hostIp: "127.0.0.1", hostPort: p4, port: 8080, protocol: "tcp" },
        { hostIp: "::1", hostPort: p6, port: 8080, protocol: "tcp" },
      ],
    });
    const l4 = w.own(w.guest.tcpBind("0.0.0.0:8080"));
    const l6 = w.own(w.guest.tcpBind("[::]:8080"));
    for (const [l, host, port, gw, guest] of [
      [l4, "127.0.0.1", p4, "10.0.2.2", "10.0.2.100"],
      [l6, "::1", p6, "fd00::2", "fd00::100"],
    ] as const) {
      const c = w.own(KernelStream.connect(hostPort(host, port)));
      const [inside, seenAs] = acceptOne(w, l);
      expect(connectOutcome(w, c)).toBe("connected");
      expect(seenAs).toBe(hostPort(gw, c.localAddr().port));
      expect(inside.localAddr().toString()).toBe(hostPort(guest, 8080));
      writeAll(w, c, pattern(300_000, 7));
      expectBytes(readExactly(w, inside, 300_000), pattern(300_000, 7));
      writeAll(w, inside, pattern(200_000, 8));
      expectBytes(readExactly(w, c, 200_000), pattern(200_000, 8));
      c.shutdown("write");
      expectBytes(readToEnd(w, inside), new Uint8Array(0));
      inside.shutdown("write");
      expectBytes(readToEnd(w, c), new Uint8Array(0));
      const record = recordOf(w, "tcp", c.localAddr().toString(), hostPort(guest, 8080));
      expect(record.via).toBe(`${seenAs} (published)`);
      w.until("the splice ends", () => record.end !== null);
      // up: from the command
      expect(record).toMatchObject({ up: 200_000, down: 300_000, end: "closed" });
    }
  });

  it("TCP: nobody listening inside: the host client is reset promptly", () => {
    const port = freePort("tcp");
    const w = world({ publish: [{ hostIp: "127.0.0.1", hostPort: port, port: 8081, protocol: "tcp" }] });
    const c = w.own(KernelStream.connect(`127.0.0.1:${port}`));
    const t0 = Date.now();
    expect(["ECONNRESET", "eof"]).toContain(readFailure(w, c, 1000));
    expect(Date.now() - t0).toBeLessThan(500);
    expect(recordOf(w, "tcp", c.localAddr().toString(), "10.0.2.100:8081").end).toBe("refused");
  });

  it("UDP: a host client's datagrams reach the guest from the gateway; answers return", () => {
    const port = freePort("udp");
    const w = world({ publish: [{ hostIp: "127.0.0.1", hostPort: port, port: 5353, protocol: "udp" }] });
    const inside = w.own(w.guest.udpBind("0.0.0.0:5353"));
    const c = w.own(UdpSocket.bind("127.0.0.1:0"));
    c.sendTo(pattern(1200, 1), `127.0.0.1:${port}`);
    const q = recvOne(w, inside);
    expect(q.from).toBe(`10.0.2.2:${c.localAddr().port}`);
    expectBytes(q.data, pattern(1200, 1));
    inside.sendTo(pattern(900, 2), q.from);
    const a = recvOne(w, c);
    expect(a.from).toBe(`127.0.0.1:${port}`);
    expectBytes(a.data, pattern(900, 2));
    expect(recordOf(w, "udp", c.localAddr().toString(), "10.0.2.100:5353")).toMatchObject({ up: 900, down: 1200 });
  });

  for (const protocol of ["tcp", "udp"] as const) {
    it(`${protocol}: a host port in use: the constructor throws EADDRINUSE naming it, and frees what it bound`, () => {
      const taken = protocol === "tcp" ? TcpListener.bind("127.0.0.1:0") : UdpSocket.bind("127.0.0.1:0");
      try {
        const port = taken.localAddr().port;
        const first = freePort(protocol);
        let error: unknown = null;
        try {
          world({
            publish: [
              { hostIp: "127.0.0.1", hostPort: first, port: 80, protocol },
              { hostIp: "127.0.0.1", hostPort: port, port: 81, protocol },
            ],
          });
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(IoError);
        expect((error as IoError).code).toBe("EADDRINUSE");
        expect((error as IoError).message).toContain(`127.0.0.1:${port}`);
        // the port bound before the failure was let go
        const again = protocol === "tcp" ? TcpListener.bind(`127.0.0.1:${first}`) : UdpSocket.bind(`127.0.0.1:${first}`);
        again.close();
      } finally {
        taken.close();
      }
    });
  }
});

describe("relay: ICMP", () => {
  it("echo requests to the gateway and the DNS address are answered", () => {
    const poll = new Poll();
    const link = new Link({ mtu: 1500 });
    const relay = new Relay({ poll, device: link.b });
    const events = new Events(64);
    try {
      for (const [src, dst] of [
        ["10.0.2.100", "10.0.2.2"],
        ["10.0.2.100", "10.0.2.3"],
        ["fd00::100", "fd00::2"],
        ["fd00::100", "fd00::3"],
      ] as const) {
        const body = pattern(200, 9);
        link.a.transmit(echoRequest(src, dst, 0x4242, 7, body));
        let reply: Uint8Array | null = null;
        const end = Date.now() + 1000;
        while (reply === null && Date.now() < end) {
          poll.poll(events, 2);
          for (const e of events) relay.handle(e);
          reply = link.a.receive();
        }
        if (reply === null) throw new Error(`no echo reply from ${dst}`);
        const s = parse(reply);
        expect([s.src, s.dst]).toEqual([dst, src]);
        const m = s.version === 4 ? icmp4(s) : icmp6(s);
        expect([m.type, m.identifier, m.sequence]).toEqual([s.version === 4 ? Icmpv4Type.EchoReply : Icmpv6Type.EchoReply, 0x4242, 7]);
        expect(Buffer.from(m.body).equals(Buffer.from(body))).toBe(true);
      }
    } finally {
      relay.close();
    }
  });
});
