/**
 * The classic libpcap file format that Wireshark and tcpdump read, with
 * LINKTYPE_RAW (each record a raw IPv4 or IPv6 packet): the global header
 * and the record header, little-endian, microsecond timestamps. Pure bytes:
 * {@link PcapFile} writes them to a file, {@link PcapBuffer} keeps them in
 * memory (a web page offers them as a download).
 */

/** The pcap magic number: microsecond timestamps, written little-endian. */
export const PCAP_MAGIC = 0xa1b2c3d4;
/** The largest packet recorded whole; longer ones are truncated (`incl_len < orig_len`). */
export const PCAP_SNAPLEN = 65535;
/** LINKTYPE_RAW: each packet is a raw IPv4 or IPv6 packet, no link-layer header. */
export const LINKTYPE_RAW = 101;
/** Bytes of the global header. */
export const PCAP_HEADER_LEN = 24;
/** Bytes of a record header. */
export const PCAP_RECORD_HEADER_LEN = 16;

/** The 24-byte global header: version 2.4, UTC, snaplen {@link PCAP_SNAPLEN}, LINKTYPE_RAW. */
export function pcapHeader(): Uint8Array {
  const header = new Uint8Array(PCAP_HEADER_LEN);
  const v = new DataView(header.buffer);
  v.setUint32(0, PCAP_MAGIC, true);
  v.setUint16(4, 2, true); // version 2.4
  v.setUint16(6, 4, true);
  v.setInt32(8, 0, true); // thiszone: UTC
  v.setUint32(12, 0, true); // sigfigs
  v.setUint32(16, PCAP_SNAPLEN, true);
  v.setUint32(20, LINKTYPE_RAW, true);
  return header;
}

/**
 * Writes the record header of a packet of `length` bytes stamped `timeMs`
 * (ms, microsecond resolution) at the start of `out`; returns how many of
 * the packet's bytes the record holds (at most {@link PCAP_SNAPLEN}).
 */
export function writeRecordHeader(out: DataView, length: number, timeMs: number): number {
  const us = Math.max(0, Math.round(timeMs * 1000));
  const sec = Math.floor(us / 1e6);
  const incl = Math.min(length, PCAP_SNAPLEN);
  out.setUint32(0, sec >>> 0, true);
  out.setUint32(4, us - sec * 1e6, true);
  out.setUint32(8, incl, true);
  out.setUint32(12, length, true);
  return incl;
}

/** A pcap file kept in memory. */
export class PcapBuffer {
  private readonly records: Uint8Array[] = [pcapHeader()];
  private size = PCAP_HEADER_LEN;

  /** Appends one record of `packet` (copied) stamped `timeMs`. */
  write(packet: Uint8Array, timeMs: number): void {
    const record = new Uint8Array(PCAP_RECORD_HEADER_LEN + Math.min(packet.length, PCAP_SNAPLEN));
    const incl = writeRecordHeader(new DataView(record.buffer), packet.length, timeMs);
    record.set(packet.subarray(0, incl), PCAP_RECORD_HEADER_LEN);
    this.records.push(record);
    this.size += record.length;
  }

  /** Records written so far. */
  get count(): number {
    return this.records.length - 1;
  }

  /** The whole file so far. */
  bytes(): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const r of this.records) {
      out.set(r, at);
      at += r.length;
    }
    return out;
  }
}
