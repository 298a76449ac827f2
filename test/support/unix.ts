/**
 * Unix-socket scaffolding modelled on mio's tests: socket files in a fresh
 * temporary directory, and the echo listener (mio runs it on a thread; here
 * the test drives it with `pump()` between its own steps, which is
 * deterministic because a Unix socket delivers bytes at once).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect } from "vitest";
import { IoError, UnixListener, WOULD_BLOCK, type UnixSocketAddrLike, type UnixStream } from "../../src/index.js";

/**
 * mio's `temp_file`: returns a function giving paths in a directory made on
 * first use and removed after each test.
 */
export function useTempDir(): (name: string) => string {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  return (name) => {
    dir ??= mkdtempSync(join(tmpdir(), "tsmio-unix-"));
    return join(dir, name);
  };
}

function isIoError(e: unknown, ...codes: string[]): boolean {
  return e instanceof IoError && codes.includes(e.code);
}

/** mio's `new_echo_listener`: echoes every connection until it ends. */
export class EchoServer {
  readonly listener: UnixListener;
  private readonly conns: UnixStream[] = [];
  private readonly ended = new Set<UnixStream>();
  private bytesRead = 0;
  private bytesWritten = 0;

  constructor(addr: UnixSocketAddrLike) {
    this.listener = UnixListener.bind(addr);
  }

  /** The listener's path. */
  get path(): string {
    const p = this.listener.localAddr().path;
    if (p === null) throw new Error("echo server has no path");
    return p;
  }

  /** Accepts waiting connections and echoes what each has sent so far. */
  pump(): void {
    for (let r = this.listener.accept(); r !== WOULD_BLOCK; r = this.listener.accept()) this.conns.push(r[0]);
    for (const c of this.conns) if (!this.ended.has(c)) this.echo(c);
  }

  private echo(c: UnixStream): void {
    const buf = new Uint8Array(64);
    for (;;) {
      let n: number | typeof WOULD_BLOCK;
      try {
        n = c.read(buf);
      } catch (e) {
        // Linux resets the connection when the peer shut down its read half
        if (!isIoError(e, "ECONNRESET", "ECONNABORTED")) throw e;
        n = 0;
      }
      if (n === WOULD_BLOCK) return;
      if (n === 0) {
        this.ended.add(c);
        return;
      }
      this.bytesRead += n;
      try {
        const w = c.write(buf.subarray(0, n));
        if (w === WOULD_BLOCK) throw new Error("echo server: peer's buffer is full");
        this.bytesWritten += w;
      } catch (e) {
        if (!isIoError(e, "EPIPE")) throw e;
        this.ended.add(c);
        return;
      }
    }
  }

  /** What mio's `handle.join()` checks: `n` connections, each ended, echoed in full. */
  finish(n = 1): void {
    this.pump();
    expect(this.conns.length, "connections").toBe(n);
    expect(this.ended.size, "connections ended").toBe(n);
    expect(this.bytesWritten, "unequal reads and writes").toBe(this.bytesRead);
  }

  close(): void {
    for (const c of this.conns) c.close();
    this.listener.close();
  }
}

/** mio's `checked_write!`: the whole buffer went out in one call. */
export function checkedWrite(result: number | typeof WOULD_BLOCK, data: Uint8Array): void {
  expect(result, "short write").toBe(data.length);
}

/** mio's `expect_read!`: `result` bytes were read into `buf` and are `expected`. */
export function expectRead(result: number | typeof WOULD_BLOCK, buf: Uint8Array, expected: Uint8Array): void {
  expect(result).toBe(expected.length);
  expect(buf.subarray(0, expected.length)).toEqual(expected);
}

/** Runs `fn` and expects an {@link IoError} with `code`. */
export function expectIoError(fn: () => unknown, code: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(IoError);
  expect((err as IoError).code).toBe(code);
}
