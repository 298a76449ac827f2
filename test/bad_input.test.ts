/**
 * Bad input gets a clear TypeError or IoError, never a crash: invalid
 * addresses and ports, bad tokens and interests, non-buffer arguments, and
 * any use of a closed socket or poll.
 */
import { describe, expect, it } from "vitest";
import {
  Events,
  Interest,
  IoError,
  Poll,
  SocketAddr,
  TcpListener,
  TcpStream,
  Token,
  UdpSocket,
  Waker,
  kernel,
  type Source,
} from "../src/index.js";

function expectIoError(fn: () => unknown, code: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, `expected IoError ${code}`).toBeInstanceOf(IoError);
  expect((err as IoError).code).toBe(code);
  expect((err as IoError).errno).toBeGreaterThan(0);
  expect((err as IoError).message).toContain(code);
}

describe("addresses", () => {
  const bad = [
    "",
    "localhost:80",
    "127.0.0.1",
    "127.0.0.1:",
    "127.0.0.1:70000",
    "127.0.0.1:-1",
    "256.0.0.1:80",
    "1.2.3:80",
    "01.2.3.4:80",
    "::1:80",
    "[::1]",
    "[::1:80",
    "[1::2::3]:80",
    "[12345::]:80",
    "[::1]:99999",
    " 127.0.0.1:80",
  ];
  for (const s of bad) {
    it(`rejects ${JSON.stringify(s)} with a TypeError naming it`, () => {
      expect(() => SocketAddr.parse(s)).toThrow(TypeError);
      expect(() => kernel.tcpBind(s)).toThrow(TypeError);
      expect(() => kernel.tcpConnect(s)).toThrow(TypeError);
      expect(() => kernel.udpBind(s)).toThrow(TypeError);
    });
  }

  it("rejects port 70000 in a SocketAddr and non-address values", () => {
    expect(() => new SocketAddr("127.0.0.1", 70000)).toThrow(/port/);
    expect(() => new SocketAddr("127.0.0.1", 1.5)).toThrow(TypeError);
    expect(() => new SocketAddr("nope", 1)).toThrow(TypeError);
    for (const v of [null, undefined, 80, {}, ["127.0.0.1:80"]]) {
      expect(() => TcpListener.bind(v as unknown as string)).toThrow(TypeError);
    }
  });

  it("parses and prints canonical forms", () => {
    expect(SocketAddr.parse("127.0.0.1:80").toString()).toBe("127.0.0.1:80");
    expect(SocketAddr.parse("[0:0:0:0:0:0:0:1]:443").toString()).toBe("[::1]:443");
    expect(SocketAddr.parse("[FD00:0:0:0:0:0:0:2]:1").toString()).toBe("[fd00::2]:1");
    expect(SocketAddr.parse("[2001:db8:0:0:1:0:0:1]:1").ip).toBe("2001:db8::1:0:0:1");
    expect(SocketAddr.parse("[::ffff:10.0.0.1]:5").ip).toBe("::ffff:10.0.0.1");
    const a = SocketAddr.parse("[fe80::1%3]:9");
    expect([a.ip, a.port, a.family, a.scopeId]).toEqual(["fe80::1", 9, 6, 3]);
  });
});

