/**
 * Ports of mio's tests/tcp_listener.rs, run against every backend.
 *
 * Not applicable:
 * - is_send_and_sync: Rust's thread-safety marker traits.
 * - tcp_listener_std: wraps a `std::net::TcpListener` (`from_std`); the
 *   contract has no conversion from another socket type.
 * - raw_fd: `as_raw_fd` / `into_raw_fd` / `from_raw_fd` are not in the contract.
 *
 * Adapted:
 * - mio's `start_connections` thread (connect, wait on a barrier, drop) is a
 *   non-blocking connect from the backend's client side that the test holds
 *   until it ends. "The peer address is loopback" is checked exactly: it is the
 *   connecting stream's local address.
 * - The non-blocking / close-on-exec check of the smoke tests is made for the
 *   kernel backend only (virtual sockets have no descriptor).
 * - The TTL scenarios run for IPv4 and IPv6 (hop limit).
 *
 * Also here (not in mio): accepted streams take the listener's TTL, bad
 * arguments, use after close.
 */
import { describe, expect, it } from "vitest";
import { Events, Interest, Token, type SocketAddr, type TcpListener, type TcpStream } from "../src/index.js";
import { backends, type Backend } from "./support/backends.js";
import { expectNonBlockingCloexec } from "./support/fdinfo.js";
import { assertWouldBlock, expectEvents, expectNoEvents, ok } from "./support/util.js";
import { connect, ioErrorCode, listen, own } from "./support/tcp.js";

const R = Interest.READABLE;
const ID1 = Token(0);
const ID2 = Token(1);
const FAMILIES = [4, 6] as const;
const suffix = (family: 4 | 6): string => (family === 6 ? " (ipv6)" : "");

/**
 * Accepts the one pending connection from `client` and checks the addresses
 * on both ends, then that no other connection is pending.
 */
function acceptExpected(listener: TcpListener, address: SocketAddr, client: TcpStream): TcpStream {
  const [stream, peerAddress] = ok(listener.accept());
  own(stream);
  expect(peerAddress.toString()).toBe(client.localAddr().toString());
  expect(stream.peerAddr().toString()).toBe(peerAddress.toString());
  expect(stream.localAddr().toString()).toBe(address.toString());
  assertWouldBlock(listener.accept());
  expect(listener.takeError()).toBeNull();
  return stream;
}

/** mio's `smoke_test_tcp_listener`. */
function smokeTestTcpListener(b: Backend, family: 4 | 6): void {
  const poll = own(b.newPoll());
  const events = new Events(16);
  const listener = listen(b, family);
  const address = listener.localAddr();
  if (b.name === "kernel") expectNonBlockingCloexec(listener);

  poll.registry().register(listener, ID1, R);
  const client = connect(b, address);
  expectEvents(poll, events, [{ token: ID1, readiness: { readable: true } }]);

  const stream = acceptExpected(listener, address, client);
  // the accepted stream is non-blocking too
  assertWouldBlock(stream.read(new Uint8Array(20)));
}

for (const b of backends) {
  describe(b.name, () => {
    it("tcp_listener", () => smokeTestTcpListener(b, 4));

    it("tcp_listener_ipv6", () => smokeTestTcpListener(b, 6));

    for (const family of FAMILIES) {
      it(`set_get_ttl${suffix(family)}`, () => {
        const listener = listen(b, family);
        listener.setTtl(10);
        expect(listener.ttl()).toBe(10);
        expect(listener.takeError()).toBeNull();
      });

      it(`get_ttl_without_previous_set${suffix(family)}`, () => {
        const listener = listen(b, family);
        const ttl = listener.ttl();
        expect(Number.isInteger(ttl) && ttl >= 1 && ttl <= 255, `ttl ${ttl}`).toBe(true);
        expect(listener.takeError()).toBeNull();
      });

      it(`accepted_stream_takes_listener_ttl${suffix(family)}`, () => {
        const poll = own(b.newPoll());
        const events = new Events(16);
        const listener = listen(b, family);
        listener.setTtl(17);
        poll.registry().register(listener, ID1, R);
        const client = connect(b, listener.localAddr());
        expectEvents(poll, events, [{ token: ID1, readiness: { readable: true } }]);
        const stream = acceptExpected(listener, listener.localAddr(), client);
        expect(stream.ttl()).toBe(17);
        expect(client.ttl()).not.toBe(17);
      });
    }

    it("registering", () => {
      const poll = own(b.newPoll());
      const events = new Events(16);
      const listener = listen(b);
      poll.registry().register(listener, ID1, R);
      expectNoEvents(poll, events);
    });

    it("reregister", () => {
      const poll = own(b.newPoll());
      const events = new Events(16);
      const listener = listen(b);
      const address = listener.localAddr();
      poll.registry().register(listener, ID1, R);
      poll.registry().reregister(listener, ID2, R);

      const client = connect(b, address);
      expectEvents(poll, events, [{ token: ID2, readiness: { readable: true } }]);
      acceptExpected(listener, address, client);
    });

    it("no_events_after_deregister", () => {
      const poll = own(b.newPoll());
      const events = new Events(16);
      const listener = listen(b);
      const address = listener.localAddr();
      poll.registry().register(listener, ID1, R);

      const client = connect(b, address);
      poll.registry().deregister(listener);
      expectNoEvents(poll, events);

      // the connection can still be accepted
      acceptExpected(listener, address, client);
    });

    it("tcp_listener_two_streams", () => {
      const poll1 = own(b.newPoll());
      const events = new Events(16);
      const listener = listen(b);
      const address = listener.localAddr();

      const client1 = connect(b, address);
      poll1.registry().register(listener, ID1, R);
      expectEvents(poll1, events, [{ token: ID1, readiness: { readable: true } }]);
      acceptExpected(listener, address, client1).close();

      // after accepting to WOULD_BLOCK, a new connection is a new event
      const client2 = connect(b, address);
      expectEvents(poll1, events, [{ token: ID1, readiness: { readable: true } }]);
      acceptExpected(listener, address, client2).close();

      expectNoEvents(poll1, events);
    });

    it("bad_arguments_are_type_errors", () => {
      const listener = listen(b);
      for (const ttl of [0, 256, -1, 1.5, Number.NaN]) expect(() => listener.setTtl(ttl), `ttl ${ttl}`).toThrow(TypeError);
      expect(listener.ttl()).not.toBe(0);
    });

    it("use_after_close_is_ebadf", () => {
      const poll = own(b.newPoll());
      const listener = listen(b);
      listener.close();
      listener.close(); // closing twice is fine
      const calls: Array<[string, () => unknown]> = [
        ["accept", () => listener.accept()],
        ["localAddr", () => listener.localAddr()],
        ["setTtl", () => listener.setTtl(9)],
        ["ttl", () => listener.ttl()],
        ["takeError", () => listener.takeError()],
        ["register", () => poll.registry().register(listener, ID1, R)],
        ["reregister", () => poll.registry().reregister(listener, ID1, R)],
        ["deregister", () => poll.registry().deregister(listener)],
      ];
      for (const [name, call] of calls) expect(ioErrorCode(call), name).toBe("EBADF");
    });
  });
}
