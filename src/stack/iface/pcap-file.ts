/**
 * A pcap file being written (the format of pcap-format.ts), synchronously,
 * record by record, so the file is complete at any moment and the same
 * records give the same bytes.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { PCAP_RECORD_HEADER_LEN, PCAP_SNAPLEN, pcapHeader, writeRecordHeader } from "./pcap-format.js";

/** A file that was garbage-collected while open is closed. */
const finalizer = new FinalizationRegistry<number>((file) => {
  closeSync(file);
});

export class PcapFile {
  private file: number;
  private readonly record = new Uint8Array(PCAP_RECORD_HEADER_LEN + PCAP_SNAPLEN);
  private readonly recordView = new DataView(this.record.buffer);

  /** Creates (or truncates) the file at `path` and writes its header. Throws the `fs` error if it cannot. */
  constructor(readonly path: string) {
    this.file = openSync(path, "w");
    finalizer.register(this, this.file, this);
    writeSync(this.file, pcapHeader());
  }

  /** Whether the file is still being written. */
  isOpen(): boolean {
    return this.file >= 0;
  }

  /** Appends one record stamped `timeMs` (ms, microsecond resolution). Nothing once closed. */
  write(packet: Uint8Array, timeMs: number): void {
    if (this.file < 0) return;
    const incl = writeRecordHeader(this.recordView, packet.length, timeMs);
    this.record.set(packet.subarray(0, incl), PCAP_RECORD_HEADER_LEN);
    writeSync(this.file, this.record, 0, PCAP_RECORD_HEADER_LEN + incl);
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
