/**
 * The capture file of a {@link Sim}: a pcap file (see PcapFile) with
 * timestamps in virtual time, so the same run gives the same bytes.
 */
import { PcapFile } from "../stack/iface/pcap-file.js";

/** A pcap file being written by a {@link Sim} (made by `sim.pcap(path)`). */
export class SimCapture {
  private readonly file: PcapFile;

  /** @internal Creates (or truncates) `path` and writes the pcap header; throws the `fs` error if it cannot. */
  constructor(
    /** The file being written. */
    readonly path: string,
    private readonly onClose: (capture: SimCapture) => void,
  ) {
    this.file = new PcapFile(path);
  }

  /** Whether the file is still being written. */
  isOpen(): boolean {
    return this.file.isOpen();
  }

  /** Stops recording and closes the file (idempotent). */
  close(): void {
    if (!this.file.isOpen()) return;
    this.file.close();
    this.onClose(this);
  }

  /** @internal Appends one record stamped `timeMs` (virtual ms, microsecond resolution). */
  write(packet: Uint8Array, timeMs: number): void {
    this.file.write(packet, timeMs);
  }
}
