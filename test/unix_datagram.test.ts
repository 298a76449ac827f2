/**
 * mio's tests/unix_datagram.rs (and issue_1403 from tests/regressions.rs) on
 * tsmio's UnixDatagram, plus peek, truncation, abstract names, EBADF, TypeError.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Events, Interest, Poll, Token, UnixDatagram, UnixSocketAddr } from "../src/index.js";
import { useCleanup, type Closable } from "./support/harness.js";
import { expectNonBlockingCloexec } from "./support/fdinfo.js";
import { checkedWrite, expectIoError, expectRead, useTempDir } from "./support/unix.js";
import { assertWouldBlock, expectEvents, expectNoEvents, ok } from "./support/util.js";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const DATA1 = enc("Hello same host!");
const DATA2 = enc("Why hello mio!");
const TOKEN_1 = Token(0);
const TOKEN_2 = Token(1);
const READABLE = { readable: true };
const WRITABLE = { writable: true };

describe("unix_datagram", () => {
  const own = useCleanup();
  const tempFile = useTempDir();
  const initWithPoll = (): [Poll, Events] => [own(new Poll()), new Events(16)];
  const ownPair = <T extends Closable>([a, b]: [T, T]): [T, T] => [own(a), own(b)];
  const bind = (addr: string | UnixSocketAddr): UnixDatagram => own(UnixDatagram.bind(addr));

  /** Registers both for READABLE | WRITABLE and waits until both are writable. */
  function registerBoth(d1: UnixDatagram, d2: UnixDatagram): [Poll, Events] {
    const [poll, events] = initWithPoll();
    expectNonBlockingCloexec(d1);
    expectNonBlockingCloexec(d2);
    poll.registry().register(d1, TOKEN_1, Interest.READABLE.add(Interest.WRITABLE));
    poll.registry().register(d2, TOKEN_2, Interest.READABLE.add(Interest.WRITABLE));
    expectEvents(poll, events, [
      { token: TOKEN_1, readiness: WRITABLE },
      { token: TOKEN_2, readiness: WRITABLE },
    ]);
    return [poll, events];
  }

  const bothReadable = [
    { token: TOKEN_1, readiness: READABLE },
    { token: TOKEN_2, readiness: READABLE },
  ];

  /** mio's smoke_test_unconnected: sendTo / recvFrom between two bound sockets. */
  function smokeTestUnconnected(d1: UnixDatagram, d2: UnixDatagram): void {
    const path1 = d1.localAddr().path;
    const path2 = d2.localAddr().path;
    if (path1 === null || path2 === null) throw new Error("expected path names");
    const [poll, events] = registerBoth(d1, d2);

    const buf = new Uint8Array(64);
    assertWouldBlock(d1.recvFrom(buf));
    assertWouldBlock(d2.recvFrom(buf));

    checkedWrite(d1.sendTo(DATA1, path2), DATA1);
    checkedWrite(d2.sendTo(DATA2, path1), DATA2);
    expectEvents(poll, events, bothReadable);

    const [n1, from1] = ok(d1.recvFrom(buf));
    expectRead(n1, buf, DATA2);
    expect(from1.path).toBe(path2);
    const [n2, from2] = ok(d2.recvFrom(buf));
    expectRead(n2, buf, DATA1);
    expect(from2.path).toBe(path1);

    expect(d1.takeError()).toBeNull();
    expect(d2.takeError()).toBeNull();
  }

  /** mio's smoke_test_connected: send / recv between two connected sockets. */
  function smokeTestConnected(d1: UnixDatagram, d2: UnixDatagram): void {
    expect(d1.localAddr().path).not.toBeNull();
    expect(d1.localAddr().path).toBe(d2.peerAddr().path);
    expect(d2.localAddr().path).toBe(d1.peerAddr().path);
    const [poll, events] = registerBoth(d1, d2);

    const buf = new Uint8Array(64);
    assertWouldBlock(d1.recv(buf));
    assertWouldBlock(d2.recv(buf));

    checkedWrite(d1.send(DATA1), DATA1);
    checkedWrite(d2.send(DATA2), DATA2);
    expectEvents(poll, events, bothReadable);

    expectRead(d1.recv(buf), buf, DATA2);
    expectRead(d2.recv(buf), buf, DATA1);

    expect(d1.takeError()).toBeNull();
    expect(d2.takeError()).toBeNull();
  }

  it("unix_datagram_smoke_unconnected", () => {
    const d1 = bind(tempFile("unix_datagram_smoke_unconnected1"));
    const d2 = bind(tempFile("unix_datagram_smoke_unconnected2"));
    smokeTestUnconnected(d1, d2);
  });

  it("unix_datagram_smoke_connected", () => {
    const path1 = tempFile("unix_datagram_smoke_connected1");
    const path2 = tempFile("unix_datagram_smoke_connected2");
    const d1 = bind(path1);
    const d2 = bind(path2);
    d1.connect(path2);
    d2.connect(path1);
    smokeTestConnected(d1, d2);
  });

  it("unix_datagram_connect", () => {
    const d1 = bind(tempFile("unix_datagram_connect1"));
    const d2 = bind(tempFile("unix_datagram_connect2"));
    d1.connect(d1.localAddr().path!);
    d2.connect(d2.localAddr());
    // each is now its own peer
    const buf = new Uint8Array(64);
    checkedWrite(d1.send(DATA1), DATA1);
    expectRead(d1.recv(buf), buf, DATA1);
    expect(d2.peerAddr().path).toBe(d2.localAddr().path);
  });

  it("unix_datagram_pair", () => {
    const [d1, d2] = ownPair(UnixDatagram.pair());
    const [poll, events] = registerBoth(d1, d2);

    const buf = new Uint8Array(64);
    assertWouldBlock(d1.recv(buf));
    assertWouldBlock(d2.recv(buf));

    checkedWrite(d1.send(DATA1), DATA1);
    checkedWrite(d2.send(DATA2), DATA2);
    expectEvents(poll, events, bothReadable);

    expectRead(d1.recv(buf), buf, DATA2);
    expectRead(d2.recv(buf), buf, DATA1);
    expect(d1.takeError()).toBeNull();
    expect(d2.takeError()).toBeNull();
  });

  it("unix_datagram_shutdown", () => {
    const [poll, events] = initWithPoll();
    const path2 = tempFile("unix_datagram_shutdown2");
    const d1 = bind(tempFile("unix_datagram_shutdown1"));
    const d2 = bind(path2);
    poll.registry().register(d1, TOKEN_1, Interest.WRITABLE.add(Interest.READABLE));
    poll.registry().register(d2, TOKEN_2, Interest.WRITABLE.add(Interest.READABLE));

    d1.connect(path2);
    expectEvents(poll, events, [{ token: TOKEN_1, readiness: WRITABLE }]);

    checkedWrite(d1.send(DATA1), DATA1);
    expectEvents(poll, events, [{ token: TOKEN_2, readiness: READABLE }]);

    d1.shutdown("read");
    expectEvents(poll, events, [{ token: TOKEN_1, readiness: { readClosed: true } }]);

    d1.shutdown("write");
    expectEvents(poll, events, [{ token: TOKEN_1, readiness: { writeClosed: true } }]);

    expectIoError(() => d1.send(DATA2), "EPIPE");
    expect(d1.takeError()).toBeNull();
  });

  it("unix_datagram_register", () => {
    const [poll, events] = initWithPoll();
    const d = bind(tempFile("unix_datagram_register"));
    poll.registry().register(d, TOKEN_1, Interest.READABLE);
    expectNoEvents(poll, events);
  });

  it("unix_datagram_reregister", () => {
    const [poll, events] = initWithPoll();
    const path1 = tempFile("unix_datagram_reregister1");
    const d1 = bind(path1);
    poll.registry().register(d1, TOKEN_1, Interest.READABLE);

    bind(tempFile("unix_datagram_reregister2")).connect(path1);
    poll.registry().reregister(d1, TOKEN_1, Interest.WRITABLE);
    expectEvents(poll, events, [{ token: TOKEN_1, readiness: WRITABLE }]);
  });

  it("unix_datagram_deregister", () => {
    const [poll, events] = initWithPoll();
    const path1 = tempFile("unix_datagram_deregister1");
    const d1 = bind(path1);
    poll.registry().register(d1, TOKEN_1, Interest.WRITABLE);

    bind(tempFile("unix_datagram_deregister2")).connect(path1);
    poll.registry().deregister(d1);
    expectNoEvents(poll, events);
  });

  it("issue_1403", () => {
    const path = tempFile("issue_1403");
    const d1 = bind(path);
    const d2 = own(UnixDatagram.unbound());
    expect(d2.localAddr().isUnnamed()).toBe(true);

    const buf = new Uint8Array(1024).fill(1);
    const n = ok(d2.sendTo(buf, path));
    const [got, from] = ok(d1.recvFrom(buf));
    expect(got).toBe(n);
    expect(from.path).toBeNull();
    expect(from.isUnnamed()).toBe(true);
  });

  it("peek and peekFrom leave the datagram; a short buffer truncates it", () => {
    const [d1, d2] = ownPair(UnixDatagram.pair());
    const buf = new Uint8Array(64);
    assertWouldBlock(d2.peek(buf));
    assertWouldBlock(d2.peekFrom(buf));
    checkedWrite(d1.send(DATA1), DATA1);
    checkedWrite(d1.send(DATA2), DATA2);

    expectRead(d2.peek(buf), buf, DATA1);
    const [n, from] = ok(d2.peekFrom(buf));
    expectRead(n, buf, DATA1);
    expect(from.isUnnamed()).toBe(true);

    const small = new Uint8Array(5);
    expectRead(d2.recv(small), small, DATA1.subarray(0, 5));
    expectRead(d2.recv(buf), buf, DATA2); // the rest of DATA1 is gone
    assertWouldBlock(d2.recv(buf));
  });

  it("abstract-namespace addresses round-trip", () => {
    const name1 = `tsmio-${randomUUID()}`;
    const d1 = bind(UnixSocketAddr.fromAbstractName(name1));
    const d2 = bind(UnixSocketAddr.fromAbstractName(enc(`tsmio-${randomUUID()}`)));
    expect(d1.localAddr().abstractName).toEqual(enc(name1));

    checkedWrite(d2.sendTo(DATA1, d1.localAddr()), DATA1);
    const buf = new Uint8Array(64);
    const [n, from] = ok(d1.recvFrom(buf));
    expectRead(n, buf, DATA1);
    expect(from.abstractName).toEqual(d2.localAddr().abstractName);
    expect(from.toString()).toBe(d2.localAddr().toString());
  });

  it("kernel errors: ENOENT, ENOTCONN, EADDRINUSE", () => {
    const path = tempFile("taken");
    const d = bind(path);
    expectIoError(() => d.sendTo(DATA1, tempFile("missing")), "ENOENT");
    expectIoError(() => d.send(DATA1), "ENOTCONN");
    expectIoError(() => d.peerAddr(), "ENOTCONN");
    expectIoError(() => UnixDatagram.bind(path), "EADDRINUSE");
  });

  it("using a closed socket throws EBADF", () => {
    const [poll] = initWithPoll();
    const path = tempFile("closed");
    const d = bind(path);
    d.close();
    d.close(); // idempotent
    const buf = new Uint8Array(8);
    expectIoError(() => d.send(buf), "EBADF");
    expectIoError(() => d.recv(buf), "EBADF");
    expectIoError(() => d.sendTo(buf, path), "EBADF");
    expectIoError(() => d.recvFrom(buf), "EBADF");
    expectIoError(() => d.peek(buf), "EBADF");
    expectIoError(() => d.peekFrom(buf), "EBADF");
    expectIoError(() => d.connect(path), "EBADF");
    expectIoError(() => d.shutdown("both"), "EBADF");
    expectIoError(() => d.localAddr(), "EBADF");
    expectIoError(() => d.peerAddr(), "EBADF");
    expectIoError(() => d.takeError(), "EBADF");
    expectIoError(() => poll.registry().register(d, TOKEN_1, Interest.READABLE), "EBADF");
  });

  it("non-buffer arguments and too-long paths throw TypeError", () => {
    const [d1] = ownPair(UnixDatagram.pair());
    const path = tempFile("ok");
    const bad = [1, 2, 3] as unknown as Uint8Array;
    expect(() => d1.send(bad)).toThrow(TypeError);
    expect(() => d1.recv(bad)).toThrow(TypeError);
    expect(() => d1.peek(bad)).toThrow(TypeError);
    expect(() => d1.sendTo(bad, path)).toThrow(TypeError);
    expect(() => d1.recvFrom(bad)).toThrow(TypeError);
    expect(() => d1.peekFrom(bad)).toThrow(TypeError);

    const long = tempFile("d".repeat(120));
    expect(() => UnixDatagram.bind(long)).toThrow(TypeError);
    expect(() => d1.connect(long)).toThrow(TypeError);
    expect(() => d1.sendTo(DATA1, long)).toThrow(TypeError);
  });
});
