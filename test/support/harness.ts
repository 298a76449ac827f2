/**
 * Test scaffolding shared by the Poll-level suites: close what a test opened
 * even when it fails, and sleep the thread without the event loop.
 */
import { afterEach, expect } from "vitest";
import { IoError } from "../../src/index.js";

/** Anything with a `close()`: sockets, polls. */
export interface Closable {
  close(): void;
}

/**
 * Registers an `afterEach` (in the calling scope) that closes everything
 * passed to the returned function, newest first. Errors from closing an
 * already-closed object are ignored.
 */
export function useCleanup(): <T extends Closable>(x: T) => T {
  const open: Closable[] = [];
  afterEach(() => {
    for (const x of open.splice(0).reverse()) {
      try {
        x.close();
      } catch {
        // closed by the test already
      }
    }
  });
  return (x) => {
    open.push(x);
    return x;
  };
}

/** Blocks the thread for `ms` real milliseconds (mio's `thread::sleep`). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Milliseconds `fn` took. */
export function timed(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

/**
 * Runs `fn` after `ms` on the event loop (the Node stand-in for mio's helper
 * threads); the promise settles with its result or error, so a failure in
 * the callback fails the test instead of escaping as an uncaught exception.
 */
export function later<T>(fn: () => T, ms = 0): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    setTimeout(() => {
      try {
        resolve(fn());
      } catch (e) {
        reject(e);
      }
    }, ms);
  });
}

/** Asserts that `fn` throws an {@link IoError} with `code` whose message contains `text`. */
export function expectIoError(fn: () => unknown, code: string, text = ""): IoError {
  let thrown: unknown = null;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(IoError);
  const err = thrown as IoError;
  expect(err.code).toBe(code);
  expect(err.message).toContain(text);
  return err;
}
