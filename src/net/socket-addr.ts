/**
 * Internet socket addresses: parsing and printing of `"127.0.0.1:80"` and
 * `"[::1]:80"`, and the IP address bytes the kernel and the stack use.
 */

/** An IP address family. */
export type Family = 4 | 6;

/** Address bytes of SocketAddrs, computed once (kept out of the object so equality ignores it). */
const ipBytesCache = new WeakMap<SocketAddr, Uint8Array>();

/** An IP address and port. `toString()` gives `"10.0.0.1:80"` or `"[fd00::1]:80"`. */
export class SocketAddr {
  /** The address in canonical text form (`"10.0.0.1"`, `"fd00::1"`). */
  readonly ip: string;
  readonly port: number;
  readonly family: Family;
  /** IPv6 scope id (interface index) for link-local addresses; 0 otherwise. */
  readonly scopeId: number;

  constructor(ip: string, port: number, scopeId = 0) {
    const bytes = parseIp(ip);
    if (!bytes) throw new TypeError(`invalid IP address: ${JSON.stringify(ip)}`);
    checkPort(port);
    this.family = bytes.length === 4 ? 4 : 6;
    this.ip = formatIp(bytes);
    this.port = port;
    this.scopeId = this.family === 6 ? scopeId >>> 0 : 0;
  }

  /** The address of 4 or 16 address bytes and a port (no validation beyond the length). */
  static fromBytes(bytes: Uint8Array, port: number, scopeId = 0): SocketAddr {
    const a = Object.create(SocketAddr.prototype) as { -readonly [K in keyof SocketAddr]: SocketAddr[K] };
    a.family = bytes.length === 4 ? 4 : 6;
    a.ip = formatIp(bytes);
    a.port = port;
    a.scopeId = a.family === 6 ? scopeId >>> 0 : 0;
    ipBytesCache.set(a as SocketAddr, bytes.slice());
    return a as SocketAddr;
  }

  /** Parses `"1.2.3.4:80"` or `"[::1]:80"`; throws `TypeError` on anything else. */
  static parse(s: string): SocketAddr {
    if (typeof s !== "string") throw new TypeError(`socket address must be a string, got ${typeof s}`);
    const m = /^(?:\[([0-9A-Fa-f:.]+)(?:%(\d+))?\]|(\d+\.\d+\.\d+\.\d+)):(\d{1,5})$/.exec(s);
    if (!m) throw new TypeError(`invalid socket address: ${JSON.stringify(s)}`);
    const ip = m[1] ?? m[3]!;
    if (!parseIp(ip) || (m[3] !== undefined && ip.includes(":"))) {
      throw new TypeError(`invalid socket address: ${JSON.stringify(s)}`);
    }
    const port = Number(m[4]);
    if (port > 65535) throw new TypeError(`invalid port ${port} in ${JSON.stringify(s)}: must be 0..65535`);
    return new SocketAddr(ip, port, m[2] ? Number(m[2]) : 0);
  }

  /** The address bytes: 4 for IPv4, 16 for IPv6 (shared: do not modify). */
  ipBytes(): Uint8Array {
    let b = ipBytesCache.get(this);
    if (b === undefined) ipBytesCache.set(this, (b = parseIp(this.ip)!));
    return b;
  }

  /** Whether `other` is the same address and port. */
  equals(other: SocketAddr): boolean {
    return this.ip === other.ip && this.port === other.port && this.scopeId === other.scopeId;
  }

  toString(): string {
    if (this.family === 4) return `${this.ip}:${this.port}`;
    return `[${this.ip}${this.scopeId ? `%${this.scopeId}` : ""}]:${this.port}`;
  }

  toJSON(): string {
    return this.toString();
  }
}

/** A socket address as text or as a {@link SocketAddr}. */
export type SocketAddrLike = string | SocketAddr;

/** Turns a {@link SocketAddrLike} into a {@link SocketAddr}; `TypeError` when invalid. */
export function toSocketAddr(addr: SocketAddrLike): SocketAddr {
  if (addr instanceof SocketAddr) return addr;
  if (typeof addr === "string") return SocketAddr.parse(addr);
  throw new TypeError(`expected a socket address like "127.0.0.1:80" or a SocketAddr, got ${describe(addr)}`);
}

function describe(v: unknown): string {
  return v === null ? "null" : typeof v === "object" ? (v.constructor?.name ?? "object") : typeof v;
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`invalid port ${String(port)}: must be an integer in 0..65535`);
  }
}

/** Parses an IPv4 or IPv6 address to 4 or 16 bytes, or null if invalid. */
export function parseIp(s: string): Uint8Array | null {
  if (typeof s !== "string") return null;
  return s.includes(":") ? parseIpv6(s) : parseIpv4(s);
}

function parseIpv4(s: string): Uint8Array | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return null;
    out[i] = Number(p);
  }
  return out;
}

function parseIpv6(s: string): Uint8Array | null {
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const groups = (h: string): number[] | null => {
    if (h === "") return [];
    const out: number[] = [];
    const parts = h.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseIpv4(p);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9A-Fa-f]{1,4}$/.test(p)) return null;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return null;
  if (halves.length === 2 ? head.length + tail.length > 7 : head.length !== 8) return null;
  // an embedded IPv4 address may only end the address
  if (halves.length === 2 && halves[0]!.includes(".")) return null;
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** Canonical text of 4 or 16 address bytes (RFC 5952 for IPv6). */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[2 * i]! << 8) | b[2 * i + 1]!);
  // IPv4-mapped ::ffff:a.b.c.d
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(":");
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}
