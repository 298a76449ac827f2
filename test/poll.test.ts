/**
 * mio's tests/poll.rs, plus the Poll facade's contract details (tokens,
 * timeouts, close, pollAsync). mio's helper threads become callbacks that run
 * on the event loop while `pollAsync` waits, or a second process.
 *
 * Not ported: `is_send_and_sync` (Rust's Send/Sync marker traits have no
 * JavaScript counterpart).
 */
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  Events,
  Interest,
  IoError,
  Poll,
  Token,
  UdpSocket,
  type Registry,
  type Source,
  type TcpListener,
  type TcpStream,
} from "../src/index.js";
import { kernelBackend, type Backend } from "./support/backends.js";
import { expectIoError, later, sleepSync, timed, useCleanup } from "./support/harness.js";
import { assertWouldBlock, expectEvents, expectEventsAsync, expectNoEvents, ok, untilReady } from "./support/util.js";

const ID1 = Token(1);
const ID2 = Token(2);
const ID3 = Token(3);
const R = Interest.READABLE;
const W = Interest.WRITABLE;
const RW = R.add(W);

const own = useCleanup();
const text = new TextDecoder();

/** The events of the last poll as plain values (flyweights change on the next poll). */
function summary(events: Events): Array<{ token: number; readable: boolean; writable: boolean }> {
  return [...events].map((e) => ({ token: e.token(), readable: e.isReadable(), writable: e.isWritable() }));
}

/** A connected pair: the client's stream and the server's accepted stream. */
function connectPair(b: Backend, poll: Poll, events: Events): { l: TcpListener; client: TcpStream; server: TcpStream } {
  const l = own(b.server.tcpBind(b.addr()));
  const client = own(b.client.tcpConnect(l.localAddr()));
  const [server] = untilReady(poll, events, () => l.accept());
  own(server);
  return { l, client, server };
}

/** mio's `registry_ops_flow`: every registration call, ending registered with `final`. */
function registryOpsFlow(registry: Registry, source: Source, token: Token, initial: Interest, final: Interest): void {
  registry.register(source, token, initial);
  registry.deregister(source);
  registry.register(source, token, initial);
  registry.reregister(source, token, final);
}

it("run_once_with_nothing", () => {
  const poll = own(new Poll());
  const events = new Events(16);
  const ms = timed(() => poll.poll(events, 100));
  expect(events.isEmpty()).toBe(true);
  expect(ms).toBeGreaterThanOrEqual(99);
});

it("poll_closes_fd", async () => {
  const events = new Events(4);
  const before = readdirSync("/proc/self/fd").length;
  for (let i = 0; i < 2000; i++) {
    const poll = new Poll();
    poll.poll(events, 0);
    poll.close();
  }
  // pollAsync also nests the epoll fd in libuv: closing must release that too
  for (let i = 0; i < 50; i++) {
    const poll = new Poll();
    await poll.pollAsync(events, 1);
    poll.close();
  }
  // a leak would leave thousands (or at least 50) open; allow for the runner's own
  expect(readdirSync("/proc/self/fd").length).toBeLessThan(before + 10);
});

