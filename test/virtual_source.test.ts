/**
 * The Registry's virtual readiness queue, driven by a small in-memory Source
 * (the way the userspace stack's sockets will use it): virtual and kernel
 * events in one poll, edge-triggered, bounded by the Events capacity, and
 * gone for good after deregister.
 */
import { describe, expect, it } from "vitest";
import { C } from "../src/native.js";
import { selectorOf } from "../src/poll/registry.js";
import { VirtualSource } from "../src/stack/virtual-source.js";
import {
  Events,
  Interest,
  Poll,
  Token,
  UdpSocket,
  WOULD_BLOCK,
  type WouldBlock,
} from "../src/index.js";
import { expectIoError, later, sleepSync, useCleanup } from "./support/harness.js";
import { expectNoEvents } from "./support/util.js";

const R = Interest.READABLE;
const W = Interest.WRITABLE;
const own = useCleanup();

/**
 * An in-memory byte channel on the stack's own base class for virtual sockets:
 * always writable, readable while bytes are queued. Like a kernel socket it
 * signals a wake-up on every arrival, reports its current readiness when
 * (re)registered, and belongs to one poll at a time.
 */
class MemoryChannel extends VirtualSource {
  private readonly queue: Uint8Array[] = [];
  private eof = false;

  /** The peer sends `bytes`. */
  deliver(bytes: Uint8Array): void {
    this.queue.push(bytes);
    this.wake(C.EPOLLIN);
  }

  /** The peer shuts down its writing half. */
  hangUp(): void {
    this.eof = true;
    this.wake(C.EPOLLIN | C.EPOLLRDHUP);
  }

  /** Bytes into `buf`, 0 at end of stream, WOULD_BLOCK while empty. */
  read(buf: Uint8Array): number | WouldBlock {
    this.live();
    const head = this.queue[0];
    if (head === undefined) return this.eof ? 0 : WOULD_BLOCK;
    const n = Math.min(buf.length, head.length);
    buf.set(head.subarray(0, n));
    if (n === head.length) this.queue.shift();
    else this.queue[0] = head.subarray(n);
    return n;
  }

  protected readiness(): number {
    const readable = this.queue.length > 0 || this.eof ? C.EPOLLIN : 0;
    return C.EPOLLOUT | readable | (this.eof ? C.EPOLLRDHUP : 0);
  }
}

/** Readiness of a raw registration: readable and writable. */
const readableWritable = (): number => C.EPOLLIN | C.EPOLLOUT;

type Seen = { token: number; readable: boolean; writable: boolean };

function summary(events: Events): Seen[] {
  return [...events].map((e) => ({ token: e.token(), readable: e.isReadable(), writable: e.isWritable() }));
}

