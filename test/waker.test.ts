/**
 * mio's tests/waker.rs. A Waker cannot cross into a worker thread, so mio's
 * "different thread" wakers become timers that fire while `pollAsync` waits.
 *
 * Not ported: `is_send_and_sync` (Rust marker traits).
 */
import { expect, it } from "vitest";
import { Events, Interest, Poll, Token, UdpSocket, Waker } from "../src/index.js";
import { expectIoError, later, timed, useCleanup } from "./support/harness.js";
import { expectNoEvents } from "./support/util.js";

const TOKEN = Token(10);
const own = useCleanup();

/** mio's `expect_waker_event`: one poll returns only readable events of `token`. */
function expectWakerEvent(poll: Poll, events: Events, token: Token): void {
  poll.poll(events, 100);
  expect(events.isEmpty()).toBe(false);
  for (const ev of events) {
    expect(ev.token()).toBe(token);
    expect(ev.isReadable()).toBe(true);
  }
}

/** The same with pollAsync, waiting up to `ms` for the wake to come. */
async function expectWakerEventAsync(poll: Poll, events: Events, token: Token, ms: number | null = 2000): Promise<void> {
  await poll.pollAsync(events, ms);
  expect([...events].map((e) => [e.token(), e.isReadable()])).toEqual([[token, true]]);
}

it("waker", () => {
  const poll = own(new Poll());
  const events = new Events(10);
  const waker = new Waker(poll.registry(), TOKEN);
  waker.wake();
  expectWakerEvent(poll, events, TOKEN);
});

it("waker_multiple_wakeups_same_thread", () => {
  const poll = own(new Poll());
  const events = new Events(10);
  const waker = new Waker(poll.registry(), TOKEN);
  for (let i = 0; i < 3; i++) waker.wake();
  // the three wakes coalesce into one event
  expectWakerEvent(poll, events, TOKEN);
  expect(events.length).toBe(1);
  expectNoEvents(poll, events);
  // and the waker keeps working afterwards
  waker.wake();
  expectWakerEvent(poll, events, TOKEN);
  expect(events.length).toBe(1);
});

it("waker_wakeup_different_thread", async () => {
  const poll = own(new Poll());
  const events = new Events(10);
  const waker = new Waker(poll.registry(), TOKEN);
  const waking = later(() => waker.wake(), 20);
  await expectWakerEventAsync(poll, events, TOKEN);
  await waking;
  expectNoEvents(poll, events);
});

it("waker_multiple_wakeups_different_thread", async () => {
  const poll = own(new Poll());
  const events = new Events(10);
  const waker = new Waker(poll.registry(), TOKEN);
  const first = later(() => waker.wake(), 10);
  await expectWakerEventAsync(poll, events, TOKEN);
  await first;
  // the second waker runs only after the first event was received
  const second = later(() => waker.wake(), 10);
  await expectWakerEventAsync(poll, events, TOKEN);
  await second;
  expectNoEvents(poll, events);
});

it("using_multiple_wakers_panics", () => {
  const poll = own(new Poll());
  const events = new Events(10);
  const waker1 = new Waker(poll.registry(), Token(10));
  expectIoError(() => new Waker(poll.registry(), Token(11)), "EEXIST", "one Waker per Poll");
  // the refused second waker leaves the first one working
  waker1.wake();
  expectWakerEvent(poll, events, Token(10));
});

it("using_multiple_wakers_panics_different_cloned_registries", () => {
  const poll = own(new Poll());
  const registry1 = poll.registry().tryClone();
  const registry2 = poll.registry().tryClone();
  new Waker(registry1, Token(10));
  expectIoError(() => new Waker(registry2, Token(11)), "EEXIST", "one Waker per Poll");
});

it("each Poll has its own Waker", () => {
  const poll1 = own(new Poll());
  const poll2 = own(new Poll());
  const events = new Events(10);
  const waker1 = new Waker(poll1.registry(), Token(1));
  new Waker(poll2.registry(), Token(2));
  waker1.wake();
  expectWakerEvent(poll1, events, Token(1));
  expectNoEvents(poll2, events);
});

it("a wake before a blocking poll(null) returns at once", () => {
  const poll = own(new Poll());
  const events = new Events(10);
  const waker = new Waker(poll.registry(), TOKEN);
  waker.wake();
  expect(timed(() => poll.poll(events, null))).toBeLessThan(1000);
  expect([...events].map((e) => e.token())).toEqual([TOKEN]);
});

it("a wake ends pollAsync(null)", async () => {
  const poll = own(new Poll());
  const events = new Events(10);
  const waker = new Waker(poll.registry(), TOKEN);
  const waking = later(() => waker.wake(), 30);
  await expectWakerEventAsync(poll, events, TOKEN, null);
  await waking;
});

it("the waker token shares the poll with other sources", () => {
  const poll = own(new Poll());
  const events = new Events(10);
  const waker = new Waker(poll.registry(), TOKEN);
  const socket = own(UdpSocket.bind("127.0.0.1:0"));
  poll.registry().register(socket, Token(1), Interest.WRITABLE);
  waker.wake();
  poll.poll(events, 100);
  const seen = [...events].map((e) => [e.token(), e.isReadable(), e.isWritable()]);
  expect(seen).toHaveLength(2);
  expect(seen).toEqual(expect.arrayContaining([[TOKEN, true, false], [1, false, true]]));
});

it("wake() after the poll is closed throws EBADF", () => {
  const poll = new Poll();
  const waker = new Waker(poll.registry(), TOKEN);
  poll.close();
  expectIoError(() => waker.wake(), "EBADF");
});

it("a Waker cannot be made for a closed poll (EBADF)", () => {
  const poll = new Poll();
  new Waker(poll.registry(), TOKEN);
  poll.close();
  expectIoError(() => new Waker(poll.registry(), TOKEN), "EBADF");
  const fresh = new Poll();
  fresh.close();
  expectIoError(() => new Waker(fresh.registry(), TOKEN), "EBADF");
});

it("a bad token is a TypeError", () => {
  const poll = own(new Poll());
  expect(() => new Waker(poll.registry(), -1 as Token)).toThrow(TypeError);
  // and does not use up the poll's one waker
  new Waker(poll.registry(), TOKEN);
});
