#!/usr/bin/env node
/**
 * The `tsmio` command. Subcommands arrive with the stack (`run`, `lab`,
 * `playground`); today it answers `--help` and `--version`.
 */
import { readFileSync } from "node:fs";

const USAGE = `usage:
  tsmio run [--mtu N] [--host-loopback] [-p [IP:]HOSTPORT:PORT[/udp]]... [--outbound all|none|CIDR,...]
            [--dns IP] [--pcap FILE] [--stats] -- CMD ARGS...
  tsmio lab N
  tsmio playground
  tsmio --help | --version

Available in this version: --help, --version. The other commands come with the
userspace stack and are not in this build yet.`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

function main(argv: string[]): number {
  const cmd = argv[0];
  if (cmd === undefined || cmd === "--help" || cmd === "-h" || cmd === "help") {
    process.stdout.write(`${USAGE}\n`);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === "--version" || cmd === "-V") {
    process.stdout.write(`tsmio ${version()}\n`);
    return 0;
  }
  process.stderr.write(`tsmio: '${cmd}' is not available in this build (see tsmio --help)\n`);
  return 2;
}

process.exitCode = main(process.argv.slice(2));
