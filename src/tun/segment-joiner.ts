/**
 * Joins consecutive TCP data segments of one connection into one large
 * segment, for a TUN device with offloads to hand the kernel in one write
 * (a GSO packet: the kernel takes it as one segment, as if a NIC had merged
 * them, GRO). The bytes the kernel's TCP receives are exactly those of the
 * segments; only the number of packets changes.
 */

/** The largest joined packet: what an IPv4 total length can say. */
const MAX_JOINED = 65535;
const TCP_ACK = 0x10;
const TCP_PSH = 0x08;

/** Where segments go: one as it is, or `count` of them (packet i of `staging` ending at ends[i]) to be joined. */
export interface JoinedWriter {
  writeOne(packet: Uint8Array): void;
  writeJoined(staging: Uint8Array, ends: Int32Array, count: number, gsoSize: number): void;
}

/**
 * Holds a run of segments: each next one of the same connection must start
 * where the run ends, carry the same headers apart from the sequence number
 * (addresses, ports, ACK number, window, options, IP TOS/TTL), have only ACK
 * (and PSH) set, and be as long as the first (the last may be shorter; a
 * shorter one or PSH ends the run). Anything else first sends the run. The
 * segments are kept whole (copied: the caller may reuse its buffer); the
 * writer checks their checksums and joins them.
 */
export class SegmentJoiner {
  private readonly staging: Uint8Array;
  private readonly ends: Int32Array;
  /** bytes in `staging`; 0 when empty */
  private len = 0;
  private count = 0;
  /** the first segment: TCP header offset, headers' length, payload length (the size of each) */
  private l4 = 0;
  private hlen = 0;
  private mss = 0;
  /** payload bytes of the run, joined */
  private payload = 0;
  private nextSeq = 0;
  /** whether another segment may still join */
  private open = false;

  /** `maxSegments`: how many segments a run may hold (the writer's limit). */
  constructor(
    private readonly writer: JoinedWriter,
    private readonly maxSegments: number,
  ) {
    this.ends = new Int32Array(maxSegments);
    // maxSegments headers of at most 100 bytes around 64 KiB of payload
    this.staging = new Uint8Array(MAX_JOINED + maxSegments * 100);
  }

  /** Whether segments are held. */
  get holding(): boolean {
    return this.count > 0;
  }

  /**
   * Takes `p` if it is a TCP data segment that can be joined (into the run,
   * or as the start of a new one, after sending the run it does not fit);
   * false for any other packet (the caller sends the run, then the packet).
   */
  add(p: Uint8Array): boolean {
    const b0 = p[0]!;
    let l4: number;
    let total: number;
    if (b0 === 0x45) {
      // IPv4 without options, TCP, not a fragment
      if (p[9] !== 6 || (p[6]! & 0x3f) !== 0 || p[7] !== 0) return false;
      l4 = 20;
      total = (p[2]! << 8) | p[3]!;
    } else if (b0 >> 4 === 6) {
      // IPv6 with TCP right after the fixed header
      if (p[6] !== 6) return false;
      l4 = 40;
      total = 40 + ((p[4]! << 8) | p[5]!);
    } else {
      return false;
    }
    if (total > p.length || total < l4 + 20) return false;
    const hlen = l4 + (p[l4 + 12]! >> 4) * 4;
    const payload = total - hlen;
    const flags = p[l4 + 13]!;
    // two such segments would not fit in one packet: nothing to join
    if (payload <= 0 || (flags & ~TCP_PSH) !== TCP_ACK || hlen + 2 * payload > MAX_JOINED) return false;
    const seq = ((p[l4 + 4]! << 24) | (p[l4 + 5]! << 16) | (p[l4 + 6]! << 8) | p[l4 + 7]!) >>> 0;
    const joins =
      this.open &&
      seq === this.nextSeq &&
      hlen === this.hlen &&
      l4 === this.l4 &&
      payload <= this.mss &&
      this.hlen + this.payload + payload <= MAX_JOINED &&
      this.sameHeaders(p);
    if (!joins) {
      this.flush();
      this.l4 = l4;
      this.hlen = hlen;
      this.mss = payload;
    }
    this.staging.set(p.subarray(0, total), this.len);
    this.len += total;
    this.ends[this.count++] = this.len;
    this.payload += payload;
    this.nextSeq = (seq + payload) >>> 0;
    this.open = payload === this.mss && (flags & TCP_PSH) === 0 && this.count < this.maxSegments;
    return true;
  }

  /** Sends the run: one segment as it is, several to be joined. */
  flush(): void {
    const count = this.count;
    if (count === 0) return;
    this.count = 0;
    this.len = 0;
    this.payload = 0;
    this.open = false;
    if (count === 1) this.writer.writeOne(this.staging.subarray(0, this.ends[0]));
    else this.writer.writeJoined(this.staging, this.ends, count, this.mss);
  }

  /** Whether `p` has the run's headers, sequence number and lengths aside. */
  private sameHeaders(p: Uint8Array): boolean {
    const r = this.staging;
    const l4 = this.l4;
    if (l4 === 20) {
      // TOS; DF; TTL; addresses
      if (p[1] !== r[1] || p[6] !== r[6] || p[8] !== r[8]) return false;
      for (let i = 12; i < 20; i++) if (p[i] !== r[i]) return false;
    } else {
      // traffic class and flow label; hop limit; addresses
      for (let i = 0; i < 4; i++) if (p[i] !== r[i]) return false;
      for (let i = 7; i < 40; i++) if (p[i] !== r[i]) return false;
    }
    // ports; ACK number; window; options
    for (let i = l4; i < l4 + 4; i++) if (p[i] !== r[i]) return false;
    for (let i = l4 + 8; i < l4 + 12; i++) if (p[i] !== r[i]) return false;
    if (p[l4 + 14] !== r[l4 + 14] || p[l4 + 15] !== r[l4 + 15]) return false;
    for (let i = l4 + 20; i < this.hlen; i++) if (p[i] !== r[i]) return false;
    return true;
  }
}