/** Events of one poll, sorted by token. */
function pollOnce(poll: Poll, events: Events, timeoutMs: number | null = 0): Seen[] {
  poll.poll(events, timeoutMs);
  return summary(events).sort((a, b) => a.token - b.token);
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("virtual readiness", () => {
  it("merges with kernel events in one poll", () => {
    const poll = own(new Poll());
    const events = new Events(8);
    const udp = own(UdpSocket.bind("127.0.0.1:0"));
    const sender = own(UdpSocket.bind("127.0.0.1:0"));
    const channel = new MemoryChannel();
    poll.registry().register(udp, Token(1), R);
    poll.registry().register(channel, Token(2), R);
    expect(sender.sendTo(bytes("k"), udp.localAddr())).toBe(1);
    channel.deliver(bytes("v"));
    sleepSync(10);

    expect(pollOnce(poll, events, 1000)).toEqual([
      { token: 1, readable: true, writable: false },
      { token: 2, readable: true, writable: false },
    ]);
  });

  it("is edge-triggered: one event per edge, coalesced until polled", () => {
    const poll = own(new Poll());
    const events = new Events(8);
    const channel = new MemoryChannel();
    poll.registry().register(channel, Token(5), R);
    expectNoEvents(poll, events, 0);

    channel.deliver(bytes("ab"));
    channel.deliver(bytes("cd"));
    expect(pollOnce(poll, events)).toEqual([{ token: 5, readable: true, writable: false }]);
    // not drained, but no new edge: no new event
    expectNoEvents(poll, events, 0);

    const buf = new Uint8Array(8);
    expect(channel.read(buf)).toBe(2);
    expect(channel.read(buf)).toBe(2);
    expect(channel.read(buf)).toBe(WOULD_BLOCK);
    channel.deliver(bytes("e"));
    expect(pollOnce(poll, events)).toEqual([{ token: 5, readable: true, writable: false }]);
    expectNoEvents(poll, events, 0);
  });

  it("coalesces different flags of one source into one event", () => {
    const poll = own(new Poll());
    const events = new Events(8);
    const channel = new MemoryChannel();
    poll.registry().register(channel, Token(6), R);
    channel.deliver(bytes("x"));
    channel.hangUp();
    poll.poll(events, 0);
    expect([...events].map((e) => [e.token(), e.isReadable(), e.isReadClosed()])).toEqual([[6, true, true]]);
  });

  it("drops flags outside the interest, as epoll does", () => {
    const poll = own(new Poll());
    const events = new Events(8);
    const channel = new MemoryChannel();
    // registered for WRITABLE: reports writable, never readable
    poll.registry().register(channel, Token(7), W);
    expect(pollOnce(poll, events)).toEqual([{ token: 7, readable: false, writable: true }]);
    channel.deliver(bytes("x"));
    expectNoEvents(poll, events, 0);
  });

  it("reports at most capacity() events per poll, the rest on the next", () => {
    const poll = own(new Poll());
    const events = new Events(2);
    const channels = [1, 2, 3, 4, 5].map((t) => {
      const c = new MemoryChannel();
      poll.registry().register(c, Token(t), R);
      return c;
    });
    for (const c of channels) c.deliver(bytes("x"));
    const sizes: number[] = [];
    const tokens: number[] = [];
    for (let i = 0; i < 3; i++) {
      poll.poll(events, 0);
      sizes.push(events.length);
      tokens.push(...[...events].map((e) => e.token()));
    }
    expect(sizes).toEqual([2, 2, 1]);
    expect(tokens.sort()).toEqual([1, 2, 3, 4, 5]);
    expectNoEvents(poll, events, 0);
  });

  it("a full virtual batch defers kernel events to the next poll, without losing them", () => {
    const poll = own(new Poll());
    const events = new Events(2);
    const udp = own(UdpSocket.bind("127.0.0.1:0"));
    poll.registry().register(udp, Token(9), W);
    for (const t of [1, 2]) {
      const c = new MemoryChannel();
      poll.registry().register(c, Token(t), R);
      c.deliver(bytes("x"));
    }
    sleepSync(5);
    expect(pollOnce(poll, events).map((e) => e.token)).toEqual([1, 2]);
    expect(pollOnce(poll, events)).toEqual([{ token: 9, readable: false, writable: true }]);
  });

  it("deregister drops queued readiness, and the token never appears again", () => {
    const poll = own(new Poll());
    const events = new Events(8);
    const channel = new MemoryChannel();
    poll.registry().register(channel, Token(7), R);
    channel.deliver(bytes("queued"));
    poll.registry().deregister(channel);
    expectNoEvents(poll, events, 0);
    channel.deliver(bytes("after"));
    expectNoEvents(poll, events, 0);

    // registered again under another token: only that token shows up
    poll.registry().register(channel, Token(8), R);
    channel.deliver(bytes("again"));
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) seen.push(...pollOnce(poll, events).map((e) => e.token));
    expect(seen).toEqual([8]);
  });

  it("a stale registration cannot report after deregister", () => {
    const poll = own(new Poll());
    const events = new Events(8);
    const selector = selectorOf(poll.registry());
    const reg = selector.registerVirtual(Token(3), R, readableWritable);
    reg.ready(C.EPOLLIN);
    selector.deregisterVirtual(reg);
    reg.ready(C.EPOLLIN);
    expectNoEvents(poll, events, 0);
  });

  it("reregister changes the token and the interest", () => {
    const poll = own(new Poll());
    const events = new Events(8);
    const channel = new MemoryChannel();
    poll.registry().register(channel, Token(1), R);
    channel.deliver(bytes("x"));
    // before polling: the queued edge is reported with the new token
    poll.registry().reregister(channel, Token(2), R.add(W));
    expect(pollOnce(poll, events)).toEqual([{ token: 2, readable: true, writable: true }]);

    poll.registry().reregister(channel, Token(3), W);
    expect(pollOnce(poll, events)).toEqual([{ token: 3, readable: false, writable: true }]);
    channel.deliver(bytes("y"));
    expectNoEvents(poll, events, 0);

    poll.registry().reregister(channel, Token(4), R);
    expect(pollOnce(poll, events)).toEqual([{ token: 4, readable: true, writable: false }]);
  });

  it("a queued registration reports the flags of its interest at delivery", () => {
    const poll = own(new Poll());
    const events = new Events(8);
    const selector = selectorOf(poll.registry());
    const reg = selector.registerVirtual(Token(1), R.add(W), readableWritable);
    reg.ready(C.EPOLLIN | C.EPOLLOUT);
    selector.reregisterVirtual(reg, Token(2), W);
    expect(pollOnce(poll, events)).toEqual([{ token: 2, readable: false, writable: true }]);
  });

  it("refuses double registration (EEXIST) and unknown ones (ENOENT)", () => {
    const poll = own(new Poll());
    const other = own(new Poll());
    const events = new Events(8);
    const channel = new MemoryChannel();
    expectIoError(() => poll.registry().reregister(channel, Token(1), R), "ENOENT", "not registered");
    expectIoError(() => poll.registry().deregister(channel), "ENOENT", "not registered");

    poll.registry().register(channel, Token(1), R);
    expectIoError(() => poll.registry().register(channel, Token(2), R), "EEXIST", "already registered");
    expectIoError(() => other.registry().register(channel, Token(2), R), "EEXIST", "already registered");
    expectIoError(() => other.registry().reregister(channel, Token(2), R), "ENOENT", "not registered");
    expectIoError(() => other.registry().deregister(channel), "ENOENT", "not registered");

    poll.registry().deregister(channel);
    expectIoError(() => poll.registry().deregister(channel), "ENOENT", "not registered");
    // free again: it may join the other poll
    other.registry().register(channel, Token(9), R);
    channel.deliver(bytes("x"));
    expect(pollOnce(other, events)).toEqual([{ token: 9, readable: true, writable: false }]);
    expectNoEvents(poll, events, 0);
  });

  it("a pending pollAsync wakes when virtual readiness arrives", async () => {
    const poll = own(new Poll());
    const events = new Events(8);
    const channel = new MemoryChannel();
    poll.registry().tryClone().register(channel, Token(4), R);
    const delivering = later(() => channel.deliver(bytes("late")), 50);
    const t0 = performance.now();
    await poll.pollAsync(events, 5000);
    await delivering;
    const waited = performance.now() - t0;
    expect(summary(events)).toEqual([{ token: 4, readable: true, writable: false }]);
    expect(waited).toBeGreaterThanOrEqual(40);
    expect(waited).toBeLessThan(4000);
  });

  it("pollAsync returns at once when virtual readiness is already queued", async () => {
    const poll = own(new Poll());
    const events = new Events(8);
    const channel = new MemoryChannel();
    poll.registry().register(channel, Token(4), R);
    channel.deliver(bytes("x"));
    const t0 = performance.now();
    await poll.pollAsync(events, null);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(summary(events)).toEqual([{ token: 4, readable: true, writable: false }]);
  });

  it("queued virtual readiness makes a blocking poll return at once", () => {
    const poll = own(new Poll());
    const events = new Events(8);
    const channel = new MemoryChannel();
    poll.registry().register(channel, Token(4), R);
    channel.deliver(bytes("x"));
    const t0 = performance.now();
    poll.poll(events, null);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(events.length).toBe(1);
  });

  it("after close, registering throws EBADF and readiness is ignored", () => {
    const poll = new Poll();
    const channel = new MemoryChannel();
    const selector = selectorOf(poll.registry());
    const reg = selector.registerVirtual(Token(1), R, readableWritable);
    poll.close();
    reg.ready(C.EPOLLIN);
    expect(selector.hasPending()).toBe(false);
    expectIoError(() => poll.registry().register(channel, Token(2), R), "EBADF");
  });
});
