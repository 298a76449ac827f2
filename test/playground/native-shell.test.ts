/**
 * The page's platform (src/native-shell.ts) against the native addon: the
 * same constants, errno numbers, names and texts; every system call there
 * fails with ENOSYS rather than pretending.
 */
import { describe, expect, it } from "vitest";
import { sys } from "../../src/native.js";
import { sys as shell } from "../../src/native-shell.js";

describe("native-shell", () => {
  it("has every constant of the addon, with the same value", () => {
    const numeric = Object.keys(sys).filter((k) => typeof sys[k] === "number");
    expect(numeric.length).toBeGreaterThan(50);
    for (const k of numeric) expect([k, shell[k]]).toEqual([k, sys[k]]);
  });

  it("has every errno of the addon, with its name and strerror text", () => {
    expect(shell.errno).toEqual(sys.errno);
    for (const n of Object.values(sys.errno)) {
      expect(shell.errnoName(n)).toBe(sys.errnoName(n));
      expect(shell.strerror(n)).toBe(sys.strerror(n));
    }
    expect(shell.errnoName(999)).toBe(sys.errnoName(999));
    expect(shell.strerror(999)).toBe(sys.strerror(999));
  });

  it("has every system call of the addon, each failing with -ENOSYS", () => {
    const calls = Object.keys(sys).filter((k) => typeof sys[k] === "function" && !/^(errnoName|strerror|watch)/.test(k));
    expect(calls.length).toBeGreaterThan(40);
    for (const k of calls) {
      const fn = shell[k] as (...args: unknown[]) => number;
      expect([k, typeof fn]).toEqual([k, "function"]);
      expect([k, fn(0, 0, 0)]).toEqual([k, -sys.errno.ENOSYS!]);
    }
    expect(() => shell.watchCreate(3, () => {})).toThrow(/no epoll/);
  });
});
