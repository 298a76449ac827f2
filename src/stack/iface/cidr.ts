/** IP prefixes ("10.0.0.1/24", "fd00::1/64") and prefix matching. */
import { formatIp, parseIp } from "../../net/socket-addr.js";

/** An address with a prefix length: an interface address or a route's destination. */
export interface Cidr {
  /** 4 or 16 address bytes */
  readonly bytes: Uint8Array;
  readonly prefix: number;
  readonly family: 4 | 6;
  /** the address in canonical text form */
  readonly ip: string;
}

/** Parses `"10.0.0.1/24"` or `"fd00::1/64"`; throws `TypeError` when invalid. */
export function parseCidr(s: string): Cidr {
  if (typeof s !== "string") throw new TypeError(`expected an address like "10.0.0.1/24", got ${typeof s}`);
  const slash = s.indexOf("/");
  const bytes = parseIp(slash < 0 ? s : s.slice(0, slash));
  const bits = bytes ? bytes.length * 8 : 0;
  const prefixText = slash < 0 ? String(bits) : s.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : -1;
  if (!bytes || prefix < 0 || prefix > bits) {
    throw new TypeError(`invalid address/prefix ${JSON.stringify(s)}: expected e.g. "10.0.0.1/24" or "fd00::1/64"`);
  }
  return { bytes, prefix, family: bytes.length === 4 ? 4 : 6, ip: formatIp(bytes) };
}

/** Whether the first `prefix` bits of `a` and `b` (same length) agree. */
export function prefixMatch(a: Uint8Array, b: Uint8Array, prefix: number): boolean {
  if (a.length !== b.length) return false;
  const full = prefix >> 3;
  for (let i = 0; i < full; i++) if (a[i] !== b[i]) return false;
  const rest = prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a[full]! & mask) === (b[full]! & mask);
}

/** Whether two address byte arrays are equal. */
export function sameIp(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether every byte is zero (0.0.0.0 or ::). */
export function isUnspecified(a: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) return false;
  return true;
}

/** 255.255.255.255 or the directed broadcast of `cidr` (IPv4 only). */
export function isBroadcast(a: Uint8Array, cidr?: Cidr): boolean {
  if (a.length !== 4) return false;
  if (a[0] === 255 && a[1] === 255 && a[2] === 255 && a[3] === 255) return true;
  if (!cidr || cidr.family !== 4 || cidr.prefix >= 31 || !prefixMatch(a, cidr.bytes, cidr.prefix)) return false;
  for (let bit = cidr.prefix; bit < 32; bit++) {
    if (((a[bit >> 3]! >> (7 - (bit & 7))) & 1) === 0) return false;
  }
  return true;
}

/** 224.0.0.0/4 or ff00::/8. */
export function isMulticast(a: Uint8Array): boolean {
  return a.length === 4 ? (a[0]! & 0xf0) === 0xe0 : a[0] === 0xff;
}

/** 127.0.0.0/8 or ::1. */
export function isLoopback(a: Uint8Array): boolean {
  if (a.length === 4) return a[0] === 127;
  for (let i = 0; i < 15; i++) if (a[i] !== 0) return false;
  return a[15] === 1;
}
