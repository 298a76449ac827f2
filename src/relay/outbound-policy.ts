/**
 * Which destinations the relay of `tsmio run` may reach on the command's
 * behalf (`--outbound all|none|CIDR,...`). A refused destination is answered
 * at once, with a RST or an ICMP unreachable, instead of being relayed.
 */
import { type Cidr, parseCidr, prefixMatch } from "../stack/iface/cidr.js";
import { formatIp } from "../net/socket-addr.js";

/**
 * A set of destination prefixes: `all`, `none`, or a list such as
 * `10.0.0.0/8,fd00::/8,192.0.2.7`.
 *
 * - A bare address is a single host: `/32` for IPv4, `/128` for IPv6.
 * - A prefix with host bits set (`10.0.0.1/8`) is refused, as the kernel
 *   refuses such a route (`ip route add 10.0.0.1/8` fails): the typo is more
 *   likely than the intent, and the error names the prefix meant.
 * - An IPv4-mapped IPv6 destination (`::ffff:a.b.c.d`) reaches the IPv4 host
 *   a.b.c.d when the relay hands it to a kernel socket, so it is judged as
 *   that IPv4 address; a prefix written inside `::ffff:0:0/96` is therefore
 *   kept as the IPv4 prefix it names (`::ffff:10.0.0.0/104` is `10.0.0.0/8`).
 */
export class OutboundPolicy {
  /** Every destination. */
  static readonly ALL = new OutboundPolicy(true, []);
  /** No destination. */
  static readonly NONE = new OutboundPolicy(false, []);

  private constructor(
    private readonly all: boolean,
    /** The allowed prefixes in the order given (empty for `all` and `none`). */
    readonly prefixes: readonly Cidr[],
  ) {}

  /**
   * Parses `"all"`, `"none"` or a comma-separated list of addresses and
   * prefixes (spaces around the commas are allowed). Throws `TypeError` naming
   * the offending entry for anything else, including an empty entry or
   * `all`/`none` mixed with prefixes.
   */
  static parse(text: string): OutboundPolicy {
    if (typeof text !== "string") throw new TypeError(`expected all, none or a list of prefixes, got ${typeof text}`);
    const entries = text.split(",").map((e) => e.trim());
    if (entries.length === 1 && entries[0] === "all") return OutboundPolicy.ALL;
    if (entries.length === 1 && entries[0] === "none") return OutboundPolicy.NONE;
    if (entries.length === 1 && entries[0] === "") {
      throw new TypeError(`empty outbound policy: expected all, none or a list such as 10.0.0.0/8,fd00::/8`);
    }
    return new OutboundPolicy(false, entries.map((e) => parseEntry(e, text)));
  }

  /**
   * Whether the relay may reach `ip` (4 or 16 address bytes; an IPv4-mapped
   * IPv6 address is judged as its IPv4 address). Throws `TypeError` for any
   * other length.
   */
  allows(ip: Uint8Array): boolean {
    if (!(ip instanceof Uint8Array) || (ip.length !== 4 && ip.length !== 16)) {
      throw new TypeError(`expected 4 or 16 address bytes`);
    }
    if (this.all) return true;
    const dest = unmapped(ip) ?? ip;
    return this.prefixes.some((p) => prefixMatch(dest, p.bytes, p.prefix));
  }

  /** `"all"`, `"none"`, or the prefixes as `ip/len` joined by commas; {@link parse} reads it back. */
  toString(): string {
    if (this.all) return "all";
    if (this.prefixes.length === 0) return "none";
    return this.prefixes.map((p) => `${p.ip}/${p.prefix}`).join(",");
  }
}

/** One list entry as a prefix without host bits, IPv4-mapped ones as IPv4. */
function parseEntry(entry: string, text: string): Cidr {
  if (entry === "all" || entry === "none") {
    throw new TypeError(`${JSON.stringify(text)}: ${entry} cannot be combined with prefixes`);
  }
  if (entry === "") throw new TypeError(`${JSON.stringify(text)}: empty entry in the list`);
  let cidr: Cidr;
  try {
    cidr = parseCidr(entry);
  } catch {
    throw new TypeError(`${JSON.stringify(entry)} is not an address or prefix: expected e.g. 10.0.0.0/8, fd00::/8 or 192.0.2.7`);
  }
  const masked = mask(cidr.bytes, cidr.prefix);
  if (masked.some((b, i) => b !== cidr.bytes[i])) {
    throw new TypeError(`${JSON.stringify(entry)} has host bits set: did you mean ${formatIp(masked)}/${cidr.prefix}?`);
  }
  const v4 = cidr.prefix >= 96 ? unmapped(cidr.bytes) : null;
  if (v4) return parseCidr(`${formatIp(v4)}/${cidr.prefix - 96}`);
  return cidr;
}

/** `bytes` with every bit after the first `prefix` cleared. */
function mask(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = bytes.slice();
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - 8 * i));
    out[i] = out[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return out;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d), else null. */
function unmapped(ip: Uint8Array): Uint8Array | null {
  if (ip.length !== 16) return null;
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return null;
  return ip[10] === 0xff && ip[11] === 0xff ? ip.subarray(12) : null;
}
