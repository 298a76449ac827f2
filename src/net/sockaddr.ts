/**
 * Raw `struct sockaddr` bytes for the native calls: an address buffer is a
 * `sockaddr_storage` (128 bytes) followed by its length (native-endian u32).
 * @internal
 */
import { endianness } from "node:os";
import { sys, C } from "../native.js";
import { SocketAddr, formatIp } from "./socket-addr.js";

const LE = endianness() === "LE";
const LEN_AT = 128;
const SUN_PATH_MAX = 108;

/** A fresh address buffer. */
export function addrBuf(): Uint8Array {
  return new Uint8Array(sys.ADDR_BUF_LEN);
}

/** The one scratch address buffer of the kernel sockets: every call using it is synchronous. */
export const scratch = addrBuf();

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Writes `addr` as sockaddr_in / sockaddr_in6 into `buf` and returns `buf`. */
export function encodeInet(addr: SocketAddr, buf: Uint8Array = addrBuf()): Uint8Array {
  const v = view(buf);
  buf.fill(0, 0, 28);
  v.setUint16(2, addr.port); // network order
  if (addr.family === 4) {
    v.setUint16(0, C.AF_INET, LE);
    buf.set(addr.ipBytes(), 4);
    v.setUint32(LEN_AT, 16, LE);
  } else {
    v.setUint16(0, C.AF_INET6, LE);
    buf.set(addr.ipBytes(), 8);
    v.setUint32(24, addr.scopeId, LE);
    v.setUint32(LEN_AT, 28, LE);
  }
  return buf;
}

/** The family in an address buffer (AF_INET, AF_INET6, AF_UNIX or 0). */
export function familyOf(buf: Uint8Array): number {
  return view(buf).getUint16(0, LE);
}

/** Reads a sockaddr_in / sockaddr_in6 from `buf`. */
export function decodeInet(buf: Uint8Array): SocketAddr {
  const v = view(buf);
  const family = v.getUint16(0, LE);
  const port = v.getUint16(2);
  if (family === C.AF_INET) return new SocketAddr(`${buf[4]}.${buf[5]}.${buf[6]}.${buf[7]}`, port);
  if (family === C.AF_INET6) return new SocketAddr(formatIp(buf.subarray(8, 24)), port, v.getUint32(24, LE));
  throw new TypeError(`not an internet address (family ${family})`);
}

/**
 * A Unix socket address: a filesystem path, an abstract name (Linux), or
 * unnamed (an unbound socket, or one end of a pair).
 */
export class UnixSocketAddr {
  private constructor(
    /** The filesystem path, if any. */
    readonly path: string | null,
    /** The abstract-namespace name (without the leading NUL), if any. */
    readonly abstractName: Uint8Array | null,
  ) {}

  /** An address for a filesystem path. */
  static fromPath(path: string): UnixSocketAddr {
    if (typeof path !== "string" || path.length === 0) {
      throw new TypeError("unix socket path must be a non-empty string");
    }
    if (path.includes("\0")) throw new TypeError("unix socket path must not contain NUL");
    if (Buffer.byteLength(path) >= SUN_PATH_MAX) {
      throw new TypeError(`unix socket path too long (max ${SUN_PATH_MAX - 1} bytes): ${path}`);
    }
    return new UnixSocketAddr(path, null);
  }

  /** An address in Linux's abstract namespace. */
  static fromAbstractName(name: string | Uint8Array): UnixSocketAddr {
    const bytes = typeof name === "string" ? new TextEncoder().encode(name) : name;
    if (!(bytes instanceof Uint8Array)) throw new TypeError("abstract name must be a string or Uint8Array");
    if (bytes.length >= SUN_PATH_MAX) throw new TypeError("abstract name too long");
    return new UnixSocketAddr(null, Uint8Array.from(bytes));
  }

  /** @internal */
  static unnamed(): UnixSocketAddr {
    return new UnixSocketAddr(null, null);
  }

  isUnnamed(): boolean {
    return this.path === null && this.abstractName === null;
  }

  toString(): string {
    if (this.path !== null) return this.path;
    if (this.abstractName !== null) return `@${new TextDecoder().decode(this.abstractName)}`;
    return "(unnamed)";
  }
}

/** A Unix address as a path or a {@link UnixSocketAddr}. */
export type UnixSocketAddrLike = string | UnixSocketAddr;

/** Turns a path or {@link UnixSocketAddr} into a {@link UnixSocketAddr}. */
export function toUnixSocketAddr(addr: UnixSocketAddrLike): UnixSocketAddr {
  if (addr instanceof UnixSocketAddr) return addr;
  if (typeof addr === "string") return UnixSocketAddr.fromPath(addr);
  throw new TypeError("expected a unix socket path or UnixSocketAddr");
}

/** Writes a sockaddr_un into `buf` and returns `buf`. */
export function encodeUnix(addr: UnixSocketAddr, buf: Uint8Array = addrBuf()): Uint8Array {
  const v = view(buf);
  buf.fill(0, 0, 2 + SUN_PATH_MAX);
  v.setUint16(0, C.AF_UNIX, LE);
  let len = 2;
  if (addr.path !== null) {
    const n = Buffer.from(buf.buffer, buf.byteOffset + 2, SUN_PATH_MAX).write(addr.path, "utf8");
    len = 2 + n + 1;
  } else if (addr.abstractName !== null) {
    buf.set(addr.abstractName, 3);
    len = 3 + addr.abstractName.length;
  }
  v.setUint32(LEN_AT, len, LE);
  return buf;
}

/** Reads a sockaddr_un from `buf`. */
export function decodeUnix(buf: Uint8Array): UnixSocketAddr {
  const v = view(buf);
  const len = v.getUint32(LEN_AT, LE);
  if (len <= 2 || v.getUint16(0, LE) !== C.AF_UNIX) return UnixSocketAddr.unnamed();
  const path = buf.subarray(2, len);
  if (path[0] === 0) return UnixSocketAddr.fromAbstractName(path.subarray(1));
  const end = path.indexOf(0);
  return UnixSocketAddr.fromPath(Buffer.from(end < 0 ? path : path.subarray(0, end)).toString("utf8"));
}