// These scenarios exercise the Poll itself against real time and concurrent
// actors (timers standing in for mio's threads, Wakers): they run on the
// kernel backend. A virtual network in virtual time has neither; its
// readiness is covered by test/virtual_source.test.ts and the socket suites.
for (const b of [kernelBackend]) {
  describe(`poll.rs on ${b.name}`, () => {
    it("add_then_drop", () => {
      const poll = own(b.newPoll());
      const events = new Events(16);
      const l = own(b.server.tcpBind(b.addr()));
      poll.registry().register(l, ID1, RW);
      l.close();
      poll.poll(events, 100);
      expect(summary(events)).toEqual([]);
    });

    it("zero_duration_polls_events", () => {
      const poll = own(b.newPoll());
      const events = new Events(16);
      const l = own(b.server.tcpBind(b.addr()));
      for (let n = 0; n < 3; n++) {
        poll.registry().register(own(b.client.tcpConnect(l.localAddr())), Token(n), W);
      }
      // time for the connections to complete and their events to show up
      sleepSync(10);
      // a zero timeout still asks the kernel for events
      poll.poll(events, 0);
      expect(events.isEmpty()).toBe(false);
      for (const ev of events) {
        expect([0, 1, 2]).toContain(ev.token());
        expect(ev.isWritable()).toBe(true);
      }
    });

    it("readiness_is_reregistered_after_would_block", () => {
      const poll = own(b.newPoll());
      const events = new Events(8);
      const { client, server } = connectPair(b, poll, events);
      poll.registry().register(client, ID1, R);

      expect(server.write(new TextEncoder().encode("hello"))).toBe(5);
      expectEvents(poll, events, [{ token: ID1, readiness: { readable: true } }]);
      const buf = new Uint8Array(16);
      expect(client.read(buf)).toBe(5);
      assertWouldBlock(client.read(buf));
      expectNoEvents(poll, events);

      expect(server.write(new TextEncoder().encode("again"))).toBe(5);
      expectEvents(poll, events, [{ token: ID1, readiness: { readable: true } }]);
      const n = ok(client.read(buf));
      expect(text.decode(buf.subarray(0, n))).toBe("again");
    });

    it("drop_cancels_interest_and_shuts_down", () => {
      const poll = own(b.newPoll());
      const events = new Events(16);
      const l = own(b.server.tcpBind(b.addr()));
      const stream = own(b.client.tcpConnect(l.localAddr()));
      poll.registry().register(stream, ID1, RW);
      expectEvents(poll, events, [{ token: ID1, readiness: { writable: true } }]);
      const buf = new Uint8Array(1024);
      assertWouldBlock(stream.read(buf));

      const [peer] = untilReady(poll, events, () => l.accept());
      own(peer);
      // mio's drop: closing deregisters and shuts the connection down cleanly
      stream.close();
      expect(untilReady(poll, events, () => peer.read(buf))).toBe(0);
      expectNoEvents(poll, events);
    });

    it("registry_behind_arc", async () => {
      const poll = own(b.newPoll());
      const events = new Events(128);
      const registry = poll.registry().tryClone();
      const l = own(b.server.tcpBind(b.addr()));
      const addr = l.localAddr();
      // the two registering "threads" run while pollAsync waits
      const helpers = Promise.all([
        later(() => registry.register(l, Token(0), R)),
        later(() => registry.register(own(b.client.tcpConnect(addr)), ID1, RW)),
      ]);
      await poll.pollAsync(events, 1000);
      await helpers;
      expect(events.length).toBeGreaterThanOrEqual(1);
      for (const ev of events) expect([0, 1]).toContain(ev.token());
    });

    it("registry_operations_are_thread_safe", async () => {
      const poll = own(b.newPoll());
      const events = new Events(16);
      const registry = poll.registry().tryClone();
      const l = own(b.server.tcpBind(b.addr()));
      const addr = l.localAddr();
      await Promise.all([
        later(() => registryOpsFlow(registry.tryClone(), l, ID1, R, R)),
        later(() => registryOpsFlow(registry.tryClone(), own(b.server.udpBind(b.addr())), ID2, W, W.add(R))),
        later(() => registryOpsFlow(registry.tryClone(), own(b.client.tcpConnect(addr)), ID3, R, RW)),
      ]);
      await expectEventsAsync(poll, events, [
        { token: ID1, readiness: { readable: true } },
        { token: ID2, readiness: { writable: true } },
        { token: ID3, readiness: { writable: true } },
      ]);
    });

    it("register_during_poll", async () => {
      const poll = own(b.newPoll());
      const events = new Events(16);
      const registry = poll.registry().tryClone();
      const socket = own(b.server.udpBind(b.addr()));
      const registering = later(() => registry.register(socket, ID1, W), 200);
      const t0 = performance.now();
      await poll.pollAsync(events, 5000);
      await registering;
      // woken by the registration, not by the timeout
      expect(performance.now() - t0).toBeLessThan(4000);
      expect(summary(events)).toEqual([{ token: ID1, readable: false, writable: true }]);
    });

    it("reregister_interest_token_usage", () => {
      const poll = own(b.newPoll());
      const events = new Events(16);
      const socket = own(b.server.udpBind(b.addr()));
      poll.registry().register(socket, ID1, R);
      poll.registry().reregister(socket, ID1, R);
      poll.registry().reregister(socket, ID2, W);
      // the last reregister replaces both token and interest
      poll.poll(events, 1000);
      expect(summary(events)).toEqual([{ token: ID2, readable: false, writable: true }]);
      expectNoEvents(poll, events);
    });

    it("double_register_different_token", () => {
      const poll = own(b.newPoll());
      const l = own(b.server.tcpBind(b.addr()));
      poll.registry().register(l, Token(0), R);
      expectIoError(() => poll.registry().register(l, Token(1), R), "EEXIST", "already registered");
    });

    it("poll_ok_after_cancelling_pending_ops", () => {
      const poll = own(b.newPoll());
      const events = new Events(16);
      const registry = poll.registry().tryClone();
      const l = own(b.server.tcpBind(b.addr()));
      registry.register(l, ID1, R);
      poll.poll(events, 0);
      registry.reregister(l, ID2, R);

      const stream = own(b.client.tcpConnect(l.localAddr()));
      expectEvents(poll, events, [{ token: ID2, readiness: { readable: true } }]);
      own(ok(l.accept())[0]);
      registry.register(stream, ID3, W);
      expectEvents(poll, events, [{ token: ID3, readiness: { writable: true } }]);
    });

    it("reregister_without_register", () => {
      const poll = own(b.newPoll());
      const l = own(b.server.tcpBind(b.addr()));
      expectIoError(() => poll.registry().reregister(l, ID1, R), "ENOENT", "not registered");
    });

    it("deregister_without_register", () => {
      const poll = own(b.newPoll());
      const l = own(b.server.tcpBind(b.addr()));
      expectIoError(() => poll.registry().deregister(l), "ENOENT", "not registered");
    });
  });
}

