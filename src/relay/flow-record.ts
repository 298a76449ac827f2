/**
 * What `tsmio run --stats` reports of each relayed flow.
 */

/** One TCP connection or UDP flow through the relay. */
export interface FlowRecord {
  protocol: "tcp" | "udp";
  /** who started it: the command's address (outbound) or the host-side client (published) */
  from: string;
  /** the address it was sent to */
  to: string;
  /** where the relay took it: the host-side target (outbound) or the sandbox-side source (published) */
  via: string;
  /** bytes from the command towards the host side, and back */
  up: number;
  down: number;
  /** how it ended: null while open */
  end: "closed" | "reset" | "refused" | "idle" | null;
}

/** The records as lines: protocol, addresses, bytes each way, how it ended. */
export function formatFlows(records: readonly FlowRecord[]): string {
  const lines = records.map(
    (r) => `${r.protocol} ${r.from} -> ${r.to} via ${r.via}: ${r.up} B up, ${r.down} B down${r.end === null ? ", open" : `, ${r.end}`}`,
  );
  return `${records.length} flow${records.length === 1 ? "" : "s"}\n${lines.map((l) => `  ${l}\n`).join("")}`;
}
