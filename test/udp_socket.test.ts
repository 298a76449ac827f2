/**
 * mio's tests/udp_socket.rs, one `it` per scenario (named after mio's test
 * function), written against `Backend` so that the same scenarios later run on
 * the userspace stack. The Linux kernel is the oracle: where mio leaves a
 * platform difference open, these tests assert what Linux does.
 *
 * Not applicable (not ported):
 * - assert_size, is_send_and_sync: Rust memory layout and Send/Sync bounds.
 * - unconnected_udp_socket_std, connected_udp_socket_std: they wrap a
 *   std::net::UdpSocket (`from_std`); the contract has no such constructor
 *   (SourceFd covers foreign descriptors). The scenario they run is ported as
 *   the *_ipv4 / *_ipv6 variants.
 * - udp_socket_raw_fd: as_raw_fd / into_raw_fd / from_raw_fd are not in the
 *   contract.
 *
 * Kernel only (mio's multicast options; extra methods of KernelUdpSocket, not
 * part of the UdpSocket contract, so they run in the "kernel only" block):
 * set_get_multicast_loop_v4, get_multicast_loop_v4_without_previous_set,
 * set_get_multicast_ttl_v4, get_multicast_ttl_v4_without_previous_set,
 * set_get_multicast_loop_v6, get_multicast_loop_v6_without_previous_set,
 * multicast. Groups are joined on the loopback interface only: mio joins on
 * 0.0.0.0, which lets the kernel pick the default route's interface and send
 * IGMP reports off the host. The non-blocking / close-on-exec checks of mio's
 * smoke tests need a descriptor, so they are kernel only too.
 *
 * The "beyond mio" block pins down further kernel behaviour a backend must
 * reproduce: truncation, peeking, empty datagrams, ECONNREFUSED, EADDRINUSE,
 * EMSGSIZE, argument errors and EBADF after close.
 */
import { beforeEach, describe, expect, it } from "vitest";
import {
  Events,
  Interest,
  IoError,
  Poll,
  Token,
  UdpSocket,
  type KernelUdpSocket,
  type SocketAddr,
  type WouldBlock,
} from "../src/index.js";
import type { UdpSocket as UdpSocketApi } from "../src/net/network.js";
import { udpBackends as backends } from "./support/backends.js";
import { expectNonBlockingCloexec } from "./support/fdinfo.js";
import { useCleanup } from "./support/harness.js";
import { DATA1, DATA2, assertWouldBlock, expectEvents, expectNoEvents, ok, untilReady } from "./support/util.js";

const LISTENER = Token(0);
const SENDER = Token(1);
const ID1 = Token(2);
const ID2 = Token(3);
const ID3 = Token(4);

const RW = Interest.READABLE.add(Interest.WRITABLE);
const EMPTY = new Uint8Array(0);
const FAMILIES = [4, 6] as const;
type Family = (typeof FAMILIES)[number];

const text = new TextEncoder();

/** Asserts a `recvFrom`/`peekFrom` result: exactly `data` (now in `buf`), sent from `from`. */
function expectFrom(r: [number, SocketAddr] | WouldBlock, buf: Uint8Array, data: Uint8Array, from: SocketAddr): void {
  const [n, addr] = ok(r);
  expect(Array.from(buf.subarray(0, n))).toEqual(Array.from(data));
  expect(addr.toString()).toBe(from.toString());
}

/** Asserts a `recv`/`peek` result: exactly `data`, now in `buf`. */
function expectData(r: number | WouldBlock, buf: Uint8Array, data: Uint8Array): void {
  const n = ok(r);
  expect(Array.from(buf.subarray(0, n))).toEqual(Array.from(data));
}

/** Asserts a whole datagram went out (mio's `checked_write!`). */
function expectSent(r: number | WouldBlock, data: Uint8Array): void {
  expect(ok(r)).toBe(data.length);
}

/** Runs `fn` and returns the IoError it throws (failing if it throws anything else or nothing). */
function ioError(fn: () => unknown): IoError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(IoError);
    return e as IoError;
  }
  throw new Error("expected an IoError, nothing was thrown");
}

/** 1000 bytes covering every byte value. */
function pattern(n = 1000): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);
}

