/**
 * TCP options (RFC 9293 §3.1, §3.7.1): kinds, lengths, and the builder that
 * lays them out in 4-byte-aligned groups padded with No-Operation, the way
 * common stacks do.
 */
import { set16, set32 } from "./bytes.js";
import { OPT_NOP } from "./options.js";

/** TCP option kinds. */
export const TcpOptionKind = {
  End: 0,
  Nop: 1,
  /** Maximum Segment Size (RFC 9293 §3.7.1), length 4. */
  Mss: 2,
  /** Window Scale (RFC 7323 §2.2), length 3. */
  WindowScale: 3,
  /** SACK-Permitted (RFC 2018 §2), length 2. */
  SackPermitted: 4,
  /** SACK blocks (RFC 2018 §3), length 2 + 8n. */
  Sack: 5,
  /** Timestamps (RFC 7323 §3.2), length 10. */
  Timestamps: 8,
} as const;

/** Most option bytes a header can carry (data offset 15). */
export const TCP_MAX_OPTIONS = 40;

/** Options for {@link writeTcpOptions}; absent fields are not sent. */
export interface TcpOptions {
  /** Maximum Segment Size (SYN only, RFC 9293 §3.7.1). */
  mss?: number;
  /** Window scale shift count, 0..14 (SYN only, RFC 7323 §2.2). */
  windowScale?: number;
  /** Offer SACK (SYN only, RFC 2018 §2). */
  sackPermitted?: boolean;
  /** TSval; when set, a Timestamps option is sent (RFC 7323 §3.2). */
  tsVal?: number;
  /** TSecr; default 0. */
  tsEcr?: number;
  /** SACK blocks as flat pairs: left0, right0, left1, right1, … (RFC 2018 §3). */
  sackBlocks?: readonly number[];
}

/** The bytes {@link writeTcpOptions} writes for `o` (a multiple of 4). */
export function tcpOptionsLength(o: TcpOptions | undefined): number {
  if (!o) return 0;
  let n = 0;
  if (o.mss !== undefined) n += 4;
  if (o.tsVal !== undefined) n += 12;
  else if (o.sackPermitted) n += 4;
  if (o.windowScale !== undefined) n += 4;
  const blocks = o.sackBlocks?.length ?? 0;
  if (blocks % 2 !== 0) throw new RangeError("sackBlocks must hold left/right pairs");
  if (blocks > 0) n += 4 + 4 * blocks;
  if (n > TCP_MAX_OPTIONS) throw new RangeError(`TCP options need ${n} bytes; at most ${TCP_MAX_OPTIONS} fit`);
  return n;
}

/** Writes `o` at `b[off..]` and returns the bytes written ({@link tcpOptionsLength}). */
export function writeTcpOptions(b: Uint8Array, off: number, o: TcpOptions): number {
  const start = off;
  if (o.mss !== undefined) {
    b[off] = TcpOptionKind.Mss;
    b[off + 1] = 4;
    set16(b, off + 2, o.mss);
    off += 4;
  }
  if (o.tsVal !== undefined) {
    // SACK-Permitted takes the place of the two NOPs in front of Timestamps.
    if (o.sackPermitted) {
      b[off] = TcpOptionKind.SackPermitted;
      b[off + 1] = 2;
    } else {
      b[off] = b[off + 1] = OPT_NOP;
    }
    b[off + 2] = TcpOptionKind.Timestamps;
    b[off + 3] = 10;
    set32(b, off + 4, o.tsVal);
    set32(b, off + 8, o.tsEcr ?? 0);
    off += 12;
  } else if (o.sackPermitted) {
    b[off] = b[off + 1] = OPT_NOP;
    b[off + 2] = TcpOptionKind.SackPermitted;
    b[off + 3] = 2;
    off += 4;
  }
  if (o.windowScale !== undefined) {
    b[off] = OPT_NOP;
    b[off + 1] = TcpOptionKind.WindowScale;
    b[off + 2] = 3;
    b[off + 3] = o.windowScale;
    off += 4;
  }
  const blocks = o.sackBlocks;
  if (blocks && blocks.length > 0) {
    b[off] = b[off + 1] = OPT_NOP;
    b[off + 2] = TcpOptionKind.Sack;
    b[off + 3] = 2 + 4 * blocks.length;
    off += 4;
    for (const edge of blocks) {
      set32(b, off, edge);
      off += 4;
    }
  }
  return off - start;
}
