/**
 * IP reassembly (RFC 791 §3.2 for IPv4, RFC 8200 §4.5 for IPv6) with bounded
 * memory, shaped like Linux's inet_frag: fragments are kept as they arrive
 * and cost their length plus {@link FRAGMENT_OVERHEAD} (Linux counts an
 * sk_buff's truesize); a fragment that would take the total past `maxBytes`
 * is refused (Linux drops above ipfrag_high_thresh), and a datagram not
 * complete within `timeoutMs` is dropped. A fragment lying within data
 * already received is an exact duplicate and is ignored; any other overlap,
 * or fragments that disagree on the datagram's length, drop the whole
 * datagram (RFC 5722; Linux does the same for IPv4).
 */

/** Bytes charged per fragment on top of its data (the bookkeeping a fragment costs). */
export const FRAGMENT_OVERHEAD = 256;

/** One datagram being put back together. */
interface Pending {
  key: string;
  /** the fragments' data and offsets, in arrival order */
  pieces: Array<{ offset: number; data: Uint8Array }>;
  /** received [start, end) ranges, sorted and merged */
  ranges: number[];
  /** total payload length once the last fragment arrived, else -1 */
  total: number;
  /** the largest end offset seen */
  maxEnd: number;
  expires: number;
  /** the first fragment's packet (offset 0), for ICMP time exceeded; null until seen */
  first: Uint8Array | null;
  bytes: number;
}

/** Why a fragment was not used. */
export type FragmentDrop = "overlap" | "duplicate" | "memory" | "too-long" | "empty";

/** The outcome of offering a fragment. */
export type ReassemblyResult =
  | { done: true; payload: Uint8Array; first: Uint8Array }
  | { done: false; dropped?: FragmentDrop };

const MAX_PAYLOAD = 65535;

export class Reassembler {
  /** in creation order, which is deadline order (every datagram gets the same timeout) */
  private readonly pending = new Map<string, Pending>();
  private bytes = 0;

  constructor(
    private readonly timeoutMs: number,
    private readonly maxBytes: number,
  ) {}

  /**
   * Adds a fragment: `data` sits at byte `offset` of the payload; `more` is
   * the More Fragments flag; `packet` is the whole fragment (kept if it is
   * the first). Returns the payload once complete. `data` and `packet` are
   * copied when kept.
   */
  add(key: string, offset: number, fragment: Uint8Array, more: boolean, packet: Uint8Array, now: number): ReassemblyResult {
    // a fragment followed by others carries a multiple of 8 bytes; Linux ignores the excess
    const data = more ? fragment.subarray(0, fragment.length & ~7) : fragment;
    const end = offset + data.length;
    if (end > MAX_PAYLOAD || end === offset) {
      this.drop(key);
      return { done: false, dropped: end === offset ? "empty" : "too-long" };
    }
    let p = this.pending.get(key);
    if (p !== undefined && !this.consistent(p, offset, end, more)) {
      this.drop(key);
      return { done: false, dropped: "overlap" };
    }
    if (p !== undefined && this.within(p, offset, end)) return { done: false, dropped: "duplicate" };
    const cost = data.length + FRAGMENT_OVERHEAD + (offset === 0 ? packet.length : 0);
    if (this.bytes + cost > this.maxBytes) {
      // like Linux: refuse new fragments above the threshold; the timeout frees room
      return { done: false, dropped: "memory" };
    }
    if (p === undefined) {
      p = { key, pieces: [], ranges: [], total: -1, maxEnd: 0, expires: now + this.timeoutMs, first: null, bytes: 0 };
      this.pending.set(key, p);
    }
    if (!more) p.total = end;
    if (end > p.maxEnd) p.maxEnd = end;
    p.pieces.push({ offset, data: data.slice() });
    this.insert(p, offset, end);
    p.bytes += cost;
    this.bytes += cost;
    if (offset === 0) p.first = packet.slice();
    if (p.total >= 0 && p.ranges.length === 2 && p.ranges[0] === 0 && p.ranges[1] === p.total && p.first) {
      const payload = new Uint8Array(p.total);
      for (const piece of p.pieces) payload.set(piece.data, piece.offset);
      this.drop(key);
      return { done: true, payload, first: p.first };
    }
    return { done: false };
  }

  /**
   * Whether [offset, end) agrees with what `p` already has: no partial
   * overlap, and the same datagram length (Linux ip_frag_queue).
   */
  private consistent(p: Pending, offset: number, end: number, more: boolean): boolean {
    if (!more ? end < p.maxEnd || (p.total >= 0 && end !== p.total) : p.total >= 0 && end > p.total) return false;
    const r = p.ranges;
    for (let i = 0; i < r.length; i += 2) {
      const overlaps = offset < r[i + 1]! && r[i]! < end;
      if (overlaps && !(offset >= r[i]! && end <= r[i + 1]!)) return false;
    }
    return true;
  }

  /** Whether [start, end) lies within data already received (an exact duplicate, or a part of one). */
  private within(p: Pending, start: number, end: number): boolean {
    const r = p.ranges;
    for (let i = 0; i < r.length; i += 2) if (start >= r[i]! && end <= r[i + 1]!) return true;
    return false;
  }

  /** Inserts [start, end), merging with neighbours that touch it. */
  private insert(p: Pending, start: number, end: number): void {
    const r = p.ranges;
    let i = 0;
    while (i < r.length && r[i]! < start) i += 2;
    r.splice(i, 0, start, end);
    for (let j = 0; j + 2 < r.length; ) {
      if (r[j + 1] === r[j + 2]) r.splice(j + 1, 2);
      else j += 2;
    }
  }

  private drop(key: string): void {
    const p = this.pending.get(key);
    if (p === undefined) return;
    this.bytes -= p.bytes;
    this.pending.delete(key);
  }

  /** Drops datagrams past their deadline; returns the first fragment of each that had one. */
  expire(now: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const p of this.pending.values()) {
      if (p.expires > now) break;
      if (p.first) out.push(p.first);
      this.drop(p.key);
    }
    return out;
  }

  /** The earliest deadline, or null when nothing waits. */
  nextDeadline(): number | null {
    for (const p of this.pending.values()) return p.expires;
    return null;
  }

  /** Datagrams in progress and the bytes they are charged. */
  usage(): { datagrams: number; bytes: number } {
    return { datagrams: this.pending.size, bytes: this.bytes };
  }
}
