/**
 * What mio's tests check with `AsRawFd` and `fcntl`: a source's descriptor and
 * its flags, read from /proc/self/fdinfo.
 */
import { readFileSync } from "node:fs";
import { expect } from "vitest";

const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;

/** The descriptor of a kernel source (the protected `fd` of FdSource). */
export function rawFd(source: object): number {
  const fd: unknown = Reflect.get(source, "fd");
  if (typeof fd !== "number") throw new TypeError("not a descriptor-backed source");
  return fd;
}

/** The open-file flags of `fd` (octal `flags:` line of /proc/self/fdinfo). */
export function fdFlags(fd: number): number {
  const m = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"));
  if (!m) throw new Error(`no flags for fd ${fd}`);
  return parseInt(m[1]!, 8);
}

/** mio's assert_socket_non_blocking + assert_socket_close_on_exec. */
export function expectNonBlockingCloexec(source: object): void {
  const flags = fdFlags(rawFd(source));
  expect(flags & O_NONBLOCK, "O_NONBLOCK").toBe(O_NONBLOCK);
  expect(flags & O_CLOEXEC, "O_CLOEXEC").toBe(O_CLOEXEC);
}