describe("tokens, interests, events, timeouts", () => {
  it("rejects bad tokens", () => {
    for (const n of [-1, 1.5, 2 ** 53, NaN, Infinity]) expect(() => Token(n)).toThrow(TypeError);
    expect(Token(0)).toBe(0);
    expect(Token(2 ** 53 - 1)).toBe(2 ** 53 - 1);
  });

  it("rejects bad registrations without touching the source", () => {
    const poll = new Poll();
    const l = TcpListener.bind("127.0.0.1:0");
    try {
      const reg = poll.registry();
      expect(() => reg.register(l, -1 as Token, Interest.READABLE)).toThrow(TypeError);
      expect(() => reg.register(l, 0.5 as Token, Interest.READABLE)).toThrow(TypeError);
      expect(() => reg.register(l, Token(1), undefined as unknown as Interest)).toThrow(TypeError);
      expect(() => reg.register(l, Token(1), 1 as unknown as Interest)).toThrow(TypeError);
      expect(() => reg.register({} as Source, Token(1), Interest.READABLE)).toThrow(TypeError);
      expect(() => reg.register(null as unknown as Source, Token(1), Interest.READABLE)).toThrow(TypeError);
      // still registrable afterwards: nothing half-done
      reg.register(l, Token(1), Interest.READABLE);
    } finally {
      l.close();
      poll.close();
    }
  });

  it("an empty interest cannot be made", () => {
    expect(Interest.READABLE.remove(Interest.READABLE)).toBeUndefined();
  });

  it("rejects bad capacities and timeouts", () => {
    for (const c of [0, -1, 1.5, NaN]) expect(() => new Events(c)).toThrow(TypeError);
    const poll = new Poll();
    const events = new Events(1);
    try {
      for (const t of [-1, NaN, "5"]) expect(() => poll.poll(events, t as number)).toThrow(TypeError);
      expect(() => poll.poll({} as Events, 0)).toThrow();
    } finally {
      poll.close();
    }
  });
});

describe("non-buffer arguments", () => {
  it("reads, writes and sends reject non-Uint8Array buffers with a TypeError", () => {
    const l = TcpListener.bind("127.0.0.1:0");
    const s = TcpStream.connect(l.localAddr());
    const u = UdpSocket.bind("127.0.0.1:0");
    try {
      for (const b of ["abc", [1, 2], null, undefined, 5, new Uint16Array(4), new ArrayBuffer(4)]) {
        const buf = b as unknown as Uint8Array;
        expect(() => s.read(buf)).toThrow(TypeError);
        expect(() => s.write(buf)).toThrow(TypeError);
        expect(() => s.peek(buf)).toThrow(TypeError);
        expect(() => s.readv([buf])).toThrow(TypeError);
        expect(() => s.writev(buf as unknown as Uint8Array[])).toThrow(TypeError);
        expect(() => u.sendTo(buf, u.localAddr())).toThrow(TypeError);
        expect(() => u.recvFrom(buf)).toThrow(TypeError);
      }
      expect(() => s.shutdown("sideways" as "read")).toThrow(TypeError);
      expect(() => s.setTtl(0)).toThrow(TypeError);
      expect(() => s.setTtl(256)).toThrow(TypeError);
    } finally {
      s.close();
      l.close();
      u.close();
    }
  });
});

describe("use after close", () => {
  it("every socket method throws IoError EBADF after close(), and close() is idempotent", () => {
    const poll = new Poll();
    const l = TcpListener.bind("127.0.0.1:0");
    const s = TcpStream.connect(l.localAddr());
    const u = UdpSocket.bind("127.0.0.1:0");
    const buf = new Uint8Array(8);
    for (const x of [l, s, u]) x.close();
    for (const x of [l, s, u]) x.close();
    const calls: Array<() => unknown> = [
      () => l.accept(),
      () => l.localAddr(),
      () => l.ttl(),
      () => l.takeError(),
      () => poll.registry().register(l, Token(0), Interest.READABLE),
      () => s.read(buf),
      () => s.write(buf),
      () => s.peek(buf),
      () => s.peerAddr(),
      () => s.shutdown("both"),
      () => s.setNoDelay(true),
      () => poll.registry().deregister(s),
      () => u.sendTo(buf, "127.0.0.1:9"),
      () => u.recvFrom(buf),
      () => u.connect("127.0.0.1:9"),
      () => u.broadcast(),
    ];
    for (const c of calls) expectIoError(c, "EBADF");
    poll.close();
  });

  it("a closed Poll throws EBADF for poll, register and wake", async () => {
    const poll = new Poll();
    const waker = new Waker(poll.registry(), Token(0));
    const l = TcpListener.bind("127.0.0.1:0");
    poll.close();
    poll.close();
    expectIoError(() => poll.poll(new Events(1), 0), "EBADF");
    await expect(poll.pollAsync(new Events(1), 0)).rejects.toMatchObject({ code: "EBADF" });
    expectIoError(() => poll.registry().register(l, Token(1), Interest.READABLE), "EBADF");
    expectIoError(() => waker.wake(), "EBADF");
    l.close();
  });
});
