/**
 * A pcap file being written: the classic libpcap format that Wireshark and
 * tcpdump read, LINKTYPE_RAW (each record a raw IPv4 or IPv6 packet).
 * Written synchronously, record by record, so the file is complete at any
 * moment and the same records give the same bytes.
 */
import { closeSync, openSync, writeSync } from "node:fs";

/** The pcap magic number: microsecond timestamps, written little-endian. */
export const PCAP_MAGIC = 0xa1b2c3d4;
/** The largest packet recorded whole; longer ones are truncated (`incl_len < orig_len`). */
export const PCAP_SNAPLEN = 65535;
/** LINKTYPE_RAW: each packet is a raw IPv4 or IPv6 packet, no link-layer header. */
export const LINKTYPE_RAW = 101;

const GLOBAL_HEADER_LEN = 24;
const RECORD_HEADER_LEN = 16;

/** A file that was garbage-collected while open is closed. */
const finalizer = new FinalizationRegistry<number>((file) => {
  closeSync(file);
});

export class PcapFile {
  private file: number;
  private readonly record = Buffer.alloc(RECORD_HEADER_LEN + PCAP_SNAPLEN);

  /** Creates (or truncates) the file at `path` and writes its header. Throws the `fs` error if it cannot. */
  constructor(readonly path: string) {
    this.file = openSync(path, "w");
    finalizer.register(this, this.file, this);
    const header = Buffer.alloc(GLOBAL_HEADER_LEN);
    header.writeUInt32LE(PCAP_MAGIC, 0);
    header.writeUInt16LE(2, 4); // version 2.4
    header.writeUInt16LE(4, 6);
    header.writeInt32LE(0, 8); // thiszone: UTC
    header.writeUInt32LE(0, 12); // sigfigs
    header.writeUInt32LE(PCAP_SNAPLEN, 16);
    header.writeUInt32LE(LINKTYPE_RAW, 20);
    writeSync(this.file, header);
  }

  /** Whether the file is still being written. */
  isOpen(): boolean {
    return this.file >= 0;
  }

  /** Appends one record stamped `timeMs` (ms, microsecond resolution). Nothing once closed. */
  write(packet: Uint8Array, timeMs: number): void {
    if (this.file < 0) return;
    const us = Math.max(0, Math.round(timeMs * 1000));
    const sec = Math.floor(us / 1e6);
    const incl = Math.min(packet.length, PCAP_SNAPLEN);
    const r = this.record;
    r.writeUInt32LE(sec >>> 0, 0);
    r.writeUInt32LE(us - sec * 1e6, 4);
    r.writeUInt32LE(incl, 8);
    r.writeUInt32LE(packet.length, 12);
    r.set(packet.subarray(0, incl), RECORD_HEADER_LEN);
    writeSync(this.file, r, 0, RECORD_HEADER_LEN + incl);
  }

  /** Closes the file (idempotent). */
  close(): void {
    if (this.file < 0) return;
    finalizer.unregister(this);
    const file = this.file;
    this.file = -1;
    closeSync(file);
  }
}