it("poll_registration", () => {
  const poll = own(new Poll());
  const registry = poll.registry();
  const source = {
    registrations: [] as Array<[Token, Interest]>,
    reregistrations: [] as Array<[Token, Interest]>,
    deregisterCount: 0,
    register(_r: Registry, token: Token, interest: Interest): void {
      this.registrations.push([token, interest]);
    },
    reregister(_r: Registry, token: Token, interest: Interest): void {
      this.reregistrations.push([token, interest]);
    },
    deregister(): void {
      this.deregisterCount++;
    },
  };
  registry.register(source, Token(0), R);
  expect(source.registrations).toEqual([[0, R]]);
  expect(source.reregistrations).toEqual([]);
  expect(source.deregisterCount).toBe(0);

  registry.reregister(source, Token(0), R);
  expect(source.registrations.length).toBe(1);
  expect(source.reregistrations).toEqual([[0, R]]);
  expect(source.deregisterCount).toBe(0);

  registry.deregister(source);
  expect(source.registrations.length).toBe(1);
  expect(source.reregistrations.length).toBe(1);
  expect(source.deregisterCount).toBe(1);
});

it("poll_erroneous_registration", () => {
  const poll = own(new Poll());
  const registry = poll.registry();
  const source: Source = {
    register: () => {
      throw new IoError("EIO", "register");
    },
    reregister: () => {
      throw new IoError("EIO", "reregister");
    },
    deregister: () => {
      throw new IoError("EIO", "deregister");
    },
  };
  expectIoError(() => registry.register(source, Token(0), R), "EIO", "register");
  expectIoError(() => registry.reregister(source, Token(0), R), "EIO", "reregister");
  expectIoError(() => registry.deregister(source), "EIO", "deregister");
});

