/**
 * Results and errors shared by every source: `WOULD_BLOCK` for an operation
 * that would block, {@link IoError} for real failures, named by errno.
 */
import { sys, errno as E } from "./native.js";

/** Returned (never thrown) by a non-blocking operation that cannot proceed now. */
export const WOULD_BLOCK: unique symbol = Symbol("WOULD_BLOCK");
/** The type of {@link WOULD_BLOCK}. */
export type WouldBlock = typeof WOULD_BLOCK;

/** An I/O failure. `code` is the errno name (`ECONNREFUSED`), `errno` its number. */
export class IoError extends Error {
  /** The errno name, e.g. `"ECONNRESET"`. */
  readonly code: string;
  /** The errno number, e.g. 104. */
  readonly errno: number;
  /** The call that failed, when known (e.g. `"connect"`). */
  readonly syscall: string | undefined;

  constructor(code: string, message?: string, syscall?: string) {
    const n = E[code] ?? 0;
    const text = message ?? (n ? sys.strerror(n) : code);
    super(syscall ? `${syscall} ${code}: ${text}` : `${code}: ${text}`);
    this.name = "IoError";
    this.code = code;
    this.errno = n;
    this.syscall = syscall;
  }

  /** The error for a raw errno number. */
  static fromErrno(errno: number, syscall?: string): IoError {
    return new IoError(sys.errnoName(errno), undefined, syscall);
  }
}

const EAGAIN = E.EAGAIN!;

/** Passes a native result through, throwing {@link IoError} when it is `-errno`. */
export function check(ret: number, syscall: string): number {
  if (ret < 0) throw IoError.fromErrno(-ret, syscall);
  return ret;
}

/** Like {@link check}, but `EAGAIN` becomes {@link WOULD_BLOCK}. */
export function checkIo(ret: number, syscall: string): number | WouldBlock {
  if (ret >= 0) return ret;
  if (ret === -EAGAIN) return WOULD_BLOCK;
  throw IoError.fromErrno(-ret, syscall);
}
