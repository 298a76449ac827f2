/**
 * The command line of `tsmio run`:
 *
 * ```
 * tsmio run [--mtu N] [--host-loopback] [-p [IP:]HOSTPORT:PORT[/udp]]... [--outbound all|none|CIDR,...]
 *           [--dns IP] [--pcap FILE] [--stats] -- CMD ARGS...
 * ```
 *
 * Options take their value as the next word or after `=` (`--mtu 9000`,
 * `--mtu=9000`); `-p` also as `-pSPEC`, and has the long form `--publish`.
 * Options end at `--` or at the first word that does not start with `-`
 * (so `tsmio run curl -v URL` runs `curl -v URL`); `--` is needed only when
 * CMD itself starts with `-`. `-p` may be repeated; giving any other option
 * with a value twice is an error, as is a flag given a value.
 */
import type { PublishedPort } from "../relay/relay.js";
import { formatIp, parseIp } from "../net/socket-addr.js";
import { OutboundPolicy } from "../relay/outbound-policy.js";

/**
 * A misuse of the command line. The message is one line without the
 * `tsmio: ` prefix; the command prints it on stderr and exits with code 2.
 */
export class UsageError extends Error {
  override readonly name = "UsageError";
}


/** What `tsmio run` was asked to do. */
export interface RunOptions {
  /** MTU of the namespace's interface: 65520 unless `--mtu` (1280..65535). */
  mtu: number;
  /** Whether the gateway (10.0.2.2, fd00::2) reaches the host's loopback (127.0.0.1, ::1); off unless `--host-loopback`. */
  hostLoopback: boolean;
  /** The published ports, in command-line order. */
  publish: PublishedPort[];
  /** The destinations the command may reach: all unless `--outbound`. */
  outbound: OutboundPolicy;
  /** The nameserver the DNS at 10.0.2.3 forwards to (`--dns`, canonical), or null for those of /etc/resolv.conf. */
  dns: string | null;
  /** The file to write a capture of the namespace's traffic to (`--pcap`), or null. */
  pcap: string | null;
  /** Whether to print per-flow byte counts at exit (`--stats`). */
  stats: boolean;
  /** The command to run and its arguments. */
  command: string;
  args: string[];
}

/** The default MTU: large, since fewer, bigger packets are the cheap way to throughput through a TUN device. */
const DEFAULT_MTU = 65520;
/**
 * The smallest MTU: the namespace has IPv6 addresses, and Linux takes IPv6
 * off an interface whose MTU is below the IPv6 minimum of 1280 (RFC 8200).
 */
const MIN_MTU = 1280;
/** The largest MTU: a TUN device refuses more (ETH_MAX_MTU). */
const MAX_MTU = 65535;

const SYNOPSIS = "tsmio run [OPTIONS] [--] CMD ARGS... (see tsmio --help)";

/** The options that take a value, by every spelling. */
const VALUED: Record<string, "mtu" | "publish" | "outbound" | "dns" | "pcap"> = {
  "--mtu": "mtu",
  "-p": "publish",
  "--publish": "publish",
  "--outbound": "outbound",
  "--dns": "dns",
  "--pcap": "pcap",
};

/** The flags. */
const FLAGS: Record<string, "hostLoopback" | "stats"> = {
  "--host-loopback": "hostLoopback",
  "--stats": "stats",
};

/**
 * Parses the words after `run`. Throws {@link UsageError} for an unknown
 * option, a missing or invalid value, a value option given twice, two `-p`
 * that would listen on the same host port, or no
 * command.
 */
export function parseRunArgs(argv: readonly string[]): RunOptions {
  const opts: RunOptions = {
    mtu: DEFAULT_MTU,
    hostLoopback: false,
    publish: [],
    outbound: OutboundPolicy.ALL,
    dns: null,
    pcap: null,
    stats: false,
    command: "",
    args: [],
  };
  const seen = new Set<string>();
  let i = 0;
  while (i < argv.length) {
    const word = argv[i]!;
    if (word === "--") {
      i++;
      break;
    }
    if (!word.startsWith("-") || word === "-") break;
    i++;
    const eq = word.startsWith("--") ? word.indexOf("=") : -1;
    const name = eq < 0 ? (word.startsWith("-p") && !word.startsWith("--") ? "-p" : word) : word.slice(0, eq);
    const flag = FLAGS[name];
    if (flag !== undefined && name === word) {
      opts[flag] = true;
      continue;
    }
    if (flag !== undefined) throw new UsageError(`${name} takes no value`);
    const key = VALUED[name];
    if (key === undefined) throw new UsageError(`unknown option '${word}' for run (see tsmio --help)`);
    let value: string;
    if (eq >= 0) value = word.slice(eq + 1);
    else if (name !== word) value = word.slice(2);
    else if (i < argv.length && argv[i] !== "--") value = argv[i++]!;
    else throw new UsageError(`${name} needs a value`);
    if (key !== "publish" && seen.has(key)) throw new UsageError(`${name} given more than once`);
    seen.add(key);
    switch (key) {
      case "mtu":
        opts.mtu = parseMtu(value);
        break;
      case "publish":
        addPublish(opts.publish, parsePublish(value));
        break;
      case "outbound":
        opts.outbound = parseOutbound(value);
        break;
      case "dns":
        opts.dns = parseDns(value);
        break;
      case "pcap":
        if (value === "") throw new UsageError(`--pcap needs a file name`);
        opts.pcap = value;
        break;
    }
  }
  if (i >= argv.length || argv[i] === "") throw new UsageError(`no command to run: ${SYNOPSIS}`);
  opts.command = argv[i]!;
  opts.args = argv.slice(i + 1);
  return opts;
}