describe("Token", () => {
  it("accepts non-negative safe integers", () => {
    expect(Token(0)).toBe(0);
    expect(Token(Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it.each([-1, 1.5, 2 ** 53, Number.NaN, Infinity])("Token(%s) throws TypeError", (n) => {
    expect(() => Token(n)).toThrow(TypeError);
  });

  it("register rejects a bad token before the source sees it", () => {
    const poll = own(new Poll());
    let called = false;
    const source: Source = {
      register: () => void (called = true),
      reregister: () => void (called = true),
      deregister: () => void (called = true),
    };
    expect(() => poll.registry().register(source, -1 as Token, R)).toThrow(TypeError);
    expect(() => poll.registry().reregister(source, 1.5 as Token, R)).toThrow(TypeError);
    expect(called).toBe(false);
  });

  it("a token up to 2**53-1 comes back intact in events", () => {
    const poll = own(new Poll());
    const events = new Events(4);
    const socket = own(UdpSocket.bind("127.0.0.1:0"));
    const big = Token(Number.MAX_SAFE_INTEGER);
    poll.registry().register(socket, big, W);
    expectEvents(poll, events, [{ token: big, readiness: { writable: true } }]);
  });
});

describe("timeouts", () => {
  it("0 never sleeps", async () => {
    const poll = own(new Poll());
    const events = new Events(4);
    // a 0 rounded up to 1 ms would make 100 polls last >= 100 ms
    expect(timed(() => {
      for (let i = 0; i < 100; i++) poll.poll(events, 0);
    })).toBeLessThan(50);
    const t0 = performance.now();
    for (let i = 0; i < 100; i++) await poll.pollAsync(events, 0);
    expect(performance.now() - t0).toBeLessThan(50);
  });

  it("a fractional timeout (0.3 ms) waits a whole millisecond", async () => {
    const poll = own(new Poll());
    const events = new Events(4);
    for (let i = 0; i < 5; i++) {
      expect(timed(() => poll.poll(events, 0.3))).toBeGreaterThanOrEqual(1);
      const t0 = performance.now();
      await poll.pollAsync(events, 0.3);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(1);
    }
    expect(events.isEmpty()).toBe(true);
  });

  it.each([-1, Number.NaN, "5"])("timeout %s throws TypeError", async (t) => {
    const poll = own(new Poll());
    const events = new Events(4);
    expect(() => poll.poll(events, t as number)).toThrow(TypeError);
    await expect(poll.pollAsync(events, t as number)).rejects.toThrow(TypeError);
  });

  it("null blocks until an event arrives (sent by a second process)", async () => {
    const poll = own(new Poll());
    const events = new Events(4);
    const socket = own(UdpSocket.bind("127.0.0.1:0"));
    poll.registry().register(socket, ID1, R);
    const port = socket.localAddr().port;
    const code =
      `const s = require("node:dgram").createSocket("udp4");` +
      `const send = (m, then) => s.send(m, ${port}, "127.0.0.1", then);` +
      `send("ready", () => setTimeout(() => send("event", () => s.close()), 300));`;
    const child = spawn(process.execPath, ["-e", code], { stdio: "ignore" });
    // a child that cannot start shows up as the missing "ready" datagram below
    child.on("error", () => undefined);
    try {
      const buf = new Uint8Array(16);
      // bounded wait for the child to be up before blocking on it
      await expectEventsAsync(poll, events, [{ token: ID1, readiness: { readable: true } }], 10_000);
      expect(text.decode(buf.subarray(0, ok(socket.recvFrom(buf))[0]))).toBe("ready");
      assertWouldBlock(socket.recvFrom(buf));

      const ms = timed(() => poll.poll(events, null));
      expect(summary(events)).toEqual([{ token: ID1, readable: true, writable: false }]);
      expect(ms).toBeGreaterThanOrEqual(100);
      expect(text.decode(buf.subarray(0, ok(socket.recvFrom(buf))[0]))).toBe("event");
    } finally {
      child.kill();
    }
  });
});

describe("close", () => {
  it("poll, pollAsync and register throw EBADF after close()", async () => {
    const poll = new Poll();
    const events = new Events(4);
    const socket = own(UdpSocket.bind("127.0.0.1:0"));
    poll.close();
    poll.close(); // idempotent
    expectIoError(() => poll.poll(events, 0), "EBADF");
    await expect(poll.pollAsync(events, 0)).rejects.toMatchObject({ code: "EBADF" });
    expectIoError(() => poll.registry().register(socket, ID1, R), "EBADF");
  });

  it("a pending pollAsync returns without events when the poll is closed", async () => {
    const poll = new Poll();
    const events = new Events(4);
    const socket = own(UdpSocket.bind("127.0.0.1:0"));
    poll.registry().register(socket, ID1, R);
    const t0 = performance.now();
    const closing = later(() => poll.close(), 20);
    await poll.pollAsync(events, 5000);
    await closing;
    expect(performance.now() - t0).toBeLessThan(4000);
    expect(events.isEmpty()).toBe(true);
  });
});

describe("pollAsync", () => {
  it("does not block the event loop while it waits", async () => {
    const poll = own(new Poll());
    const events = new Events(4);
    let ticks = 0;
    const interval = setInterval(() => ticks++, 10);
    try {
      await poll.pollAsync(events, 200);
    } finally {
      clearInterval(interval);
    }
    expect(events.isEmpty()).toBe(true);
    expect(ticks).toBeGreaterThanOrEqual(5);
  });

  it("does not spin while it waits", async () => {
    const poll = own(new Poll());
    const events = new Events(4);
    poll.registry().register(own(UdpSocket.bind("127.0.0.1:0")), ID1, R);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await poll.pollAsync(events, 200);
    const waited = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    expect(waited).toBeGreaterThanOrEqual(199);
    // a busy loop would burn about as much CPU as it waited
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(50);
  });

  it("returns as soon as a kernel event arrives", async () => {
    const poll = own(new Poll());
    const events = new Events(4);
    const a = own(UdpSocket.bind("127.0.0.1:0"));
    const c = own(UdpSocket.bind("127.0.0.1:0"));
    poll.registry().register(a, ID1, R);
    const sending = later(() => c.sendTo(new Uint8Array([1]), a.localAddr()), 50);
    const t0 = performance.now();
    await poll.pollAsync(events, null);
    expect(await sending).toBe(1);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(summary(events)).toEqual([{ token: ID1, readable: true, writable: false }]);
  });

  it("refuses a second poll while one is pending (EBUSY)", async () => {
    const poll = own(new Poll());
    const events = new Events(4);
    const pending = poll.pollAsync(events, 50);
    expectIoError(() => poll.poll(new Events(4), 0), "EBUSY");
    await expect(poll.pollAsync(new Events(4), 0)).rejects.toMatchObject({ code: "EBUSY" });
    await pending;
    poll.poll(events, 0);
  });
});
