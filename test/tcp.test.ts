/**
 * Ports of mio's tests/tcp.rs, run against every backend.
 *
 * Not applicable:
 * - assert_size: checks Rust memory layout (a socket is one fd in size).
 * - is_send_and_sync: Rust's thread-safety marker traits; JS sockets belong to one thread.
 *
 * Adapted:
 * - mio's helper threads with std sockets are {@link Peer} tasks with sockets of
 *   the same backend; channels and barriers become the order of the statements.
 * - read / peek / write / multiple_writes_immediate_success check the bytes (a
 *   pattern), not only the count.
 * - connection_reset_by_peer: mio resets with SO_LINGER 0, which the contract
 *   has no call for. Closing a socket that has unread data resets the
 *   connection too (RFC 2525 2.17, as Linux does), so the client closes with
 *   data in its receive queue. mio accepts 0 or an error from the read; the
 *   kernel's answer is ECONNRESET, then end of stream.
 * - connect_error: the refused port is one just released by a listener, not a
 *   fixed "random" port; the kernel's events and errors are asserted exactly.
 * - write_error: the error must be EPIPE (the kernel's answer), not any error.
 *
 * Also here (not in mio): Network-level bad inputs are TypeErrors.
 */
import { describe, expect, it } from "vitest";
import { Events, Interest, IoError, Token, WOULD_BLOCK, type Poll, type TcpListener, type TcpStream } from "../src/index.js";
import { backends, type Backend } from "./support/backends.js";
import { assertWouldBlock, expectEvents, expectNoEvents, ok } from "./support/util.js";
import {
  Peer,
  STEP_TIMEOUT_MS,
  checkedWrite,
  connect,
  expectPattern,
  expectRead,
  fillPattern,
  ioErrorCode,
  listen,
  nextBatch,
  nextBatchAsync,
  own,
  type Seen,
} from "./support/tcp.js";

const R = Interest.READABLE;
const W = Interest.WRITABLE;
const RW = R.add(W);
/** mio's transfer size for read / peek / write */
const N = 16 * 1024 * 1024;
/** a deadline for the 16 MiB transfers */
const TRANSFER_TIMEOUT_MS = 20_000;

/**
 * mio's `read` and `peek` scenarios: a peer writes N pattern bytes; the test
 * reads them on READABLE events, checking every byte. With `peekFirst`, each
 * event first peeks (which must see what read returns; a peek that would
 * block re-arms readiness, so the loop waits for the next event).
 */
async function readPatternFrom(b: Backend, peekFirst: boolean): Promise<void> {
  const poll = own(b.newPoll());
  const events = new Events(128);
  const listener = listen(b);
  const peer = new Peer(b);
  peer.spawn(async () => {
    const [server] = await peer.accept(listener);
    const chunk = new Uint8Array(1024);
    for (let amt = 0; amt < N; amt += chunk.length) await peer.writeAll(server, fillPattern(chunk, amt));
  });
  const stream = connect(b, listener.localAddr());
  poll.registry().register(stream, Token(1), R);

  let amt = 0;
  const buf = new Uint8Array(1024);
  const deadline = Date.now() + TRANSFER_TIMEOUT_MS;
  while (amt < N) {
    expect(Date.now(), `read ${amt} of ${N} bytes in time`).toBeLessThan(deadline);
    await poll.pollAsync(events, 100);
    for (const ev of events) {
      expect(ev.token()).toBe(Token(1));
      if (peekFirst) {
        const p = stream.peek(buf);
        if (p === WOULD_BLOCK) continue;
        expectPattern(buf.subarray(0, p), amt);
      }
      for (let r = stream.read(buf); r !== WOULD_BLOCK && amt < N; r = stream.read(buf)) {
        expect(r, "end of stream before all bytes").toBeGreaterThan(0);
        expectPattern(buf.subarray(0, r), amt);
        amt += r;
      }
    }
  }
  expect(amt).toBe(N);
  await peer.join();
}