/** `--mtu`: a decimal integer in 1280..65535. */
function parseMtu(value: string): number {
  const n = /^\d{1,6}$/.test(value) ? Number(value) : NaN;
  if (!(n >= MIN_MTU && n <= MAX_MTU)) {
    throw new UsageError(
      `--mtu must be an integer in ${MIN_MTU}..${MAX_MTU} (IPv6 needs at least ${MIN_MTU}), got '${value}'`,
    );
  }
  return n;
}

/**
 * One `-p` value: `HOSTPORT:PORT`, `IPV4:HOSTPORT:PORT` or
 * `[IPV6]:HOSTPORT:PORT`, each optionally followed by `/tcp` (the default) or
 * `/udp`. Ports are 1..65535.
 */
function parsePublish(spec: string): PublishedPort {
  const bad = (why: string): UsageError =>
    new UsageError(`invalid -p '${spec}': ${why}; expected [IP:]HOSTPORT:PORT[/udp], e.g. 8080:80 or [::1]:5353:53/udp`);
  const m = /^(?:(\[[^\]]*\]|[^:[\]]*):)?([^:]*):([^:/]*)(?:\/(.*))?$/.exec(spec);
  if (!m) {
    const ipPart = spec.replace(/\/[^/]*$/, "").split(":").slice(0, -2).join(":");
    throw bad(parseIp(ipPart)?.length === 16 ? "an IPv6 address goes in brackets" : "wrong form");
  }
  const [, ipText, hostPortText, portText, proto] = m;
  let hostIp = "127.0.0.1";
  if (ipText !== undefined) {
    const inner = ipText.startsWith("[") ? ipText.slice(1, -1) : ipText;
    const bytes = parseIp(inner);
    if (!bytes || (ipText.startsWith("[") ? bytes.length !== 16 : bytes.length !== 4)) {
      throw bad(`'${ipText}' is not ${ipText.startsWith("[") ? "an IPv6" : "an IPv4"} address`);
    }
    hostIp = formatIp(bytes);
  }
  if (proto !== undefined && proto !== "tcp" && proto !== "udp") throw bad(`protocol '${proto}' is neither tcp nor udp`);
  return {
    hostIp,
    hostPort: port(hostPortText!, "host port", bad),
    port: port(portText!, "port", bad),
    protocol: proto === "udp" ? "udp" : "tcp",
  };
}

function port(text: string, what: string, bad: (why: string) => UsageError): number {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 65535)) throw bad(`${what} '${text}' is not in 1..65535`);
  return n;
}

/**
 * Adds `spec` unless it would listen where an earlier one does: the same
 * protocol and host port on the same address, or where either address is a
 * wildcard covering the other (0.0.0.0 covers IPv4; :: covers both families,
 * as a Linux socket on :: accepts IPv4 too unless net.ipv6.bindv6only is set).
 */
function addPublish(list: PublishedPort[], spec: PublishedPort): void {
  const family = (ip: string): 4 | 6 => (ip.includes(":") ? 6 : 4);
  const covers = (a: string, b: string): boolean => a === "::" || (a === "0.0.0.0" && family(b) === 4);
  const clash = list.find(
    (p) =>
      p.protocol === spec.protocol &&
      p.hostPort === spec.hostPort &&
      (p.hostIp === spec.hostIp || covers(p.hostIp, spec.hostIp) || covers(spec.hostIp, p.hostIp)),
  );
  if (clash) {
    const where = (p: PublishedPort): string => (family(p.hostIp) === 6 ? `[${p.hostIp}]` : p.hostIp) + `:${p.hostPort}`;
    throw new UsageError(`-p ${where(spec)}/${spec.protocol} clashes with -p ${where(clash)}/${clash.protocol}: both listen on host ${spec.protocol} port ${spec.hostPort}`);
  }
  list.push(spec);
}

function parseOutbound(value: string): OutboundPolicy {
  try {
    return OutboundPolicy.parse(value);
  } catch (e) {
    throw new UsageError(`--outbound: ${(e as Error).message}`);
  }
}

/** `--dns`: one IPv4 or IPv6 address, canonical. */
function parseDns(value: string): string {
  const bytes = parseIp(value);
  if (!bytes) throw new UsageError(`--dns '${value}' is not an IP address`);
  return formatIp(bytes);
}