for (const b of backends) {
  describe(`udp_socket (${b.name})`, () => {
    const track = useCleanup();
    let poll: Poll;
    let events: Events;

    beforeEach(() => {
      poll = track(b.newPoll());
      events = new Events(128);
    });

    /** A socket on the server side (mio's `UdpSocket::bind(any_local_address())`). */
    const server = (family: Family = 4): UdpSocketApi => track(b.server.udpBind(b.addr(0, family)));
    /** A socket on the client side. */
    const client = (family: Family = 4): UdpSocketApi => track(b.client.udpBind(b.clientAddr(0, family)));
    const register = (s: UdpSocketApi, token: Token, interest: Interest): void =>
      poll.registry().register(s, token, interest);

    /** The address of a server-side port nobody listens on (bound, then closed). */
    function closedPort(family: Family): SocketAddr {
      const s = server(family);
      const addr = s.localAddr();
      s.close();
      return addr;
    }

    function smokeTestUnconnectedUdpSocket(socket1: UdpSocketApi, socket2: UdpSocketApi): void {
      const address1 = socket1.localAddr();
      const address2 = socket2.localAddr();
      register(socket1, ID1, RW);
      register(socket2, ID2, RW);
      expectEvents(poll, events, [
        { token: ID1, readiness: { writable: true } },
        { token: ID2, readiness: { writable: true } },
      ]);

      const buf = new Uint8Array(20);
      assertWouldBlock(socket1.peekFrom(buf));
      assertWouldBlock(socket1.recvFrom(buf));

      expectSent(socket1.sendTo(DATA1, address2), DATA1);
      expectSent(socket2.sendTo(DATA2, address1), DATA2);
      expectEvents(poll, events, [
        { token: ID1, readiness: { readable: true } },
        { token: ID2, readiness: { readable: true } },
      ]);

      expectFrom(socket1.peekFrom(buf), buf, DATA2, address2);
      expectFrom(socket2.peekFrom(buf), buf, DATA1, address1);
      expectFrom(socket1.recvFrom(buf), buf, DATA2, address2);
      expectFrom(socket2.recvFrom(buf), buf, DATA1, address1);
      assertWouldBlock(socket1.recvFrom(buf));
      assertWouldBlock(socket2.recvFrom(buf));

      expect(socket1.takeError()).toBeNull();
      expect(socket2.takeError()).toBeNull();
    }

    function connectedPair(family: Family): [UdpSocketApi, UdpSocketApi] {
      const socket1 = client(family);
      const socket2 = server(family);
      socket1.connect(socket2.localAddr());
      socket2.connect(socket1.localAddr());
      expect(socket1.peerAddr().toString()).toBe(socket2.localAddr().toString());
      expect(socket2.peerAddr().toString()).toBe(socket1.localAddr().toString());
      return [socket1, socket2];
    }

    function smokeTestConnectedUdpSocket(socket1: UdpSocketApi, socket2: UdpSocketApi): void {
      register(socket1, ID1, RW);
      register(socket2, ID2, RW);
      expectEvents(poll, events, [
        { token: ID1, readiness: { writable: true } },
        { token: ID2, readiness: { writable: true } },
      ]);

      const buf = new Uint8Array(20);
      assertWouldBlock(socket1.peek(buf));
      assertWouldBlock(socket1.recv(buf));

      expectSent(socket1.send(DATA1), DATA1);
      expectSent(socket2.send(DATA2), DATA2);
      expectEvents(poll, events, [
        { token: ID1, readiness: { readable: true } },
        { token: ID2, readiness: { readable: true } },
      ]);

      expectData(socket1.peek(buf), buf, DATA2);
      expectData(socket2.peek(buf), buf, DATA1);
      expectData(socket1.recv(buf), buf, DATA2);
      expectData(socket2.recv(buf), buf, DATA1);
      assertWouldBlock(socket1.recv(buf));
      assertWouldBlock(socket2.recv(buf));

      expect(socket1.takeError()).toBeNull();
      expect(socket2.takeError()).toBeNull();
    }

    /** mio's send_recv_udp: a small event loop sending "hello world" from tx to rx. */
    function sendRecvUdp(tx: UdpSocketApi, rx: UdpSocketApi, connected: boolean): void {
      const probe = new Uint8Array(128);
      assertWouldBlock(rx.recvFrom(probe));
      register(tx, SENDER, Interest.WRITABLE);
      register(rx, LISTENER, Interest.READABLE);

      const msg = "hello world";
      let pending = text.encode(msg);
      const rxBuf = new Uint8Array(1024);
      let received: string | null = null;
      const deadline = Date.now() + 2000;
      while (received === null && Date.now() < deadline) {
        poll.poll(events, 100);
        for (const ev of events) {
          if (ev.isReadable() && ev.token() === LISTENER) {
            const n = connected ? ok(rx.recv(rxBuf)) : ok(rx.recvFrom(rxBuf))[0];
            received = Buffer.from(rxBuf.subarray(0, n)).toString();
          }
          if (ev.isWritable() && ev.token() === SENDER && pending.length > 0) {
            const n = ok(connected ? tx.send(pending) : tx.sendTo(pending, rx.localAddr()));
            pending = pending.subarray(n);
          }
        }
      }
      expect(received).toBe(msg);
    }

    it("empty_datagram", () => {
      const s1 = client();
      const s2 = server();
      register(s1, ID1, Interest.WRITABLE);
      register(s2, ID2, Interest.READABLE);
      expectEvents(poll, events, [{ token: ID1, readiness: { writable: true } }]);

      expect(s1.sendTo(EMPTY, s2.localAddr())).toBe(0);
      expectEvents(poll, events, [{ token: ID2, readiness: { readable: true } }]);
      const buf = new Uint8Array(10);
      expectFrom(s2.recvFrom(buf), buf, EMPTY, s1.localAddr());
      // the empty datagram was one datagram, and it is gone
      assertWouldBlock(s2.recvFrom(buf));
    });

    it("unconnected_udp_socket_ipv4", () => {
      smokeTestUnconnectedUdpSocket(client(4), server(4));
    });

    it("unconnected_udp_socket_ipv6", () => {
      smokeTestUnconnectedUdpSocket(client(6), server(6));
    });

    it("set_get_ttl", () => {
      for (const family of FAMILIES) {
        const socket1 = server(family);
        socket1.setTtl(10);
        expect(socket1.ttl()).toBe(10);
        socket1.setTtl(255);
        expect(socket1.ttl()).toBe(255);
        expect(() => socket1.setTtl(0)).toThrow(TypeError);
        expect(() => socket1.setTtl(256)).toThrow(TypeError);
        expect(socket1.ttl()).toBe(255);
        expect(socket1.takeError()).toBeNull();
      }
    });

    it("get_ttl_without_previous_set", () => {
      for (const family of FAMILIES) {
        const ttl = server(family).ttl();
        expect(Number.isInteger(ttl) && ttl >= 1 && ttl <= 255, `ttl ${ttl}`).toBe(true);
      }
    });

    it("set_get_broadcast", () => {
      const socket1 = server();
      socket1.setBroadcast(true);
      expect(socket1.broadcast()).toBe(true);
      socket1.setBroadcast(false);
      expect(socket1.broadcast()).toBe(false);
      expect(socket1.takeError()).toBeNull();
    });

    it("get_broadcast_without_previous_set", () => {
      expect(server().broadcast()).toBe(false);
    });

    it("connected_udp_socket_ipv4", () => {
      smokeTestConnectedUdpSocket(...connectedPair(4));
    });

    it("connected_udp_socket_ipv6", () => {
      smokeTestConnectedUdpSocket(...connectedPair(6));
    });

    it("reconnect_udp_socket_sending", () => {
      const socket1 = client();
      const socket2 = server();
      const socket3 = server();
      const address1 = socket1.localAddr();
      const address2 = socket2.localAddr();
      const address3 = socket3.localAddr();
      socket1.connect(address2);
      socket2.connect(address1);
      socket3.connect(address1);
      register(socket1, ID1, RW);
      register(socket2, ID2, Interest.READABLE);
      register(socket3, ID3, Interest.READABLE);
      expectEvents(poll, events, [{ token: ID1, readiness: { writable: true } }]);

      expectSent(socket1.send(DATA1), DATA1);
      expectEvents(poll, events, [{ token: ID2, readiness: { readable: true } }]);
      const buf = new Uint8Array(20);
      expectData(socket2.recv(buf), buf, DATA1);

      socket1.connect(address3);
      expect(socket1.peerAddr().toString()).toBe(address3.toString());
      expectSent(socket1.send(DATA2), DATA2);
      expectEvents(poll, events, [{ token: ID3, readiness: { readable: true } }]);
      expectData(socket3.recv(buf), buf, DATA2);
      // nothing more went to the old peer
      assertWouldBlock(socket2.recv(buf));

      expect(socket1.takeError()).toBeNull();
      expect(socket2.takeError()).toBeNull();
      expect(socket3.takeError()).toBeNull();
    });

    it("reconnect_udp_socket_receiving", () => {
      const socket1 = server();
      const socket2 = client();
      const socket3 = client();
      const address1 = socket1.localAddr();
      const address2 = socket2.localAddr();
      const address3 = socket3.localAddr();
      socket1.connect(address2);
      socket2.connect(address1);
      socket3.connect(address1);
      register(socket1, ID1, Interest.READABLE);
      register(socket2, ID2, Interest.WRITABLE);
      register(socket3, ID3, Interest.WRITABLE);
      expectEvents(poll, events, [
        { token: ID2, readiness: { writable: true } },
        { token: ID3, readiness: { writable: true } },
      ]);

      expectSent(socket2.send(DATA1), DATA1);
      expectEvents(poll, events, [{ token: ID1, readiness: { readable: true } }]);
      const buf = new Uint8Array(20);
      expectData(socket1.recv(buf), buf, DATA1);
      // drained: the next datagram brings a new readable edge
      assertWouldBlock(socket1.recv(buf));

      socket1.connect(address3);
      expectSent(socket3.send(DATA2), DATA2);
      expectEvents(poll, events, [{ token: ID1, readiness: { readable: true } }]);
      expectData(socket1.recv(buf), buf, DATA2);
      assertWouldBlock(socket1.recv(buf));

      socket1.connect(address2);
      expectSent(socket2.send(DATA2), DATA2);
      expectEvents(poll, events, [{ token: ID1, readiness: { readable: true } }]);
      expectData(socket1.recv(buf), buf, DATA2);

      expect(socket1.takeError()).toBeNull();
      expect(socket2.takeError()).toBeNull();
      expect(socket3.takeError()).toBeNull();
    });

    it("unconnected_udp_socket_connected_methods", () => {
      const socket1 = client();
      const socket2 = server();
      const address2 = socket2.localAddr();
      register(socket1, ID1, Interest.WRITABLE);
      register(socket2, ID2, Interest.READABLE);
      expectEvents(poll, events, [{ token: ID1, readiness: { writable: true } }]);

      // connected-only methods on an unconnected socket
      expect(ioError(() => socket1.send(DATA1)).code).toBe("EDESTADDRREQ");
      expect(ioError(() => socket1.peerAddr()).code).toBe("ENOTCONN");

      expectSent(socket1.sendTo(DATA1, address2), DATA1);
      expectEvents(poll, events, [{ token: ID2, readiness: { readable: true } }]);
      // receiving needs no peer; you just don't learn the sender
      const buf = new Uint8Array(20);
      expectData(socket2.peek(buf), buf, DATA1);
      expectData(socket2.recv(buf), buf, DATA1);

      expect(socket1.takeError()).toBeNull();
      expect(socket2.takeError()).toBeNull();
    });

    it("connected_udp_socket_unconnected_methods", () => {
      const socket1 = client();
      const socket2 = client();
      const socket3 = server();
      const address1 = socket1.localAddr();
      const address2 = socket2.localAddr();
      const address3 = socket3.localAddr();
      socket1.connect(address3);
      socket3.connect(address2);
      register(socket1, ID1, Interest.WRITABLE);
      register(socket2, ID2, Interest.WRITABLE);
      register(socket3, ID3, Interest.READABLE);
      expectEvents(poll, events, [
        { token: ID1, readiness: { writable: true } },
        { token: ID2, readiness: { writable: true } },
      ]);

      // Linux lets a connected socket sendTo any address (other systems refuse)
      const buf = new Uint8Array(20);
      expectSent(socket1.sendTo(DATA1, address2), DATA1);
      expectFrom(
        untilReady(poll, events, () => socket2.recvFrom(buf)),
        buf,
        DATA1,
        address1,
      );

      expectSent(socket2.sendTo(DATA2, address3), DATA2);
      expectEvents(poll, events, [{ token: ID3, readiness: { readable: true } }]);
      expectFrom(socket3.peekFrom(buf), buf, DATA2, address2);
      expectFrom(socket3.recvFrom(buf), buf, DATA2, address2);

      expect(socket1.takeError()).toBeNull();
      expect(socket2.takeError()).toBeNull();
      expect(socket3.takeError()).toBeNull();
    });

    it("udp_socket_register", () => {
      const socket = server();
      register(socket, ID1, Interest.READABLE);
      expectNoEvents(poll, events);
    });

    it("udp_socket_reregister", () => {
      const socket = server();
      const sender = client();
      register(socket, ID1, Interest.WRITABLE);
      expectSent(sender.sendTo(DATA1, socket.localAddr()), DATA1);
      expectEvents(poll, events, [{ token: ID1, readiness: { writable: true } }]);

      poll.registry().reregister(socket, ID2, Interest.READABLE);
      expectEvents(poll, events, [{ token: ID2, readiness: { readable: true } }]);
      const buf = new Uint8Array(20);
      expectFrom(socket.recvFrom(buf), buf, DATA1, sender.localAddr());
    });

    it("udp_socket_no_events_after_deregister", () => {
      const socket = server();
      const sender = client();
      register(socket, ID1, Interest.READABLE);
      expectSent(sender.sendTo(DATA1, socket.localAddr()), DATA1);
      poll.registry().deregister(socket);
      expectNoEvents(poll, events);

      // the datagram still arrived
      const buf = new Uint8Array(20);
      expectFrom(
        untilReady(poll, events, () => socket.recvFrom(buf)),
        buf,
        DATA1,
        sender.localAddr(),
      );
    });

    it("udp_socket", () => {
      sendRecvUdp(client(), server(), false);
    });

    it("udp_socket_send_recv", () => {
      sendRecvUdp(...connectedPair(4), true);
    });

    it("udp_socket_discard", () => {
      const tx = client();
      const rx = server();
      const udpOutside = client();
      const rxAddr = rx.localAddr();
      tx.connect(rxAddr);
      udpOutside.connect(rxAddr);
      rx.connect(tx.localAddr());

      register(udpOutside, ID1, Interest.WRITABLE);
      expectEvents(poll, events, [{ token: ID1, readiness: { writable: true } }]);
      expectSent(udpOutside.send(text.encode("hello world")), text.encode("hello world"));

      register(rx, LISTENER, Interest.READABLE);
      register(tx, SENDER, Interest.WRITABLE);
      // mio polls up to 5 s once; a short bounded wait is enough on loopback
      const deadline = Date.now() + 200;
      while (Date.now() < deadline) {
        poll.poll(events, 50);
        for (const ev of events) {
          expect(ev.token() === LISTENER && ev.isReadable(), `unexpected ${String(ev)}`).toBe(false);
        }
      }
      const buf = new Uint8Array(20);
      assertWouldBlock(rx.recv(buf));

      // while the peer still gets through
      expectSent(tx.send(DATA1), DATA1);
      expectEvents(poll, events, [{ token: LISTENER, readiness: { readable: true } }]);
      expectData(rx.recv(buf), buf, DATA1);
    });

    it("et_behavior_recv", () => {
      const socket1 = client();
      const socket2 = server();
      const address2 = socket2.localAddr();
      register(socket1, ID1, Interest.WRITABLE);
      register(socket2, ID2, RW);
      expectEvents(poll, events, [
        { token: ID1, readiness: { writable: true } },
        { token: ID2, readiness: { writable: true } },
      ]);

      socket1.connect(address2);
      const buf = new Uint8Array(20);
      expectSent(socket1.send(DATA1), DATA1);
      expectEvents(poll, events, [{ token: ID2, readiness: { readable: true } }]);
      expectData(socket2.recv(buf), buf, DATA1);

      // WOULD_BLOCK re-arms: the next datagram is a new edge
      assertWouldBlock(socket2.recv(buf));
      expectSent(socket1.send(DATA1), DATA1);
      expectEvents(poll, events, [{ token: ID2, readiness: { readable: true } }]);
      expectData(socket2.recv(buf), buf, DATA1);
    });

    it("et_behavior_recv_from", () => {
      const socket1 = client();
      const socket2 = server();
      const address1 = socket1.localAddr();
      const address2 = socket2.localAddr();
      register(socket1, ID1, RW);
      register(socket2, ID2, RW);
      expectEvents(poll, events, [
        { token: ID1, readiness: { writable: true } },
        { token: ID2, readiness: { writable: true } },
      ]);

      expectSent(socket1.sendTo(DATA1, address2), DATA1);
      expectEvents(poll, events, [{ token: ID2, readiness: { readable: true } }]);
      const buf = new Uint8Array(20);
      expectFrom(socket2.recvFrom(buf), buf, DATA1, address1);

      assertWouldBlock(socket2.recvFrom(buf));
      expectSent(socket1.sendTo(DATA1, address2), DATA1);
      expectEvents(poll, events, [{ token: ID2, readiness: { readable: true } }]);
      expectFrom(socket2.recvFrom(buf), buf, DATA1, address1);

      expect(socket1.takeError()).toBeNull();
      expect(socket2.takeError()).toBeNull();
    });

    describe("beyond mio", () => {
      for (const family of FAMILIES) {
        describe(`IPv${family}`, () => {
          it("binding port 0 picks a free port on the given address", () => {
            const s = server(family);
            const addr = s.localAddr();
            expect(addr.family).toBe(family);
            expect(addr.ip).toBe(family === 4 ? b.ip4 : b.ip6);
            expect(addr.port).toBeGreaterThan(0);
          });

          it("one readable edge per datagram after draining, none while drained", () => {
            const rx = server(family);
            const tx = client(family);
            register(rx, ID1, Interest.READABLE);
            expectNoEvents(poll, events);
            const buf = new Uint8Array(20);
            for (let i = 0; i < 3; i++) {
              const msg = Uint8Array.of(i, 0xff - i);
              expectSent(tx.sendTo(msg, rx.localAddr()), msg);
              expectEvents(poll, events, [{ token: ID1, readiness: { readable: true } }]);
              expectFrom(rx.recvFrom(buf), buf, msg, tx.localAddr());
              assertWouldBlock(rx.recvFrom(buf));
              expectNoEvents(poll, events);
            }
          });

          it("datagrams keep their boundaries and order; empty ones included", () => {
            const [tx, rx] = connectedPair(family);
            register(rx, ID1, Interest.READABLE);
            const sent = [DATA1, EMPTY, pattern(), EMPTY, DATA2];
            for (const d of sent) expectSent(tx.send(d), d);
            expectEvents(poll, events, [{ token: ID1, readiness: { readable: true } }]);
            const buf = new Uint8Array(2000);
            for (const d of sent) expectData(untilReady(poll, events, () => rx.recv(buf)), buf, d);
            assertWouldBlock(rx.recv(buf));
          });

          it("recvFrom truncates to the buffer and drops the rest of the datagram", () => {
            const rx = server(family);
            const tx = client(family);
            register(rx, ID1, Interest.READABLE);
            const data = pattern();
            expectSent(tx.sendTo(data, rx.localAddr()), data);
            expectSent(tx.sendTo(DATA1, rx.localAddr()), DATA1);
            expectEvents(poll, events, [{ token: ID1, readiness: { readable: true } }]);

            const small = new Uint8Array(10);
            expectFrom(rx.recvFrom(small), small, data.subarray(0, 10), tx.localAddr());
            // the tail of the first datagram is gone: the next read is the second one
            const buf = new Uint8Array(2000);
            expectFrom(untilReady(poll, events, () => rx.recvFrom(buf)), buf, DATA1, tx.localAddr());

            // a zero-length buffer consumes a whole datagram
            expectSent(tx.sendTo(DATA2, rx.localAddr()), DATA2);
            expectFrom(untilReady(poll, events, () => rx.recvFrom(EMPTY)), EMPTY, EMPTY, tx.localAddr());
            assertWouldBlock(rx.recvFrom(buf));
          });

          it("peekFrom and peek leave the datagram queued, also when truncated", () => {
            const rx = server(family);
            const tx = client(family);
            register(rx, ID1, Interest.READABLE);
            const data = pattern();
            expectSent(tx.sendTo(data, rx.localAddr()), data);
            expectSent(tx.sendTo(DATA2, rx.localAddr()), DATA2);
            expectEvents(poll, events, [{ token: ID1, readiness: { readable: true } }]);

            const small = new Uint8Array(4);
            expectFrom(rx.peekFrom(small), small, data.subarray(0, 4), tx.localAddr());
            expectData(rx.peek(small), small, data.subarray(0, 4));
            const buf = new Uint8Array(2000);
            expectFrom(rx.peekFrom(buf), buf, data, tx.localAddr());
            expectFrom(rx.recvFrom(buf), buf, data, tx.localAddr());
            expectFrom(untilReady(poll, events, () => rx.peekFrom(buf)), buf, DATA2, tx.localAddr());
            expectFrom(rx.recvFrom(buf), buf, DATA2, tx.localAddr());
            assertWouldBlock(rx.peekFrom(buf));
            assertWouldBlock(rx.peek(buf));
          });

          it("connect filters datagrams from others, but keeps those queued before", () => {
            const rx = server(family);
            const peer = client(family);
            const other = client(family);
            register(rx, ID1, Interest.READABLE);
            expectSent(other.sendTo(DATA1, rx.localAddr()), DATA1);
            expectEvents(poll, events, [{ token: ID1, readiness: { readable: true } }]);

            rx.connect(peer.localAddr());
            expectSent(other.sendTo(DATA2, rx.localAddr()), DATA2);
            expectSent(peer.sendTo(DATA2, rx.localAddr()), DATA2);
            const buf = new Uint8Array(20);
            expectFrom(rx.recvFrom(buf), buf, DATA1, other.localAddr());
            expectFrom(untilReady(poll, events, () => rx.recvFrom(buf)), buf, DATA2, peer.localAddr());
            expectNoEvents(poll, events);
            assertWouldBlock(rx.recvFrom(buf));
          });

          it("ECONNREFUSED from a closed port: error event, then recv throws it once", () => {
            const s = client(family);
            s.connect(closedPort(family));
            register(s, ID1, Interest.READABLE);
            expectSent(s.send(DATA1), DATA1);
            expectEvents(poll, events, [{ token: ID1, readiness: { error: true } }]);
            const buf = new Uint8Array(20);
            expect(ioError(() => s.recv(buf)).code).toBe("ECONNREFUSED");
            // reading it cleared it
            expect(s.takeError()).toBeNull();
            assertWouldBlock(s.recv(buf));
            expectNoEvents(poll, events);
          });

          it("ECONNREFUSED from a closed port: error event, then takeError returns it once", () => {
            const s = client(family);
            s.connect(closedPort(family));
            register(s, ID1, RW);
            expectEvents(poll, events, [{ token: ID1, readiness: { writable: true } }]);
            expectSent(s.send(DATA1), DATA1);
            expectEvents(poll, events, [{ token: ID1, readiness: { error: true } }]);
            const err = s.takeError();
            expect(err).toBeInstanceOf(IoError);
            expect(err?.code).toBe("ECONNREFUSED");
            expect(s.takeError()).toBeNull();
            assertWouldBlock(s.recv(new Uint8Array(20)));
          });

          it("ECONNREFUSED from a closed port: the next send throws it", () => {
            const s = client(family);
            s.connect(closedPort(family));
            register(s, ID1, Interest.READABLE);
            expectSent(s.send(DATA1), DATA1);
            expectEvents(poll, events, [{ token: ID1, readiness: { error: true } }]);
            expect(ioError(() => s.send(DATA2)).code).toBe("ECONNREFUSED");
            expect(s.takeError()).toBeNull();
            // and the socket stays usable
            expectSent(s.send(DATA2), DATA2);
          });

          it("an unconnected socket gets no error for sendTo to a closed port", () => {
            const s = client(family);
            const dead = closedPort(family);
            register(s, ID1, Interest.READABLE);
            expectSent(s.sendTo(DATA1, dead), DATA1);
            expectNoEvents(poll, events, 100);
            expect(s.takeError()).toBeNull();
            assertWouldBlock(s.recvFrom(new Uint8Array(20)));
          });

          it("binding an address in use fails with EADDRINUSE", () => {
            const s = server(family);
            const addr = s.localAddr();
            expect(ioError(() => track(b.server.udpBind(addr))).code).toBe("EADDRINUSE");
            expect(ioError(() => track(b.server.udpBind(addr.toString()))).code).toBe("EADDRINUSE");
            // the first socket is unaffected
            const tx = client(family);
            expectSent(tx.sendTo(DATA1, addr), DATA1);
            const buf = new Uint8Array(20);
            expectFrom(untilReady(poll, events, () => s.recvFrom(buf)), buf, DATA1, tx.localAddr());
          });

          it("a datagram over the maximum UDP payload fails with EMSGSIZE", () => {
            const rx = server(family);
            const tx = client(family);
            // 65535 minus the UDP header, minus the IPv4 header for IPv4
            const max = family === 4 ? 65507 : 65527;
            expect(ioError(() => tx.sendTo(new Uint8Array(max + 1), rx.localAddr())).code).toBe("EMSGSIZE");
            assertWouldBlock(rx.recvFrom(new Uint8Array(20)));
          });

          it("addresses of the other family are refused", () => {
            const s = client(family);
            const other = client(family === 4 ? 6 : 4);
            if (family === 4) {
              expect(ioError(() => s.sendTo(DATA1, other.localAddr())).code).toBe("EAFNOSUPPORT");
            } else {
              // an IPv6 socket bound to ::1 is IPv6-only
              expect(ioError(() => s.sendTo(DATA1, other.localAddr())).code).toBe("ENETUNREACH");
            }
            expect(ioError(() => s.connect(other.localAddr())).code).toBe("EAFNOSUPPORT");
          });
        });
      }

      it("bad addresses and buffers are TypeErrors", () => {
        const s = client();
        const to = server().localAddr();
        for (const bad of ["not an address", "127.0.0.1:70000", "[::1]:70000", "127.0.0.1", "256.0.0.1:80", "[::1]"]) {
          expect(() => s.sendTo(DATA1, bad), bad).toThrow(TypeError);
          expect(() => s.connect(bad), bad).toThrow(TypeError);
          expect(() => b.client.udpBind(bad), bad).toThrow(TypeError);
        }
        const notBytes = "hello" as unknown as Uint8Array;
        expect(() => s.sendTo(notBytes, to)).toThrow(TypeError);
        expect(() => s.recvFrom(notBytes)).toThrow(TypeError);
        expect(() => s.peekFrom(notBytes)).toThrow(TypeError);
        s.connect(to);
        expect(() => s.send(notBytes)).toThrow(TypeError);
        expect(() => s.recv(notBytes)).toThrow(TypeError);
        expect(() => s.peek(notBytes)).toThrow(TypeError);
        // the socket is still fine
        expectSent(s.send(DATA1), DATA1);
      });

      it("every method of a closed socket throws EBADF; close is idempotent", () => {
        const s = client();
        const to = server().localAddr();
        s.connect(to);
        s.close();
        s.close();
        const buf = new Uint8Array(20);
        const calls: [string, () => unknown][] = [
          ["sendTo", () => s.sendTo(DATA1, to)],
          ["recvFrom", () => s.recvFrom(buf)],
          ["peekFrom", () => s.peekFrom(buf)],
          ["connect", () => s.connect(to)],
          ["send", () => s.send(DATA1)],
          ["recv", () => s.recv(buf)],
          ["peek", () => s.peek(buf)],
          ["localAddr", () => s.localAddr()],
          ["peerAddr", () => s.peerAddr()],
          ["setBroadcast", () => s.setBroadcast(true)],
          ["broadcast", () => s.broadcast()],
          ["setTtl", () => s.setTtl(10)],
          ["ttl", () => s.ttl()],
          ["takeError", () => s.takeError()],
          ["register", () => register(s, ID1, Interest.READABLE)],
        ];
        for (const [name, call] of calls) expect(ioError(call).code, name).toBe("EBADF");
      });

      it("close() removes the socket from the poll, even with a datagram pending", () => {
        const rx = server();
        const tx = client();
        register(rx, ID1, Interest.READABLE);
        expectSent(tx.sendTo(DATA1, rx.localAddr()), DATA1);
        rx.close();
        expectNoEvents(poll, events, 100);
      });
    });
  });
}

