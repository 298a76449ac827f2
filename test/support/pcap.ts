/**
 * A small reader of classic pcap files, written independently of the writer
 * (PcapTap) so tests can check its bytes. Accepts only what the tests expect
 * to see: little-endian, microsecond timestamps.
 */

/** The 24-byte global header. */
export interface PcapHeader {
  magic: number;
  versionMajor: number;
  versionMinor: number;
  thiszone: number;
  sigfigs: number;
  snaplen: number;
  linktype: number;
}

/** One packet record. */
export interface PcapRecord {
  tsSec: number;
  tsUsec: number;
  inclLen: number;
  origLen: number;
  data: Uint8Array;
}

/** Parses a whole pcap file; throws on a wrong magic, a truncated record or trailing bytes. */
export function readPcap(bytes: Uint8Array): { header: PcapHeader; records: PcapRecord[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 24) throw new Error(`pcap too short for a global header: ${bytes.length} bytes`);
  const header: PcapHeader = {
    magic: view.getUint32(0, true),
    versionMajor: view.getUint16(4, true),
    versionMinor: view.getUint16(6, true),
    thiszone: view.getInt32(8, true),
    sigfigs: view.getUint32(12, true),
    snaplen: view.getUint32(16, true),
    linktype: view.getUint32(20, true),
  };
  if (header.magic !== 0xa1b2c3d4) throw new Error(`bad pcap magic 0x${header.magic.toString(16)}`);
  const records: PcapRecord[] = [];
  let off = 24;
  while (off < bytes.length) {
    if (off + 16 > bytes.length) throw new Error(`truncated record header at ${off}`);
    const inclLen = view.getUint32(off + 8, true);
    const record: PcapRecord = {
      tsSec: view.getUint32(off, true),
      tsUsec: view.getUint32(off + 4, true),
      inclLen,
      origLen: view.getUint32(off + 12, true),
      data: new Uint8Array(bytes.subarray(off + 16, off + 16 + inclLen)),
    };
    if (record.data.length !== inclLen) throw new Error(`truncated record data at ${off}`);
    if (record.tsUsec >= 1_000_000) throw new Error(`ts_usec out of range: ${record.tsUsec}`);
    records.push(record);
    off += 16 + inclLen;
  }
  return { header, records };
}
