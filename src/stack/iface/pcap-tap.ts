/**
 * Middleware that records every packet through a device in a pcap file
 * (the classic libpcap format that Wireshark and tcpdump read).
 */
import type { Device } from "./device.js";
import { PcapFile } from "./pcap-file.js";
import { DeviceWrapper } from "./wrapper.js";

/**
 * Writes a pcap file of every packet received from and transmitted to the
 * wrapped device, timestamped with the attached clock (virtual time under a
 * SimClock, so the same seeded run gives a byte-identical file; `realClock`
 * times count from process start). The file is written synchronously, record
 * by record, so it is complete at any moment; `close()` ends it.
 */
export class PcapTap extends DeviceWrapper {
  /** The file being written. */
  readonly path: string;
  private readonly file: PcapFile;

  /** Creates (or truncates) the pcap file at `path` and writes its header. Throws the `fs` error if it cannot. */
  constructor(device: Device, path: string) {
    super(device);
    if (typeof path !== "string" || path.length === 0) throw new TypeError("PcapTap needs a file path");
    this.path = path;
    this.file = new PcapFile(path);
  }

  /** Receives from the wrapped device and records the packet, if any. */
  receive(): Uint8Array | null {
    const packet = this.inner.receive();
    if (packet !== null) this.file.write(packet, this.clock.now());
    return packet;
  }

  /** Records `packet`, then transmits it on the wrapped device. */
  transmit(packet: Uint8Array): void {
    this.file.write(packet, this.clock.now());
    this.inner.transmit(packet);
  }

  /** Whether the file is still being written. */
  isOpen(): boolean {
    return this.file.isOpen();
  }

  /** Closes the file (idempotent). Packets still pass through afterwards, unrecorded. */
  close(): void {
    this.file.close();
  }
}
