/** mio's tests/unix_stream.rs, on tsmio's UnixStream (plus EBADF / TypeError / abstract-name checks). */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Events, Interest, Poll, Token, UnixListener, UnixSocketAddr, UnixStream } from "../src/index.js";
import { useCleanup, type Closable } from "./support/harness.js";
import { expectNonBlockingCloexec } from "./support/fdinfo.js";
import { EchoServer, checkedWrite, expectIoError, expectRead, useTempDir } from "./support/unix.js";
import { assertWouldBlock, expectEvents, expectNoEvents, ok } from "./support/util.js";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const DATA1 = enc("Hello same host!");
const DATA2 = enc("Why hello mio!");
const TOKEN_1 = Token(0);
const TOKEN_2 = Token(1);
const READABLE = { readable: true };
const WRITABLE = { writable: true };

describe("unix_stream", () => {
  const own = useCleanup();
  const tempFile = useTempDir();
  const initWithPoll = (): [Poll, Events] => [own(new Poll()), new Events(16)];
  const ownPair = <T extends Closable>([a, b]: [T, T]): [T, T] => [own(a), own(b)];
  const echoServer = (name: string): EchoServer => own(new EchoServer(tempFile(name)));

  /** mio's smoke_test: echo DATA1, then DATA1+DATA2 through writev/readv. */
  function smokeTest(connect: (path: string) => UnixStream, name: string): void {
    const [poll, events] = initWithPoll();
    const server = echoServer(name);
    const stream = own(connect(server.path));
    expectNonBlockingCloexec(stream);

    poll.registry().register(stream, TOKEN_1, Interest.WRITABLE.add(Interest.READABLE));
    expectEvents(poll, events, [{ token: TOKEN_1, readiness: WRITABLE }]);

    const buf = new Uint8Array(64);
    assertWouldBlock(stream.read(buf));
    checkedWrite(stream.write(DATA1), DATA1);
    server.pump();
    expectEvents(poll, events, [{ token: TOKEN_1, readiness: READABLE }]);
    expectRead(stream.read(buf), buf, DATA1);
    expect(stream.takeError()).toBeNull();
    assertWouldBlock(stream.read(buf));

    expect(stream.writev([DATA1, DATA2])).toBe(DATA1.length + DATA2.length);
    server.pump();
    expectEvents(poll, events, [{ token: TOKEN_1, readiness: READABLE }]);
    const buf1 = new Uint8Array(DATA1.length).fill(1);
    const buf2 = new Uint8Array(DATA2.length + 1).fill(2);
    expect(stream.readv([buf1, buf2])).toBe(DATA1.length + DATA2.length);
    expect(buf1).toEqual(DATA1);
    expect(buf2.subarray(0, DATA2.length)).toEqual(DATA2);
    expect(buf2[DATA2.length], "last byte untouched").toBe(2);

    stream.close();
    server.finish();
  }

  /** The client side of mio's unix_stream_connect / _connect_addr. */
  function connectTest(connect: (listener: UnixListener) => UnixStream, name: string): void {
    const [poll, events] = initWithPoll();
    const listener = own(UnixListener.bind(tempFile(name)));
    const stream = own(connect(listener));

    poll.registry().register(stream, TOKEN_1, Interest.READABLE.add(Interest.WRITABLE));
    expectEvents(poll, events, [{ token: TOKEN_1, readiness: WRITABLE }]);

    // the peer accepts and drops the connection
    ok(listener.accept())[0].close();
    expectEvents(poll, events, [{ token: TOKEN_1, readiness: READABLE }]);
    expect(stream.read(new Uint8Array(8)), "end of stream").toBe(0);
  }

  /** Connects to an echo server and registers for READABLE | WRITABLE; waits for WRITABLE. */
  function connected(name: string): [Poll, Events, EchoServer, UnixStream] {
    const [poll, events] = initWithPoll();
    const server = echoServer(name);
    const stream = own(UnixStream.connect(server.path));
    poll.registry().register(stream, TOKEN_1, Interest.READABLE.add(Interest.WRITABLE));
    expectEvents(poll, events, [{ token: TOKEN_1, readiness: WRITABLE }]);
    return [poll, events, server, stream];
  }

  /** Writes DATA1 and waits for its echo to make the stream readable. */
  function echoOnce(poll: Poll, events: Events, server: EchoServer, stream: UnixStream): void {
    checkedWrite(stream.write(DATA1), DATA1);
    server.pump();
    expectEvents(poll, events, [{ token: TOKEN_1, readiness: READABLE }]);
  }


  it("unix_stream_smoke", () => {
    smokeTest((path) => UnixStream.connect(path), "unix_stream_smoke");
  });

  it("unix_stream_connect", () => {
    connectTest((l) => UnixStream.connect(l.localAddr().path!), "unix_stream_connect");
  });

  it("unix_stream_connect_addr", () => {
    connectTest((l) => UnixStream.connect(l.localAddr()), "unix_stream_connect_addr");
  });

  it("unix_stream_pair", () => {
    const [poll, events] = initWithPoll();
    const [s1, s2] = ownPair(UnixStream.pair());
    poll.registry().register(s1, TOKEN_1, Interest.READABLE.add(Interest.WRITABLE));
    poll.registry().register(s2, TOKEN_2, Interest.READABLE.add(Interest.WRITABLE));
    expectEvents(poll, events, [{ token: TOKEN_1, readiness: WRITABLE }]);

    const buf = new Uint8Array(64);
    assertWouldBlock(s1.read(buf));
    checkedWrite(s1.write(DATA1), DATA1);
    expectRead(s2.read(buf), buf, DATA1);
    assertWouldBlock(s2.read(buf));

    checkedWrite(s2.write(DATA2), DATA2);
    expectRead(s1.read(buf), buf, DATA2);
    assertWouldBlock(s2.read(buf));
  });

  it("unix_stream_peer_addr", () => {
    const server = echoServer("unix_stream_peer_addr");
    const stream = own(UnixStream.connect(server.path));
    expect(stream.peerAddr().path).toBe(server.path);
    expect(stream.localAddr().path).toBeNull();
    expect(stream.localAddr().isUnnamed()).toBe(true);
    stream.close();
    server.finish();
  });

  it("unix_stream_shutdown_read", () => {
    const [poll, events, server, stream] = connected("unix_stream_shutdown_read");
    echoOnce(poll, events, server, stream);

    stream.shutdown("read");
    expectEvents(poll, events, [{ token: TOKEN_1, readiness: { readClosed: true } }]);
    // Linux still hands out what was already received, then end of stream
    const buf = new Uint8Array(64);
    expectRead(stream.read(buf), buf, DATA1);
    expect(stream.read(buf)).toBe(0);

    stream.close();
    server.finish();
  });

  it("unix_stream_shutdown_write", () => {
    const [poll, events, server, stream] = connected("unix_stream_shutdown_write");
    echoOnce(poll, events, server, stream);

    stream.shutdown("write");
    expectIoError(() => stream.write(DATA2), "EPIPE");
    const buf = new Uint8Array(64);
    expectRead(stream.read(buf), buf, DATA1);

    stream.close();
    server.finish();
  });

  it("unix_stream_shutdown_both", () => {
    const [poll, events, server, stream] = connected("unix_stream_shutdown_both");
    echoOnce(poll, events, server, stream);

    stream.shutdown("both");
    expectEvents(poll, events, [{ token: TOKEN_1, readiness: { writeClosed: true } }]);
    expectIoError(() => stream.write(DATA2), "EPIPE");

    stream.close();
    server.finish();
  });

  it("unix_stream_shutdown_listener_write", () => {
    const [poll, events] = initWithPoll();
    const path = tempFile("unix_stream_shutdown_listener_write");
    const listener = own(UnixListener.bind(path));
    const stream = own(UnixStream.connect(path));
    poll.registry().register(stream, TOKEN_1, Interest.READABLE.add(Interest.WRITABLE));
    expectEvents(poll, events, [{ token: TOKEN_1, readiness: WRITABLE }]);

    own(ok(listener.accept())[0]).shutdown("write");
    expectEvents(poll, events, [{ token: TOKEN_1, readiness: { readClosed: true } }]);
  });

  it("unix_stream_register", () => {
    const [poll, events] = initWithPoll();
    const server = echoServer("unix_stream_register");
    const stream = own(UnixStream.connect(server.path));
    poll.registry().register(stream, TOKEN_1, Interest.READABLE);
    expectNoEvents(poll, events);
    stream.close();
    server.finish();
  });

  it("unix_stream_reregister", () => {
    const [poll, events] = initWithPoll();
    const server = echoServer("unix_stream_reregister");
    const stream = own(UnixStream.connect(server.path));
    poll.registry().register(stream, TOKEN_1, Interest.READABLE);
    poll.registry().reregister(stream, TOKEN_1, Interest.WRITABLE);
    expectEvents(poll, events, [{ token: TOKEN_1, readiness: WRITABLE }]);
    stream.close();
    server.finish();
  });

  it("unix_stream_deregister", () => {
    const [poll, events] = initWithPoll();
    const server = echoServer("unix_stream_deregister");
    const stream = own(UnixStream.connect(server.path));
    poll.registry().register(stream, TOKEN_1, Interest.WRITABLE);
    poll.registry().deregister(stream);
    expectNoEvents(poll, events);
    stream.close();
    server.finish();
  });

  it("peek leaves the bytes to read", () => {
    const [s1, s2] = ownPair(UnixStream.pair());
    const buf = new Uint8Array(64);
    assertWouldBlock(s2.peek(buf));
    checkedWrite(s1.write(DATA1), DATA1);
    expectRead(s2.peek(buf), buf, DATA1);
    expectRead(s2.read(buf), buf, DATA1);
    assertWouldBlock(s2.peek(buf));
  });

  it("connecting to a missing path throws ENOENT, to a dead socket file ECONNREFUSED", () => {
    const path = tempFile("dead");
    expectIoError(() => UnixStream.connect(path), "ENOENT");
    UnixListener.bind(path).close(); // leaves the socket file behind
    expectIoError(() => UnixStream.connect(path), "ECONNREFUSED");
  });

  it("abstract-namespace addresses round-trip", () => {
    const name = `tsmio-${randomUUID()}`;
    const addr = UnixSocketAddr.fromAbstractName(name);
    const listener = own(UnixListener.bind(addr));
    expect(listener.localAddr().abstractName).toEqual(enc(name));
    expect(listener.localAddr().path).toBeNull();
    expect(listener.localAddr().toString()).toBe(`@${name}`);

    const stream = own(UnixStream.connect(addr));
    expect(stream.peerAddr().abstractName).toEqual(enc(name));
    const [conn, from] = ok(listener.accept());
    own(conn);
    expect(from.isUnnamed()).toBe(true);
    expect(conn.localAddr().abstractName).toEqual(enc(name));
  });

  it("using a closed stream throws EBADF", () => {
    const [poll] = initWithPoll();
    const [s] = ownPair(UnixStream.pair());
    s.close();
    s.close(); // idempotent
    const buf = new Uint8Array(8);
    expectIoError(() => s.read(buf), "EBADF");
    expectIoError(() => s.write(buf), "EBADF");
    expectIoError(() => s.readv([buf]), "EBADF");
    expectIoError(() => s.writev([buf]), "EBADF");
    expectIoError(() => s.peek(buf), "EBADF");
    expectIoError(() => s.shutdown("both"), "EBADF");
    expectIoError(() => s.localAddr(), "EBADF");
    expectIoError(() => s.peerAddr(), "EBADF");
    expectIoError(() => s.takeError(), "EBADF");
    expectIoError(() => poll.registry().register(s, TOKEN_1, Interest.READABLE), "EBADF");
  });

  it("non-buffer arguments throw TypeError", () => {
    const [s] = ownPair(UnixStream.pair());
    const bad = "bytes" as unknown as Uint8Array;
    expect(() => s.read(bad)).toThrow(TypeError);
    expect(() => s.write(bad)).toThrow(TypeError);
    expect(() => s.peek(bad)).toThrow(TypeError);
    expect(() => s.readv([bad])).toThrow(TypeError);
    expect(() => s.writev(bad as unknown as Uint8Array[])).toThrow(TypeError);
    expect(() => s.shutdown("sideways" as "both")).toThrow(TypeError);
  });

  it("a too-long path throws TypeError", () => {
    const path = tempFile("x".repeat(120));
    expect(() => UnixStream.connect(path)).toThrow(TypeError);
    expect(() => UnixStream.connect("")).toThrow(TypeError);
    expect(() => UnixStream.connect(42 as unknown as string)).toThrow(TypeError);
  });
});
