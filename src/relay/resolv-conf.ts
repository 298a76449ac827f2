/**
 * The host's nameservers, from resolv.conf(5): where the DNS forwarder of
 * `tsmio run` (10.0.2.3:53) sends queries when `--dns` is not given.
 */
import { readFileSync } from "node:fs";
import { formatIp, parseIp } from "../net/socket-addr.js";

/** As many nameservers as the C library uses (glibc and musl: MAXNS = 3); later lines are ignored. */
const MAX_NAMESERVERS = 3;

/** Errors that mean "no configuration" rather than a failure, as glibc treats them when opening resolv.conf. */
const NO_FILE = new Set(["ENOENT", "ENOTDIR", "EISDIR", "EACCES", "EPERM", "ELOOP"]);

/**
 * The nameserver addresses of a resolv.conf text, in canonical form and in
 * file order, at most three (the rest are ignored, as by the C library).
 *
 * Read as glibc reads it: a `nameserver` line starts at the beginning of the
 * line, followed by a space or tab, then the address, which ends at
 * whitespace, `#` or `;` (anything after it is ignored). Lines starting with
 * `#` or `;` are comments. Entries that are not IPv4 or IPv6 addresses are
 * skipped. An IPv6 address with a `%scope` suffix keeps its address but
 * loses the scope; a link-local one (fe80::/10) is skipped, since without its
 * interface it cannot be reached from the host.
 */
export function nameservers(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    if (out.length === MAX_NAMESERVERS) break;
    const m = /^nameserver[ \t]+([^\s#;]+)/.exec(line);
    if (!m) continue;
    const [addr, scope] = m[1]!.split("%", 2) as [string, string | undefined];
    const bytes = parseIp(addr);
    if (!bytes) continue;
    if (scope !== undefined && (bytes.length === 4 || isLinkLocal(bytes))) continue;
    out.push(formatIp(bytes));
  }
  return out;
}

/**
 * The host's nameservers ({@link nameservers}) read from `path`. A file that
 * is missing or cannot be read for a lasting reason (no permission, a
 * directory, a symlink loop) gives `[]`, as it gives the C library no
 * nameserver; other read errors are thrown.
 */
export function hostNameservers(path = "/etc/resolv.conf"): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if (NO_FILE.has((e as NodeJS.ErrnoException).code ?? "")) return [];
    throw e;
  }
  return nameservers(text);
}

/** fe80::/10. */
function isLinkLocal(b: Uint8Array): boolean {
  return b.length === 16 && b[0] === 0xfe && (b[1]! & 0xc0) === 0x80;
}
