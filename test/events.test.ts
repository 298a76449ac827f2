/**
 * mio's tests/events.rs, plus the Events contract: capacity, withCapacity,
 * clear, iter, isEmpty, and at most `capacity()` events per poll.
 *
 * Not ported: `is_event_send_sync` (Rust marker traits).
 */
import { describe, expect, it } from "vitest";
import { Events, Interest, Poll, Token, UdpSocket, Waker, type Registry, type Source } from "../src/index.js";
import { useCleanup } from "./support/harness.js";
import { expectEvents } from "./support/util.js";

const WAKE_TOKEN = Token(10);
const own = useCleanup();

it("assert_event_source_implemented_for", () => {
  // mio checks `Box<dyn Source>`: here, a wrapper that forwards to the socket it holds
  const poll = own(new Poll());
  const events = new Events(4);
  const inner = own(UdpSocket.bind("127.0.0.1:0"));
  const boxed: Source = {
    register: (r: Registry, t: Token, i: Interest) => inner.register(r, t, i),
    reregister: (r: Registry, t: Token, i: Interest) => inner.reregister(r, t, i),
    deregister: (r: Registry) => inner.deregister(r),
  };
  poll.registry().register(boxed, Token(1), Interest.WRITABLE);
  expectEvents(poll, events, [{ token: Token(1), readiness: { writable: true } }]);
  poll.registry().deregister(boxed);
});

it("events_all", () => {
  const poll = own(new Poll());
  const events = Events.withCapacity(16);
  expect(events.capacity()).toBe(16);
  expect(events.isEmpty()).toBe(true);

  const waker = new Waker(poll.registry(), WAKE_TOKEN);
  waker.wake();
  poll.poll(events, 100);
  expect(events.isEmpty()).toBe(false);
  for (const ev of events.iter()) {
    expect(ev.token()).toBe(WAKE_TOKEN);
    expect(ev.isReadable()).toBe(true);
  }
  events.clear();
  expect(events.isEmpty()).toBe(true);
  expect([...events]).toEqual([]);
});

describe("Events", () => {
  it("new Events(n) and Events.withCapacity(n) have room for n events", () => {
    expect(new Events(1).capacity()).toBe(1);
    expect(new Events(128).capacity()).toBe(128);
    expect(Events.withCapacity(7).capacity()).toBe(7);
    expect(Events.withCapacity(7)).toBeInstanceOf(Events);
  });

  it.each([0, -1, 1.5, Number.NaN])("capacity %s throws TypeError", (n) => {
    expect(() => new Events(n)).toThrow(TypeError);
  });

  it("a poll returns at most capacity() events; the rest come next call", () => {
    const poll = own(new Poll());
    const events = new Events(2);
    for (let t = 1; t <= 5; t++) {
      poll.registry().register(own(UdpSocket.bind("127.0.0.1:0")), Token(t), Interest.WRITABLE);
    }
    const seen: number[] = [];
    const sizes: number[] = [];
    for (let i = 0; i < 3; i++) {
      poll.poll(events, 1000);
      sizes.push(events.length);
      seen.push(...[...events].map((e) => e.token()));
    }
    expect(sizes).toEqual([2, 2, 1]);
    expect(seen.sort()).toEqual([1, 2, 3, 4, 5]);
    poll.poll(events, 0);
    expect(events.isEmpty()).toBe(true);
  });

  it("poll clears what the last poll left", () => {
    const poll = own(new Poll());
    const events = new Events(4);
    const waker = new Waker(poll.registry(), WAKE_TOKEN);
    waker.wake();
    poll.poll(events, 100);
    expect(events.length).toBe(1);
    poll.poll(events, 0);
    expect(events.isEmpty()).toBe(true);
    expect(events.length).toBe(0);
  });

  it("iter() and iteration visit the same events, any number of times", () => {
    const poll = own(new Poll());
    const events = new Events(8);
    for (let t = 1; t <= 3; t++) {
      poll.registry().register(own(UdpSocket.bind("127.0.0.1:0")), Token(t), Interest.WRITABLE);
    }
    poll.poll(events, 1000);
    const viaIter = [...events.iter()].map((e) => e.token());
    const viaForOf: number[] = [];
    for (const e of events) viaForOf.push(e.token());
    expect(viaIter.sort()).toEqual([1, 2, 3]);
    expect(viaForOf.sort()).toEqual(viaIter);
    expect([...events].map((e) => e.token()).sort()).toEqual(viaIter);
  });

  it("an Event prints its token and flags", () => {
    const poll = own(new Poll());
    const events = new Events(4);
    poll.registry().register(own(UdpSocket.bind("127.0.0.1:0")), Token(3), Interest.WRITABLE);
    poll.poll(events, 1000);
    expect([...events].map(String)).toEqual(["Event { token: 3, writable }"]);
  });
});
