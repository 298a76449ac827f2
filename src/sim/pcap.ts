/**
 * The capture file of a {@link Sim}: classic libpcap, LINKTYPE_RAW (each
 * record a raw IPv4 or IPv6 packet), timestamps in virtual time. Written
 * synchronously, record by record, so the file is complete at any moment and
 * the same run gives the same bytes.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { LINKTYPE_RAW, PCAP_MAGIC, PCAP_SNAPLEN } from "../stack/iface/pcap-tap.js";

const GLOBAL_HEADER_LEN = 24;
const RECORD_HEADER_LEN = 16;

/** A pcap file being written by a {@link Sim} (made by `sim.pcap(path)`). */
export class SimCapture {
  private file: number;
  private readonly record = Buffer.alloc(RECORD_HEADER_LEN + PCAP_SNAPLEN);

  /** @internal Creates (or truncates) `path` and writes the pcap header; throws the `fs` error if it cannot. */
  constructor(
    /** The file being written. */
    readonly path: string,
    private readonly onClose: (capture: SimCapture) => void,
  ) {
    this.file = openSync(path, "w");
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

  /** Stops recording and closes the file (idempotent). */
  close(): void {
    if (this.file < 0) return;
    const file = this.file;
    this.file = -1;
    closeSync(file);
    this.onClose(this);
  }

  /** @internal Appends one record stamped `timeMs` (virtual ms, microsecond resolution). */
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
}
