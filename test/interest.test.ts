/**
 * mio's tests/interest.rs. `Interest::AIO` and `LIO` (BSD only) do not exist
 * on Linux; PRIORITY takes their place. `a | b` is `a.add(b)`.
 */
import { describe, expect, it } from "vitest";
import { Interest, Poll, Token, type Source } from "../src/index.js";
import { useCleanup } from "./support/harness.js";

const { READABLE, WRITABLE, PRIORITY } = Interest;
const own = useCleanup();

it("is_tests", () => {
  expect(READABLE.isReadable()).toBe(true);
  expect(READABLE.isWritable()).toBe(false);
  expect(READABLE.isPriority()).toBe(false);
  expect(WRITABLE.isReadable()).toBe(false);
  expect(WRITABLE.isWritable()).toBe(true);
  expect(WRITABLE.isPriority()).toBe(false);
  expect(PRIORITY.isPriority()).toBe(true);
  expect(PRIORITY.isReadable()).toBe(false);
  expect(PRIORITY.isWritable()).toBe(false);
});

it("bit_or", () => {
  const interests = READABLE.add(WRITABLE);
  expect(interests.isReadable()).toBe(true);
  expect(interests.isWritable()).toBe(true);
  expect(interests.isPriority()).toBe(false);
});

it("fmt_debug", () => {
  expect(READABLE.toString()).toBe("READABLE");
  expect(WRITABLE.toString()).toBe("WRITABLE");
  expect(PRIORITY.toString()).toBe("PRIORITY");
  expect(READABLE.add(WRITABLE).toString()).toBe("READABLE | WRITABLE");
  expect(`${PRIORITY.add(WRITABLE).add(READABLE)}`).toBe("READABLE | WRITABLE | PRIORITY");
});

it("add", () => {
  const interest = READABLE.add(WRITABLE);
  expect(interest.isReadable()).toBe(true);
  expect(interest.isWritable()).toBe(true);
});

describe("Interest", () => {
  it("add is commutative and idempotent; equal combinations are the same value", () => {
    expect(WRITABLE.add(READABLE)).toBe(READABLE.add(WRITABLE));
    expect(READABLE.add(READABLE)).toBe(READABLE);
    expect(READABLE.add(WRITABLE).add(PRIORITY)).toBe(PRIORITY.add(READABLE.add(WRITABLE)));
  });

  it("remove takes interests away, and gives undefined when nothing is left", () => {
    const rw = READABLE.add(WRITABLE);
    expect(rw.remove(WRITABLE)).toBe(READABLE);
    expect(rw.remove(READABLE)).toBe(WRITABLE);
    expect(rw.remove(PRIORITY)).toBe(rw);
    expect(READABLE.remove(READABLE)).toBeUndefined();
    expect(rw.remove(rw)).toBeUndefined();
    expect(rw.remove(rw.add(PRIORITY))).toBeUndefined();
  });

  it("registering with something that is not an Interest throws TypeError", () => {
    const poll = own(new Poll());
    let called = false;
    const source: Source = {
      register: () => void (called = true),
      reregister: () => void (called = true),
      deregister: () => void (called = true),
    };
    for (const bad of [undefined, null, 1, "READABLE", {}]) {
      expect(() => poll.registry().register(source, Token(1), bad as unknown as Interest)).toThrow(TypeError);
    }
    expect(called).toBe(false);
  });
});
