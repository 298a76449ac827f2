/** mio's tests/unix_listener.rs, on tsmio's UnixListener (plus EADDRINUSE / EBADF / TypeError checks). */
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Events, Interest, Poll, Token, UnixListener, UnixSocketAddr, UnixStream } from "../src/index.js";
import { useCleanup } from "./support/harness.js";
import { expectNonBlockingCloexec } from "./support/fdinfo.js";
import { expectIoError, useTempDir } from "./support/unix.js";
import { assertWouldBlock, expectEvents, expectNoEvents, ok } from "./support/util.js";

const TOKEN_1 = Token(0);
const READABLE = { readable: true };

describe("unix_listener", () => {
  const own = useCleanup();
  const tempFile = useTempDir();
  const initWithPoll = (): [Poll, Events] => [own(new Poll()), new Events(16)];
  /** mio's open_connections(path, 1, ..): a client that connects and stays until the test ends. */
  const openConnection = (addr: string | UnixSocketAddr): UnixStream => own(UnixStream.connect(addr));


  it("unix_listener_smoke", () => {
    const [poll, events] = initWithPoll();
    const path = tempFile("unix_listener_smoke");
    const listener = own(UnixListener.bind(path));
    expectNonBlockingCloexec(listener);

    poll.registry().register(listener, TOKEN_1, Interest.WRITABLE.add(Interest.READABLE));
    expectNoEvents(poll, events);

    openConnection(path);
    expectEvents(poll, events, [{ token: TOKEN_1, readiness: READABLE }]);

    const [stream] = ok(listener.accept());
    own(stream);
    assertWouldBlock(stream.read(new Uint8Array(64)));
    assertWouldBlock(listener.accept());
    expect(listener.takeError()).toBeNull();
  });

  it("unix_listener_local_addr", () => {
    const [poll, events] = initWithPoll();
    const path = tempFile("unix_listener_local_addr");
    const listener = own(UnixListener.bind(path));
    poll.registry().register(listener, TOKEN_1, Interest.WRITABLE.add(Interest.READABLE));

    openConnection(path);
    expectEvents(poll, events, [{ token: TOKEN_1, readiness: READABLE }]);

    const [stream, peer] = ok(listener.accept());
    own(stream);
    expect(stream.localAddr().path).toBe(path);
    expect(peer.path).toBeNull();
    expect(peer.isUnnamed()).toBe(true);
  });

  it("unix_listener_register", () => {
    const [poll, events] = initWithPoll();
    const listener = own(UnixListener.bind(tempFile("unix_listener_register")));
    poll.registry().register(listener, TOKEN_1, Interest.READABLE);
    expectNoEvents(poll, events);
  });

  it("unix_listener_reregister", () => {
    const [poll, events] = initWithPoll();
    const path = tempFile("unix_listener_reregister");
    const listener = own(UnixListener.bind(path));
    poll.registry().register(listener, TOKEN_1, Interest.WRITABLE);

    openConnection(path);
    expectNoEvents(poll, events);

    poll.registry().reregister(listener, TOKEN_1, Interest.READABLE);
    expectEvents(poll, events, [{ token: TOKEN_1, readiness: READABLE }]);
  });

  it("unix_listener_deregister", () => {
    const [poll, events] = initWithPoll();
    const path = tempFile("unix_listener_deregister");
    const listener = own(UnixListener.bind(path));
    poll.registry().register(listener, TOKEN_1, Interest.READABLE);

    openConnection(path);
    poll.registry().deregister(listener);
    expectNoEvents(poll, events);
  });

  it("unix_listener_abstract_namespace", () => {
    const [poll, events] = initWithPoll();
    const address = UnixSocketAddr.fromAbstractName(`mio-abstract-uds-${randomUUID()}`);
    const listener = own(UnixListener.bind(address));
    expect(listener.localAddr().abstractName).toEqual(address.abstractName);

    poll.registry().register(listener, TOKEN_1, Interest.WRITABLE.add(Interest.READABLE));
    expectNoEvents(poll, events);

    openConnection(address);
    expectEvents(poll, events, [{ token: TOKEN_1, readiness: READABLE }]);

    const [stream, peer] = ok(listener.accept());
    own(stream);
    expect(peer.isUnnamed()).toBe(true);
  });

  it("accept drains every pending connection, then WOULD_BLOCK", () => {
    const path = tempFile("drain");
    const listener = own(UnixListener.bind(path));
    for (let i = 0; i < 3; i++) openConnection(path);
    for (let i = 0; i < 3; i++) own(ok(listener.accept())[0]);
    assertWouldBlock(listener.accept());
  });

  it("binding an existing path throws EADDRINUSE and keeps the file", () => {
    const path = tempFile("taken");
    own(UnixListener.bind(path));
    expectIoError(() => UnixListener.bind(path), "EADDRINUSE");
    expect(existsSync(path)).toBe(true);
  });

  it("binding in a missing directory throws ENOENT", () => {
    expectIoError(() => UnixListener.bind(tempFile("no/such/dir")), "ENOENT");
  });

  it("using a closed listener throws EBADF", () => {
    const [poll] = initWithPoll();
    const listener = own(UnixListener.bind(tempFile("closed")));
    listener.close();
    listener.close(); // idempotent
    expectIoError(() => listener.accept(), "EBADF");
    expectIoError(() => listener.localAddr(), "EBADF");
    expectIoError(() => listener.takeError(), "EBADF");
    expectIoError(() => poll.registry().register(listener, TOKEN_1, Interest.READABLE), "EBADF");
  });

  it("a too-long path or a non-address throws TypeError", () => {
    expect(() => UnixListener.bind(tempFile("y".repeat(120)))).toThrow(TypeError);
    expect(() => UnixListener.bind("a\0b")).toThrow(TypeError);
    expect(() => UnixListener.bind({} as unknown as string)).toThrow(TypeError);
    expect(() => UnixSocketAddr.fromAbstractName("z".repeat(108))).toThrow(TypeError);
  });
});
