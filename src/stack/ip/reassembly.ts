/**
 * IP reassembly (RFC 791 §3.2 for IPv4, RFC 8200 §4.5 for IPv6) with bounded
 * memory: at most `maxDatagrams` in progress (each holds a 64 KiB buffer) and
 * `maxBytes` of fragment data across them; a datagram not complete within
 * `timeoutMs` is dropped. Overlapping fragments drop the
 * whole datagram (RFC 5722; Linux does the same for IPv4).
 */

/** One datagram being put back together. */
interface Pending {
  key: string;
  /** the reassembled upper-layer payload so far */
  data: Uint8Array;
  /** received [start, end) ranges, sorted */
  ranges: number[];
  /** total payload length once the last fragment arrived, else -1 */
  total: number;
  expires: number;
  /** the first fragment's packet (offset 0), for ICMP time exceeded; null until seen */
  first: Uint8Array | null;
  bytes: number;
}

/** The outcome of offering a fragment. */
export type ReassemblyResult =
  | { done: true; payload: Uint8Array; first: Uint8Array }
  | { done: false; dropped?: "overlap" | "memory" | "too-long" };

const MAX_PAYLOAD = 65535;

export class Reassembler {
  private readonly pending = new Map<string, Pending>();
  private bytes = 0;

  constructor(
    private readonly timeoutMs: number,
    private readonly maxBytes: number,
    private readonly maxDatagrams = 64,
  ) {}

  /**
   * Adds a fragment: `data` sits at byte `offset` of the payload; `more` is
   * the More Fragments flag; `packet` is the whole fragment (kept if it is
   * the first). Returns the payload once complete.
   */
  add(key: string, offset: number, data: Uint8Array, more: boolean, packet: Uint8Array, now: number): ReassemblyResult {
    const end = offset + data.length;
    if (end > MAX_PAYLOAD) {
      this.drop(key);
      return { done: false, dropped: "too-long" };
    }
    let p = this.pending.get(key);
    if (p === undefined) {
      if (this.bytes + data.length > this.maxBytes || this.pending.size >= this.maxDatagrams) {
        return { done: false, dropped: "memory" };
      }
      p = { key, data: new Uint8Array(MAX_PAYLOAD), ranges: [], total: -1, expires: now + this.timeoutMs, first: null, bytes: 0 };
      this.pending.set(key, p);
    } else if (this.bytes + data.length > this.maxBytes) {
      this.drop(key);
      return { done: false, dropped: "memory" };
    }
    if (this.overlaps(p, offset, end) || (!more && p.total >= 0 && p.total !== end) || (p.total >= 0 && end > p.total)) {
      this.drop(key);
      return { done: false, dropped: "overlap" };
    }
    if (!more) p.total = end;
    p.data.set(data, offset);
    this.insert(p, offset, end);
    p.bytes += data.length;
    this.bytes += data.length;
    if (offset === 0) p.first = packet.slice();
    if (p.total >= 0 && p.ranges.length === 2 && p.ranges[0] === 0 && p.ranges[1] === p.total && p.first) {
      this.drop(key);
      return { done: true, payload: p.data.subarray(0, p.total), first: p.first };
    }
    return { done: false };
  }

  private overlaps(p: Pending, start: number, end: number): boolean {
    const r = p.ranges;
    for (let i = 0; i < r.length; i += 2) if (start < r[i + 1]! && r[i]! < end) return true;
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
      if (p.expires > now) continue;
      if (p.first) out.push(p.first);
      this.drop(p.key);
    }
    return out;
  }

  /** The earliest deadline, or null when nothing waits. */
  nextDeadline(): number | null {
    let next: number | null = null;
    for (const p of this.pending.values()) if (next === null || p.expires < next) next = p.expires;
    return next;
  }

  /** Datagrams in progress and the bytes they hold. */
  usage(): { datagrams: number; bytes: number } {
    return { datagrams: this.pending.size, bytes: this.bytes };
  }
}
