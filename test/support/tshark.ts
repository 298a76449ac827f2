/**
 * tshark as an independent checker of captures: runs it on a file with
 * checksum validation on for IPv4, UDP and TCP (ICMP and ICMPv6 checksums are
 * always validated) and reads back its expert info, the frames it flags and
 * the checksum status of every frame.
 *
 * tshark comes from the Debian/Ubuntu package `tshark`. Suites using it are
 * skipped without it, and fail when `CI` is set.
 */
import { spawnSync } from "node:child_process";

/** Whether `tshark` runs here. */
export const hasTshark = spawnSync("tshark", ["--version"], { encoding: "utf8" }).status === 0;

const CHECKSUMS = ["-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE"];

/** Runs tshark on `file` with checksum validation; returns stdout (throws on a non-zero exit). */
export function tshark(file: string, ...args: string[]): string {
  const r = spawnSync("tshark", ["-n", "-r", file, ...CHECKSUMS, ...args], { encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`tshark ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** The severities that `-z expert` lists ("Errors", "Warnings", "Notes", "Chats"), with their lines. */
export function expert(file: string): { sections: string[]; text: string } {
  const text = tshark(file, "-q", "-z", "expert");
  const sections = [...text.matchAll(/^(Errors|Warnings|Notes|Chats) \(\d+\)$/gm)].map((m) => m[1]!);
  return { sections, text };
}

/** Summary lines of the frames matching the display filter `filter`. */
export function matching(file: string, filter: string): string[] {
  return tshark(file, "-Y", filter)
    .split("\n")
    .filter((l) => l.trim() !== "");
}

/** Frames tshark flags as malformed or with an expert warning or error. */
export function flagged(file: string): string[] {
  return matching(file, "_ws.malformed || _ws.expert.severity >= warning");
}

/**
 * One row per frame: protocol stack and the checksum statuses (1 good, 0 bad,
 * 2 unverified) of IPv4, UDP, TCP, ICMP and ICMPv6.
 */
export function frames(file: string): Array<{ protocols: string; statuses: string[] }> {
  const out = tshark(
    file,
    "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,",
    "-e", "frame.protocols", "-e", "ip.checksum.status", "-e", "udp.checksum.status", "-e", "tcp.checksum.status",
    "-e", "icmp.checksum.status", "-e", "icmpv6.checksum.status",
  );
  return out
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const [protocols, ...rest] = l.split("\t");
      return { protocols: protocols!, statuses: rest.flatMap((f) => (f === "" ? [] : f.split(","))) };
    });
}