/** Polls batches until `done(event)` holds for one, checking every event with `each`. */
function pollUntil(
  poll: Poll,
  events: Events,
  done: (ev: Seen) => boolean,
  each: (ev: Seen) => void = () => {},
): void {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    let found = false;
    for (const ev of nextBatch(poll, events, Math.max(1, deadline - Date.now()))) {
      each(ev);
      if (done(ev)) found = true;
    }
    if (found) return;
  }
  throw new Error("expected event not seen in time");
}

/** Polls until `listener`'s event (with `token`) brings a connection, and accepts it. */
function acceptOnEvent(poll: Poll, events: Events, listener: TcpListener, token: Token): TcpStream {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    for (const ev of nextBatch(poll, events, Math.max(1, deadline - Date.now()))) {
      if (ev.token !== token) continue;
      const r = listener.accept();
      if (r !== WOULD_BLOCK) return own(r[0]);
    }
  }
  throw new Error("no connection accepted in time");
}

for (const b of backends) {
  describe(b.name, () => {
    it("accept", () => {
      const poll = own(b.newPoll());
      const events = new Events(128);
      const listener = listen(b);
      poll.registry().register(listener, Token(1), R);
      connect(b, listener.localAddr());

      const batch = nextBatch(poll, events);
      expect(batch).toHaveLength(1);
      expect(batch[0]).toMatchObject({ token: Token(1), readable: true });
      own(ok(listener.accept())[0]);
      assertWouldBlock(listener.accept());
    });

    it("connect", async () => {
      const poll = own(b.newPoll());
      const events = new Events(128);
      const listener = listen(b);
      const peer = new Peer(b);
      const stream = connect(b, listener.localAddr());
      poll.registry().register(stream, Token(1), RW);

      // first the connection completes...
      const first = nextBatch(poll, events);
      expect(first).toHaveLength(1);
      expect(first[0]).toMatchObject({ token: Token(1), writable: true });

      // ...then the peer accepts and drops it: readable (end of stream)
      const [server] = await peer.accept(listener);
      server.close();
      const second = await nextBatchAsync(poll, events);
      expect(second).toHaveLength(1);
      expect(second[0]).toMatchObject({ token: Token(1), readable: true });
      expect(stream.read(new Uint8Array(8))).toBe(0);
    });

    it("read", async () => {
      await readPatternFrom(b, false);
    });

    it("peek", async () => {
      await readPatternFrom(b, true);
    });

    it("write", async () => {
      const poll = own(b.newPoll());
      const events = new Events(128);
      const listener = listen(b);
      const peer = new Peer(b);
      let received = 0;
      peer.spawn(async () => {
        const [server] = await peer.accept(listener);
        const buf = new Uint8Array(1024);
        while (received < N) {
          const n = await peer.read(server, buf);
          expect(n, "end of stream before all bytes").toBeGreaterThan(0);
          expectPattern(buf.subarray(0, n), received);
          received += n;
        }
      });
      const stream = connect(b, listener.localAddr());
      poll.registry().register(stream, Token(1), W);

      let amt = 0;
      const chunk = new Uint8Array(1024);
      const deadline = Date.now() + TRANSFER_TIMEOUT_MS;
      while (amt < N) {
        expect(Date.now(), `wrote ${amt} of ${N} bytes in time`).toBeLessThan(deadline);
        await poll.pollAsync(events, 100);
        for (const ev of events) {
          expect(ev.token()).toBe(Token(1));
          while (amt < N) {
            const r = stream.write(fillPattern(chunk.subarray(0, Math.min(chunk.length, N - amt)), amt));
            if (r === WOULD_BLOCK) break;
            // a short write: the rest of the chunk is written from its offset next time
            amt += r;
          }
        }
      }
      await peer.join();
      expect(received).toBe(N);
    });

    it("connect_then_close", () => {
      const poll = own(b.newPoll());
      const events = new Events(128);
      const listener = listen(b);
      const s = connect(b, listener.localAddr());
      poll.registry().register(listener, Token(1), R);
      poll.registry().register(s, Token(2), R);

      pollUntil(
        poll,
        events,
        (ev) => ev.token === Token(2),
        (ev) => {
          if (ev.token !== Token(1)) return;
          const accepted = own(ok(listener.accept())[0]);
          poll.registry().register(accepted, Token(3), RW);
          accepted.close();
        },
      );
      // the client was woken by the end of stream
      expect(s.read(new Uint8Array(8))).toBe(0);
    });

    it("listen_then_close", () => {
      const poll = own(b.newPoll());
      const events = new Events(128);
      const listener = listen(b);
      poll.registry().register(listener, Token(1), R);
      listener.close();
      expectNoEvents(poll, events, 100);
    });

    it("bind_twice_bad", () => {
      for (const family of [4, 6] as const) {
        const l1 = listen(b, family);
        expect(ioErrorCode(() => own(b.server.tcpBind(l1.localAddr())))).toBe("EADDRINUSE");
      }
    });

    it("multiple_writes_immediate_success", async () => {
      const poll = own(b.newPoll());
      const events = new Events(16);
      const writes = 16;
      const listener = listen(b);
      const peer = new Peer(b);
      let received = 0;
      peer.spawn(async () => {
        const [server] = await peer.accept(listener);
        const buf = new Uint8Array(1024);
        while (received < 1024 * writes) {
          buf.fill(0);
          const n = await peer.read(server, buf);
          expect(n, "end of stream before all bytes").toBeGreaterThan(0);
          expect(buf.subarray(0, n).every((x) => x === 1)).toBe(true);
          received += n;
        }
      });
      const s = connect(b, listener.localAddr());
      poll.registry().register(s, Token(1), W);

      // wait for the connection
      for (let found = false; !found; ) {
        found = (await nextBatchAsync(poll, events)).some((ev) => ev.token === Token(1) && ev.writable);
      }
      // each write goes through whole, without blocking
      const ones = new Uint8Array(1024).fill(1);
      for (let i = 0; i < writes; i++) checkedWrite(s, ones);

      await peer.join();
      expect(received).toBe(1024 * writes);
    });

    it("connection_reset_by_peer", () => {
      const poll = own(b.newPoll());
      const events = new Events(16);
      const listener = listen(b);
      const client = connect(b, listener.localAddr());
      poll.registry().register(listener, Token(0), R);
      poll.registry().register(client, Token(1), RW);

      const server = acceptOnEvent(poll, events, listener, Token(0));

      // data the client never reads: closing it now resets the connection
      checkedWrite(server, new Uint8Array([1, 2, 3]));
      expectEvents(poll, events, [{ token: Token(1), readiness: { readable: true } }]);
      client.close();

      poll.registry().register(server, Token(3), R);
      expectEvents(poll, events, [{ token: Token(3), readiness: { readable: true } }]);
      expect(ioErrorCode(() => server.read(new Uint8Array(16)))).toBe("ECONNRESET");
      expect(server.read(new Uint8Array(16))).toBe(0);
    });

    it("linger_zero_close_resets", () => {
      const poll = own(b.newPoll());
      const events = new Events(16);
      const listener = listen(b);
      const client = connect(b, listener.localAddr());
      poll.registry().register(listener, Token(0), R);
      poll.registry().register(client, Token(1), RW);
      const server = acceptOnEvent(poll, events, listener, Token(0));
      expect(() => client.setLinger(-1)).toThrow(TypeError);
      expect(() => client.setLinger(1.5)).toThrow(TypeError);
      client.setLinger(5);
      client.setLinger(null);
      client.setLinger(0);
      // nothing unread on either side: only SO_LINGER 0 makes this close a reset
      client.close();
      poll.registry().register(server, Token(3), R);
      expectEvents(poll, events, [{ token: Token(3), readiness: { readable: true } }]);
      expect(ioErrorCode(() => server.read(new Uint8Array(16)))).toBe("ECONNRESET");
    });

    it("connect_error", () => {
      const poll = own(b.newPoll());
      const events = new Events(16);
      // a port nobody listens on: one a listener just gave back
      const gone = b.server.tcpBind(b.addr());
      const addr = gone.localAddr();
      gone.close();

      const stream = connect(b, addr);
      poll.registry().register(stream, Token(0), W);
      pollUntil(
        poll,
        events,
        (ev) => ev.token === Token(0),
        (ev) => {
          expect(ev.token).toBe(Token(0));
          expect(ev.error, ev.text).toBe(true);
          expect(ev.writeClosed, ev.text).toBe(true);
        },
      );
      expect(stream.takeError()?.code).toBe("ECONNREFUSED");
      expect(stream.takeError()).toBeNull(); // taking the error clears it
      expect(ioErrorCode(() => stream.peerAddr())).toBe("ENOTCONN");
    });

    it("write_error", async () => {
      const poll = own(b.newPoll());
      const events = new Events(16);
      const listener = listen(b);
      const peer = new Peer(b);
      const s = connect(b, listener.localAddr());
      poll.registry().register(s, Token(0), RW);

      const waitWritable = async (): Promise<void> => {
        for (let found = false; !found; ) {
          found = (await nextBatchAsync(poll, events)).some((ev) => ev.token === Token(0) && ev.writable);
        }
      };
      await waitWritable();

      // the peer drops the connection
      const [server] = await peer.accept(listener);
      server.close();

      const buf = new Uint8Array(1024);
      let code: string | undefined;
      for (let i = 0; i < 10_000 && code === undefined; i++) {
        try {
          const r = s.write(buf);
          if (r === WOULD_BLOCK) await waitWritable();
          else expect(r).toBeGreaterThan(0);
        } catch (e) {
          expect(e).toBeInstanceOf(IoError);
          code = (e as IoError).code;
        }
      }
      expect(code).toBe("EPIPE");
    });

    it("write_shutdown", async () => {
      const poll = own(b.newPoll());
      const events = new Events(16);
      const listener = listen(b);
      const peer = new Peer(b);
      const client = connect(b, listener.localAddr());
      poll.registry().register(client, Token(0), RW);
      const [socket] = await peer.accept(listener);

      pollUntil(
        poll,
        events,
        (ev) => ev.token === Token(0) && ev.writable,
        (ev) => expect(ev.readClosed || ev.writeClosed, ev.text).toBe(false),
      );
      expectNoEvents(poll, events, 100);

      socket.shutdown("write");
      pollUntil(
        poll,
        events,
        (ev) => ev.token === Token(0) && ev.readable,
        (ev) => expect(ev.readClosed, ev.text).toBe(true),
      );
    });

    it("local_addr_ready", () => {
      const LISTEN = Token(0);
      const CLIENT = Token(1);
      const SERVER = Token(2);
      const poll = own(b.newPoll());
      const events = new Events(1024);
      const server = listen(b);
      const addr = server.localAddr();
      poll.registry().register(server, LISTEN, R);
      const sock = connect(b, addr);
      poll.registry().register(sock, CLIENT, R);

      let accepted: TcpStream | null = null;
      pollUntil(
        poll,
        events,
        (ev) => ev.token === CLIENT,
        (ev) => {
          if (ev.token === LISTEN) {
            accepted = own(ok(server.accept())[0]);
            poll.registry().register(accepted, SERVER, W);
          } else if (ev.token === SERVER) {
            const a = accepted!;
            expect(a.peerAddr().toString()).toBe(sock.localAddr().toString());
            expect(a.localAddr().toString()).toBe(addr.toString());
            expect(a.write(new Uint8Array([1, 2, 3]))).toBe(3);
            a.close();
            accepted = null;
          } else if (ev.token === CLIENT) {
            expect(sock.peerAddr().toString()).toBe(addr.toString());
            sock.localAddr();
          } else {
            throw new Error(`unexpected token ${ev.token}`);
          }
        },
      );
      expectRead(sock, "read", new Uint8Array([1, 2, 3]));
    });

    it("write_then_drop", () => {
      const poll = own(b.newPoll());
      const a = listen(b);
      const s = connect(b, a.localAddr());
      poll.registry().register(a, Token(1), R);
      poll.registry().register(s, Token(3), R);

      let batch = nextBatch(poll, new Events(1024));
      expect(batch.map((e) => e.token)).toEqual([Token(1)]);

      const s2 = own(ok(a.accept())[0]);
      poll.registry().register(s2, Token(2), W);
      batch = nextBatch(poll, new Events(1024));
      expect(batch.map((e) => e.token)).toEqual([Token(2)]);

      checkedWrite(s2, new Uint8Array([1, 2, 3, 4]));
      s2.close();

      poll.registry().reregister(s, Token(3), R);
      batch = nextBatch(poll, new Events(1024));
      expect(batch.map((e) => e.token)).toEqual([Token(3)]);
      expectRead(s, "read", new Uint8Array([1, 2, 3, 4]));
    });

    it("write_then_deregister", () => {
      const poll = own(b.newPoll());
      const a = listen(b);
      const s = connect(b, a.localAddr());
      poll.registry().register(a, Token(1), R);
      poll.registry().register(s, Token(3), R);

      let batch = nextBatch(poll, new Events(1024));
      expect(batch.map((e) => e.token)).toEqual([Token(1)]);

      const s2 = own(ok(a.accept())[0]);
      poll.registry().register(s2, Token(2), W);
      batch = nextBatch(poll, new Events(1024));
      expect(batch.map((e) => e.token)).toEqual([Token(2)]);

      checkedWrite(s2, new Uint8Array([1, 2, 3, 4]));
      poll.registry().deregister(s2);

      poll.registry().reregister(s, Token(3), R);
      batch = nextBatch(poll, new Events(1024));
      expect(batch.map((e) => e.token)).toEqual([Token(3)]);
      expectRead(s, "read", new Uint8Array([1, 2, 3, 4]));
    });

    it("tcp_no_events_after_deregister", () => {
      const ID1 = Token(1);
      const ID2 = Token(2);
      const ID3 = Token(3);
      const poll = own(b.newPoll());
      const events = new Events(16);
      const listener = listen(b);
      const addr = listener.localAddr();
      const stream = connect(b, addr);
      poll.registry().register(listener, ID1, R);
      poll.registry().register(stream, ID3, R);
      expectEvents(poll, events, [{ token: ID1, readiness: { readable: true } }]);

      const [stream2, peerAddress] = ok(listener.accept());
      own(stream2);
      expect(peerAddress.toString()).toBe(stream.localAddr().toString());
      expect(stream2.peerAddr().toString()).toBe(peerAddress.toString());
      expect(stream2.localAddr().toString()).toBe(addr.toString());

      poll.registry().register(stream2, ID2, W);
      expectEvents(poll, events, [{ token: ID2, readiness: { writable: true } }]);
      checkedWrite(stream2, new Uint8Array([1, 2, 3, 4]));
      expectEvents(poll, events, [{ token: ID3, readiness: { readable: true } }]);

      poll.registry().deregister(listener);
      poll.registry().deregister(stream);
      poll.registry().deregister(stream2);
      expectNoEvents(poll, events);

      expectRead(stream, "read", new Uint8Array([1, 2, 3, 4]));
      checkedWrite(stream2, new Uint8Array([1, 2, 3, 4]));
      expectNoEvents(poll, events, 200); // also mio's 200 ms sleep
      expectRead(stream, "read", new Uint8Array([1, 2, 3, 4]));
      expectNoEvents(poll, events);
    });

    it("network_bad_inputs_are_type_errors", () => {
      const bad: unknown[] = [
        "nonsense",
        "",
        "127.0.0.1",
        "127.0.0.1:",
        "127.0.0.1:70000",
        "[::1]:70000",
        "127.0.0.1:-1",
        "256.0.0.1:80",
        "::1:80",
        "[::1:80",
        "localhost:80",
        80,
        null,
        undefined,
        {},
        { ip: "127.0.0.1", port: 80 },
      ];
      for (const addr of bad) {
        const a = addr as string;
        expect(() => own(b.server.tcpBind(a)), `tcpBind(${String(addr)})`).toThrow(TypeError);
        expect(() => own(b.client.tcpConnect(a)), `tcpConnect(${String(addr)})`).toThrow(TypeError);
      }
    });
  });
}
