#!/usr/bin/env node
/**
 * The `tsmio` command: `run` (a command with a network of its own), `lab N`,
 * `playground`, `--help`, `--version`. Misuse and impossible setups print one line and
 * exit with 2.
 */
import { readFileSync } from "node:fs";
import { IoError } from "../error.js";
import { LABS } from "../labs/index.js";
import { servePlayground } from "../playground/serve.js";
import { runCommand } from "./run.js";
import { UsageError, parseRunArgs } from "./run-options.js";

const USAGE = `usage:
  tsmio run [OPTIONS] [--] CMD ARGS...
  tsmio lab N
  tsmio playground [--host IP] [--port N]
  tsmio --help | --version

tsmio run [--mtu N] [--host-loopback] [-p [IP:]HOSTPORT:PORT[/udp]]... [--outbound all|none|CIDR,...]
          [--dns IP] [--pcap FILE] [--stats] -- CMD ARGS...
  Runs CMD in a network namespace of its own whose interface (tsmio0) is a TUN
  device driven by tsmio's userspace TCP/IP stack. Inside the namespace:
    address   10.0.2.100/24   fd00::100/64
    gateway   10.0.2.2        fd00::2
    DNS       10.0.2.3 (port 53, UDP and TCP)
  TCP and UDP from CMD are relayed through host sockets to the same destination.
  Options take a value as the next word or after '=' (--mtu=9000). Options end at
  '--' or at the first word not starting with '-'.

  --mtu N            MTU of the namespace's interface, 1280..65535 (IPv6 needs at
                     least 1280). Default: 65520.
  --host-loopback    Let the gateway reach the host's loopback: 10.0.2.2 goes to
                     127.0.0.1 and fd00::2 to ::1. Default: off.
  -p, --publish [IP:]HOSTPORT:PORT[/udp]
                     Listen on host port HOSTPORT and forward to PORT inside the
                     namespace (on 10.0.2.100 / fd00::100). IP is 127.0.0.1
                     unless given; write IPv6 in brackets: [::1]:8080:80.
                     Protocol tcp unless /udp. Repeatable.
  --outbound all|none|CIDR,...
                     Destinations CMD may reach: all, none, or a comma list of
                     prefixes and addresses (10.0.0.0/8,fd00::/8,192.0.2.7).
                     Others are refused at once (TCP reset, ICMP unreachable).
                     Default: all.
  --dns IP           Forward the DNS at 10.0.2.3 to IP. Default: the
                     nameservers of the host's /etc/resolv.conf.
  --pcap FILE        Capture the namespace's traffic to FILE (pcap format).
  --stats            Print per-flow byte counts when CMD exits.
  Exits with CMD's exit code; a command-line mistake exits with code 2.

tsmio lab N          Runs teaching lab N (see labs/ for each lab's README); the lab
                     prints to stdout and writes its pcap files to the current directory.
tsmio playground [--host IP] [--port N]
                     Serves the browser playground (default http://127.0.0.1:8044/): the stack
                     runs in the page, in virtual time; hosts, loss, delay and bandwidth to set,
                     a live sequence diagram and cwnd plot. Ctrl-C stops it.`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/** `tsmio run ARGS`: the command's exit status, or 2 for a misuse or a setup that cannot be made. */
async function run(argv: string[]): Promise<number> {
  if (argv[0] === "--help" || argv[0] === "-h") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    return await runCommand(parseRunArgs(argv), (line) => process.stderr.write(`tsmio: ${line}\n`));
  } catch (e) {
    if (!(e instanceof UsageError) && !(e instanceof IoError)) throw e;
    process.stderr.write(`tsmio: ${e.message}\n`);
    return 2;
  }
}

/** `tsmio lab N`: runs lab N, printing to stdout; 2 for a missing or unknown N. */
async function lab(argv: string[]): Promise<number> {
  const n = argv.length === 1 && /^[0-9]+$/.test(argv[0]!) ? Number(argv[0]) : NaN;
  const chosen = Object.hasOwn(LABS, n) ? LABS[n] : undefined;
  if (chosen === undefined) {
    process.stderr.write(`tsmio: lab needs one lab number among ${Object.keys(LABS).join(", ")}, got '${argv.join(" ")}'\n`);
    return 2;
  }
  // a reader that went away (`tsmio lab 5 | head`) ends the lab quietly, as for any Unix filter
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
    throw e;
  });
  await chosen.run({ line: (text) => process.stdout.write(`${text}\n`), dir: process.cwd() });
  return 0;
}

/** `tsmio playground [--host IP] [--port N]`: serves the page until interrupted; 2 for a misuse. */
async function playground(argv: string[]): Promise<number> {
  let host = "127.0.0.1";
  let port = 8044;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = inline ?? argv[++i];
    if (flag === "--host" && value) host = value;
    else if (flag === "--port" && value !== undefined && /^[0-9]{1,5}$/.test(value) && Number(value) <= 65535) port = Number(value);
    else {
      process.stderr.write(`tsmio: playground takes --host IP and --port N (0..65535), got '${argv.join(" ")}'\n`);
      return 2;
    }
  }
  let served: Awaited<ReturnType<typeof servePlayground>>;
  try {
    served = await servePlayground({ dir: new URL("./playground-page/", import.meta.url).pathname, host, port });
  } catch (e) {
    process.stderr.write(`tsmio: playground: ${(e as Error).message}\n`);
    return 2;
  }
  process.stdout.write(`tsmio playground: open ${served.url} (Ctrl-C stops it)\n`);
  await new Promise<void>((resolve) => {
    for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => resolve());
  });
  await served.close();
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const cmd = argv[0];
  if (cmd === "run") return run(argv.slice(1));
  if (cmd === "lab") return lab(argv.slice(1));
  if (cmd === "playground") return playground(argv.slice(1));
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

process.exitCode = await main(process.argv.slice(2));
