/** mio's tests/unix_pipe.rs on tsmio's `pipe()`, plus vectored I/O, EPIPE, a full pipe, EBADF, TypeError. */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { Events, Interest, Poll, Token, WOULD_BLOCK, pipe, type Receiver, type Sender } from "../src/index.js";
import { useCleanup } from "./support/harness.js";
import { expectNonBlockingCloexec, rawFd } from "./support/fdinfo.js";
import { checkedWrite, expectIoError, expectRead } from "./support/unix.js";
import { assertWouldBlock, expectEvents } from "./support/util.js";

const RECEIVER = Token(0);
const SENDER = Token(1);
const DATA1 = new TextEncoder().encode("Hello world");
/** Large enough to find the bottom of any pipe buffer (Linux: 64 KiB by default). */
const PIPE_LIMIT = 16 << 20;

describe("unix_pipe", () => {
  const own = useCleanup();
  const initWithPoll = (): [Poll, Events] => [own(new Poll()), new Events(8)];
  const openPipe = (): [Sender, Receiver] => {
    const [s, r] = pipe();
    return [own(s), own(r)];
  };

  /**
   * mio's expect_one_closed_event: one poll brings exactly one event, for
   * `token`, with the read (or write) half closed.
   */
  function expectOneClosedEvent(poll: Poll, events: Events, token: Token, read: boolean, timeoutMs = 1000): void {
    poll.poll(events, timeoutMs);
    const seen = [...events].map((ev) => ({
      token: ev.token(),
      closed: read ? ev.isReadClosed() : ev.isWriteClosed(),
      text: ev.toString(),
    }));
    expect(seen.map((e) => e.text)).toHaveLength(1);
    expect(seen[0]!.token).toBe(token);
    expect(seen[0]!.closed, seen[0]!.text).toBe(true);
  }

  /**
   * mio's `cat` child with piped stdin and stdout: the child's ends are
   * handed to it and closed here. Killed after the test if still running.
   */
  function spawnCat(): { child: ChildProcess; exited: Promise<unknown[]>; sender: Sender; receiver: Receiver } {
    const [sender, childStdin] = openPipe();
    const [childStdout, receiver] = openPipe();
    const child = spawn("cat", [], { stdio: [rawFd(childStdin), rawFd(childStdout), "inherit"] });
    const exited = once(child, "exit");
    own({ close: () => child.kill() });
    childStdin.close();
    childStdout.close();
    return { child, exited, sender, receiver };
  }

  it("smoke", () => {
    const [poll, events] = initWithPoll();
    const [sender, receiver] = openPipe();
    expectNonBlockingCloexec(sender);
    expectNonBlockingCloexec(receiver);

    const buf = new Uint8Array(20);
    assertWouldBlock(receiver.read(buf));

    poll.registry().register(receiver, RECEIVER, Interest.READABLE);
    poll.registry().register(sender, SENDER, Interest.WRITABLE);
    expectEvents(poll, events, [{ token: SENDER, readiness: { writable: true } }]);
    checkedWrite(sender.write(DATA1), DATA1);

    expectEvents(poll, events, [{ token: RECEIVER, readiness: { readable: true } }]);
    expectRead(receiver.read(buf), buf, DATA1);
  });

  it("event_when_sender_is_dropped", () => {
    const [poll, events] = initWithPoll();
    const [sender, receiver] = openPipe();
    poll.registry().register(receiver, RECEIVER, Interest.READABLE);

    checkedWrite(sender.write(DATA1), DATA1);
    expectEvents(poll, events, [{ token: RECEIVER, readiness: { readable: true } }]);

    sender.close();
    expectOneClosedEvent(poll, events, RECEIVER, true);
  });

  it("event_when_receiver_is_dropped", () => {
    const [poll, events] = initWithPoll();
    const [sender, receiver] = openPipe();
    poll.registry().register(sender, SENDER, Interest.WRITABLE);
    expectEvents(poll, events, [{ token: SENDER, readiness: { writable: true } }]);

    receiver.close();
    expectOneClosedEvent(poll, events, SENDER, false);
  });

  it("from_child_process_io", async () => {
    const [poll, events] = initWithPoll();
    const { exited, sender, receiver } = spawnCat();
    poll.registry().register(receiver, RECEIVER, Interest.READABLE);
    poll.registry().register(sender, SENDER, Interest.WRITABLE);

    expectEvents(poll, events, [{ token: SENDER, readiness: { writable: true } }]);
    checkedWrite(sender.write(DATA1), DATA1);

    expectEvents(poll, events, [{ token: RECEIVER, readiness: { readable: true } }], 10_000);
    const buf = new Uint8Array(20);
    expectRead(receiver.read(buf), buf, DATA1);

    sender.close();
    expectOneClosedEvent(poll, events, RECEIVER, true, 10_000);
    expect(await exited).toEqual([0, null]);
  });

  it("nonblocking_child_process_io", async () => {
    const { exited, sender, receiver } = spawnCat();
    const buf = new Uint8Array(20);
    assertWouldBlock(receiver.read(buf));

    sender.close();
    expect(await exited).toEqual([0, null]);
    expect(receiver.read(buf), "end of stream").toBe(0);
  });

  it("writev and readv keep the order of the buffers", () => {
    const [sender, receiver] = openPipe();
    const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
    expect(sender.writev([enc("Hello"), enc(" "), enc("world")])).toBe(DATA1.length);
    const a = new Uint8Array(4);
    const b = new Uint8Array(16).fill(9);
    expect(receiver.readv([a, b])).toBe(DATA1.length);
    expect(a).toEqual(DATA1.subarray(0, 4));
    expectRead(DATA1.length - 4, b, DATA1.subarray(4));
    expect(b[DATA1.length - 4], "untouched").toBe(9);
    assertWouldBlock(receiver.readv([a]));
  });

  it("a full pipe gives WOULD_BLOCK, and WRITABLE again once drained", () => {
    const [poll, events] = initWithPoll();
    const [sender, receiver] = openPipe();
    poll.registry().register(sender, SENDER, Interest.WRITABLE);
    expectEvents(poll, events, [{ token: SENDER, readiness: { writable: true } }]);

    const chunk = new Uint8Array(4096).fill(7);
    let total = 0;
    for (let r = sender.write(chunk); r !== WOULD_BLOCK; r = sender.write(chunk)) {
      total += r;
      expect(total).toBeLessThan(PIPE_LIMIT);
    }
    expect(total).toBeGreaterThan(0);

    const buf = new Uint8Array(65536);
    let drained = 0;
    for (let r = receiver.read(buf); r !== WOULD_BLOCK; r = receiver.read(buf)) drained += r;
    expect(drained).toBe(total);
    expectEvents(poll, events, [{ token: SENDER, readiness: { writable: true } }]);
  });

  it("writing after the receiver is closed throws EPIPE; reading after the sender is closed gives 0", () => {
    const [s1, r1] = openPipe();
    r1.close();
    expectIoError(() => s1.write(DATA1), "EPIPE");

    const [s2, r2] = openPipe();
    checkedWrite(s2.write(DATA1), DATA1);
    s2.close();
    const buf = new Uint8Array(20);
    expectRead(r2.read(buf), buf, DATA1);
    expect(r2.read(buf)).toBe(0);
  });

  it("using a closed end throws EBADF", () => {
    const [poll] = initWithPoll();
    const [sender, receiver] = openPipe();
    sender.close();
    receiver.close();
    receiver.close(); // idempotent
    const buf = new Uint8Array(4);
    expectIoError(() => sender.write(buf), "EBADF");
    expectIoError(() => sender.writev([buf]), "EBADF");
    expectIoError(() => receiver.read(buf), "EBADF");
    expectIoError(() => receiver.readv([buf]), "EBADF");
    expectIoError(() => poll.registry().register(receiver, RECEIVER, Interest.READABLE), "EBADF");
  });

  it("non-buffer arguments throw TypeError", () => {
    const [sender, receiver] = openPipe();
    const bad = "text" as unknown as Uint8Array;
    expect(() => sender.write(bad)).toThrow(TypeError);
    expect(() => sender.writev([bad])).toThrow(TypeError);
    expect(() => receiver.read(bad)).toThrow(TypeError);
    expect(() => receiver.readv(bad as unknown as Uint8Array[])).toThrow(TypeError);
  });
});
