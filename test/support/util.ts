/**
 * Test helpers modelled on mio's tests/util: expect events within a deadline,
 * expect none, would-block assertions. Used by every suite.
 */
import { expect } from "vitest";
import { Events, Poll, WOULD_BLOCK, type Event, type Token } from "../../src/index.js";

/** Readiness an event must show (all the listed flags; others may be set too). */
export interface Readiness {
  readable?: boolean;
  writable?: boolean;
  error?: boolean;
  readClosed?: boolean;
  writeClosed?: boolean;
  priority?: boolean;
}

export interface ExpectEvent {
  token: Token;
  readiness: Readiness;
}

/** Which of the flags the event matches. */
function matches(ev: Event, r: Readiness): boolean {
  return (
    (!r.readable || ev.isReadable()) &&
    (!r.writable || ev.isWritable()) &&
    (!r.error || ev.isError()) &&
    (!r.readClosed || ev.isReadClosed()) &&
    (!r.writeClosed || ev.isWriteClosed()) &&
    (!r.priority || ev.isPriority())
  );
}

/**
 * Polls (up to `timeoutMs` in all) until every expected event has been seen,
 * as mio's `expect_events` does. Fails with the events seen otherwise.
 */
export function expectEvents(poll: Poll, events: Events, expected: ExpectEvent[], timeoutMs = 2000): void {
  const left = [...expected];
  const seen: string[] = [];
  const deadline = Date.now() + timeoutMs;
  while (left.length > 0 && Date.now() < deadline) {
    poll.poll(events, Math.max(1, Math.min(100, deadline - Date.now())));
    for (const ev of events) {
      seen.push(ev.toString());
      const i = left.findIndex((e) => e.token === ev.token() && matches(ev, e.readiness));
      if (i >= 0) left.splice(i, 1);
    }
  }
  expect(left, `missing events; saw: ${seen.join(", ") || "none"}`).toEqual([]);
}

/** Async variant of {@link expectEvents} using `pollAsync`. */
export async function expectEventsAsync(
  poll: Poll,
  events: Events,
  expected: ExpectEvent[],
  timeoutMs = 2000,
): Promise<void> {
  const left = [...expected];
  const seen: string[] = [];
  const deadline = Date.now() + timeoutMs;
  while (left.length > 0 && Date.now() < deadline) {
    await poll.pollAsync(events, Math.max(1, Math.min(100, deadline - Date.now())));
    for (const ev of events) {
      seen.push(ev.toString());
      const i = left.findIndex((e) => e.token === ev.token() && matches(ev, e.readiness));
      if (i >= 0) left.splice(i, 1);
    }
  }
  expect(left, `missing events; saw: ${seen.join(", ") || "none"}`).toEqual([]);
}

/** Polls once for `timeoutMs` and fails if any event arrives (mio's `expect_no_events`). */
export function expectNoEvents(poll: Poll, events: Events, timeoutMs = 50): void {
  poll.poll(events, timeoutMs);
  expect([...events].map(String)).toEqual([]);
}

/** Asserts that an operation's result is WOULD_BLOCK. */
export function assertWouldBlock(result: unknown): void {
  expect(result).toBe(WOULD_BLOCK);
}

/** Asserts a result is not WOULD_BLOCK and returns it narrowed. */
export function ok<T>(result: T | typeof WOULD_BLOCK): T {
  expect(result).not.toBe(WOULD_BLOCK);
  return result as T;
}

/** Runs `fn` until it returns something other than WOULD_BLOCK, polling in between. */
export function untilReady<T>(poll: Poll, events: Events, fn: () => T | typeof WOULD_BLOCK, timeoutMs = 2000): T {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = fn();
    if (r !== WOULD_BLOCK) return r;
    if (Date.now() > deadline) throw new Error("operation stayed WOULD_BLOCK");
    poll.poll(events, 10);
  }
}

export const DATA1 = new TextEncoder().encode("Hello world!");
export const DATA2 = new TextEncoder().encode("Hello mars!");