describe("udp_socket (kernel only)", () => {
  const track = useCleanup();
  const bind = (addr = "127.0.0.1:0"): KernelUdpSocket => track(UdpSocket.bind(addr));
  /** The loopback interface's index: 1 in every network namespace. */
  const LOOPBACK_IFINDEX = 1;

  it("smoke tests: assert_socket_non_blocking, assert_socket_close_on_exec", () => {
    for (const addr of ["127.0.0.1:0", "[::1]:0"]) {
      const s1 = bind(addr);
      const s2 = bind(addr);
      expectNonBlockingCloexec(s1);
      s1.connect(s2.localAddr());
      expectNonBlockingCloexec(s1);
    }
  });

  it("set_get_multicast_loop_v4", () => {
    const socket1 = bind();
    socket1.setMulticastLoopV4(true);
    expect(socket1.multicastLoopV4()).toBe(true);
    socket1.setMulticastLoopV4(false);
    expect(socket1.multicastLoopV4()).toBe(false);
    expect(socket1.takeError()).toBeNull();
  });

  it("get_multicast_loop_v4_without_previous_set", () => {
    expect(bind().multicastLoopV4()).toBe(true);
  });

  it("set_get_multicast_ttl_v4", () => {
    const socket1 = bind();
    socket1.setMulticastTtlV4(10);
    expect(socket1.multicastTtlV4()).toBe(10);
    socket1.setMulticastTtlV4(0);
    expect(socket1.multicastTtlV4()).toBe(0);
    expect(() => socket1.setMulticastTtlV4(256)).toThrow(TypeError);
    expect(() => socket1.setMulticastTtlV4(-1)).toThrow(TypeError);
    expect(socket1.takeError()).toBeNull();
  });

  it("get_multicast_ttl_v4_without_previous_set", () => {
    expect(bind().multicastTtlV4()).toBe(1);
  });

  it("set_get_multicast_loop_v6", () => {
    const socket1 = bind("[::1]:0");
    socket1.setMulticastLoopV6(true);
    expect(socket1.multicastLoopV6()).toBe(true);
    socket1.setMulticastLoopV6(false);
    expect(socket1.multicastLoopV6()).toBe(false);
    expect(socket1.takeError()).toBeNull();
  });

  it("get_multicast_loop_v6_without_previous_set", () => {
    expect(bind("[::1]:0").multicastLoopV6()).toBe(true);
  });

  it("IPv6 options on an IPv4 socket are refused", () => {
    const s = bind();
    expect(ioError(() => s.setMulticastLoopV6(true)).code).toBe("ENOPROTOOPT");
    expect(ioError(() => s.joinMulticastV6("ff02::7a:1", LOOPBACK_IFINDEX)).code).toBe("ENOPROTOOPT");
    expect(ioError(() => s.onlyV6()).code).toBe("EOPNOTSUPP");
  });

  it("onlyV6: a socket bound to ::1 is IPv6-only", () => {
    expect(bind("[::1]:0").onlyV6()).toBe(true);
  });

  it("multicast", () => {
    const poll = track(new Poll());
    const events = new Events(1024);
    const tx = bind();
    const rx = bind();
    rx.joinMulticastV4("227.1.1.100", "127.0.0.1");
    rx.joinMulticastV4("227.1.1.101", "127.0.0.1");
    poll.registry().register(tx, SENDER, Interest.WRITABLE);
    poll.registry().register(rx, LISTENER, Interest.READABLE);

    // as in mio, the datagram itself is unicast to rx
    const msg = "hello world";
    let pending = text.encode(msg);
    const rxBuf = new Uint8Array(1024);
    let received: [string, SocketAddr] | null = null;
    const deadline = Date.now() + 2000;
    while (received === null && Date.now() < deadline) {
      poll.poll(events, 100);
      for (const ev of events) {
        if (ev.isReadable() && ev.token() === LISTENER) {
          const [n, from] = ok(rx.recvFrom(rxBuf));
          received = [Buffer.from(rxBuf.subarray(0, n)).toString(), from];
        }
        if (ev.isWritable() && ev.token() === SENDER && pending.length > 0) {
          pending = pending.subarray(ok(tx.sendTo(pending, rx.localAddr())));
        }
      }
    }
    expect(received?.[0]).toBe(msg);
    expect(received?.[1].toString()).toBe(tx.localAddr().toString());
    rx.leaveMulticastV4("227.1.1.100", "127.0.0.1");
    rx.leaveMulticastV4("227.1.1.101", "127.0.0.1");
  });

  it("join/leave multicast v4: kernel errors", () => {
    const s = bind();
    s.joinMulticastV4("239.1.2.3", "127.0.0.1");
    expect(ioError(() => s.joinMulticastV4("239.1.2.3", "127.0.0.1")).code).toBe("EADDRINUSE");
    s.leaveMulticastV4("239.1.2.3", "127.0.0.1");
    expect(ioError(() => s.leaveMulticastV4("239.1.2.3", "127.0.0.1")).code).toBe("EADDRNOTAVAIL");
    expect(ioError(() => s.joinMulticastV4("10.1.2.3", "127.0.0.1")).code).toBe("EINVAL");
    expect(() => s.joinMulticastV4("239.1.2", "127.0.0.1")).toThrow(TypeError);
    expect(() => s.joinMulticastV4("ff02::1", "127.0.0.1")).toThrow(TypeError);
    expect(() => s.joinMulticastV4("239.1.2.3", "::1")).toThrow(TypeError);
  });

  it("join/leave multicast v6 on the loopback: kernel errors", () => {
    const s = bind("[::1]:0");
    s.joinMulticastV6("ff02::7a:1", LOOPBACK_IFINDEX);
    expect(ioError(() => s.joinMulticastV6("ff02::7a:1", LOOPBACK_IFINDEX)).code).toBe("EADDRINUSE");
    s.leaveMulticastV6("ff02::7a:1", LOOPBACK_IFINDEX);
    expect(ioError(() => s.leaveMulticastV6("ff02::7a:1", LOOPBACK_IFINDEX)).code).toBe("EADDRNOTAVAIL");
    expect(ioError(() => s.joinMulticastV6("fd00::7a:1", LOOPBACK_IFINDEX)).code).toBe("EINVAL");
    expect(() => s.joinMulticastV6("239.1.2.3", LOOPBACK_IFINDEX)).toThrow(TypeError);
    expect(() => s.joinMulticastV6("ff02::7a:1", -1)).toThrow(TypeError);
    expect(() => s.joinMulticastV6("ff02::7a:1", 1.5)).toThrow(TypeError);
  });

  it("multicast methods of a closed socket throw EBADF", () => {
    const s = bind();
    s.close();
    expect(ioError(() => s.multicastLoopV4()).code).toBe("EBADF");
    expect(ioError(() => s.joinMulticastV4("239.1.2.3", "127.0.0.1")).code).toBe("EBADF");
  });
});
