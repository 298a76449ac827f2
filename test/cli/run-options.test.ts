/**
 * The command line of `tsmio run` (src/cli/run-options.ts): defaults, every
 * option in both spellings, where the command starts, and each misuse as a
 * UsageError with its one-line message.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseRunArgs, UsageError } from "../../src/cli/run-options.js";
import type { PublishedPort } from "../../src/relay/relay.js";
import { OutboundPolicy } from "../../src/relay/outbound-policy.js";

/** The UsageError `argv` gives (fails when it gives none or another error). */
function usage(argv: string[]): string {
  try {
    parseRunArgs(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    expect((e as UsageError).name).toBe("UsageError");
    const message = (e as UsageError).message;
    expect(message).not.toMatch(/\n/);
    expect(message).not.toMatch(/^tsmio: /);
    return message;
  }
  throw new Error(`no UsageError for ${JSON.stringify(argv)}`);
}

const publish = (...specs: string[]): PublishedPort[] => parseRunArgs(specs.flatMap((s) => ["-p", s]).concat("--", "true")).publish;

describe("parseRunArgs", () => {
  it("defaults", () => {
    const o = parseRunArgs(["--", "curl", "-v", "http://example.invalid/"]);
    expect(o).toEqual({
      mtu: 65520,
      hostLoopback: false,
      publish: [],
      outbound: OutboundPolicy.ALL,
      dns: null,
      pcap: null,
      stats: false,
      command: "curl",
      args: ["-v", "http://example.invalid/"],
    });
    expect(o.outbound).toBe(OutboundPolicy.ALL);
  });

  it("every option, as separate words", () => {
    const o = parseRunArgs([
      "--mtu", "1500", "--host-loopback", "-p", "8080:80", "-p", "[::1]:5353:53/udp",
      "--outbound", "10.0.0.0/8,fd00::/8", "--dns", "2001:DB8::53", "--pcap", "out.pcap", "--stats",
      "--", "sh", "-c", "exit 3",
    ]);
    expect(o.mtu).toBe(1500);
    expect(o.hostLoopback).toBe(true);
    expect(o.publish).toEqual([
      { hostIp: "127.0.0.1", hostPort: 8080, port: 80, protocol: "tcp" },
      { hostIp: "::1", hostPort: 5353, port: 53, protocol: "udp" },
    ]);
    expect(o.outbound.toString()).toBe("10.0.0.0/8,fd00::/8");
    expect(o.dns).toBe("2001:db8::53");
    expect(o.pcap).toBe("out.pcap");
    expect(o.stats).toBe(true);
    expect(o.command).toBe("sh");
    expect(o.args).toEqual(["-c", "exit 3"]);
  });

  it("every option with =, and the other spellings of -p", () => {
    const o = parseRunArgs([
      "--mtu=9000", "--publish=127.0.0.2:2222:22", "--publish", "1053:53/udp", "-p8443:443/tcp",
      "--outbound=none", "--dns=192.0.2.53", "--pcap=a=b.pcap", "--", "true",
    ]);
    expect(o.mtu).toBe(9000);
    expect(o.publish).toEqual([
      { hostIp: "127.0.0.2", hostPort: 2222, port: 22, protocol: "tcp" },
      { hostIp: "127.0.0.1", hostPort: 1053, port: 53, protocol: "udp" },
      { hostIp: "127.0.0.1", hostPort: 8443, port: 443, protocol: "tcp" },
    ]);
    expect(o.outbound).toBe(OutboundPolicy.NONE);
    expect(o.dns).toBe("192.0.2.53");
    expect(o.pcap).toBe("a=b.pcap");
  });

  it("the command starts at -- or at the first word not starting with -", () => {
    expect(parseRunArgs(["curl", "-v", "--", "x"])).toMatchObject({ command: "curl", args: ["-v", "--", "x"] });
    expect(parseRunArgs(["--stats", "curl", "--mtu", "1"])).toMatchObject({ stats: true, command: "curl", args: ["--mtu", "1"], mtu: 65520 });
    expect(parseRunArgs(["--", "--weird-name", "a"])).toMatchObject({ command: "--weird-name", args: ["a"] });
    expect(parseRunArgs(["--", "--"])).toMatchObject({ command: "--", args: [] });
    expect(parseRunArgs(["-", "x"])).toMatchObject({ command: "-", args: ["x"] });
    expect(parseRunArgs(["--", "cmd", ""])).toMatchObject({ command: "cmd", args: [""] });
    // a value that looks like an option is still the option's value
    expect(parseRunArgs(["--pcap", "-out", "cmd"])).toMatchObject({ pcap: "-out", command: "cmd" });
    // flags may repeat
    expect(parseRunArgs(["--stats", "--stats", "--host-loopback", "--host-loopback", "x"])).toMatchObject({ stats: true, hostLoopback: true });
  });

  it("--mtu: 1280..65535, decimal", () => {
    expect(parseRunArgs(["--mtu", "1280", "x"]).mtu).toBe(1280);
    expect(parseRunArgs(["--mtu", "65535", "x"]).mtu).toBe(65535);
    expect(parseRunArgs(["--mtu", "065520", "x"]).mtu).toBe(65520);
    for (const bad of ["1279", "65536", "0", "-1500", "+1500", "1500.0", "1e4", "0x500", " 1500", "1500 ", "", "abc", "9999999"]) {
      expect(usage(["--mtu", bad, "x"]), bad).toBe(`--mtu must be an integer in 1280..65535 (IPv6 needs at least 1280), got '${bad}'`);
    }
    expect(usage(["--mtu=", "x"])).toBe("--mtu must be an integer in 1280..65535 (IPv6 needs at least 1280), got ''");
  });

  it("missing values", () => {
    for (const opt of ["--mtu", "-p", "--publish", "--outbound", "--dns", "--pcap"]) {
      expect(usage([opt]), opt).toBe(`${opt} needs a value`);
      expect(usage([opt, "--", "x"]), opt).toBe(`${opt} needs a value`);
    }
    expect(usage(["--pcap="])).toBe("--pcap needs a file name");
    expect(usage(["--pcap", "", "x"])).toBe("--pcap needs a file name");
  });

  it("unknown options and flags given values", () => {
    expect(usage(["--foo", "x"])).toBe("unknown option '--foo' for run (see tsmio --help)");
    expect(usage(["--foo=1", "x"])).toBe("unknown option '--foo=1' for run (see tsmio --help)");
    expect(usage(["-x", "x"])).toBe("unknown option '-x' for run (see tsmio --help)");
    expect(usage(["--mtu1500", "x"])).toBe("unknown option '--mtu1500' for run (see tsmio --help)");
    expect(usage(["--MTU", "1500", "x"])).toBe("unknown option '--MTU' for run (see tsmio --help)");
    expect(usage(["---", "x"])).toBe("unknown option '---' for run (see tsmio --help)");
    expect(usage(["--help"])).toBe("unknown option '--help' for run (see tsmio --help)");
    expect(usage(["--stats=yes", "x"])).toBe("--stats takes no value");
    expect(usage(["--host-loopback=", "x"])).toBe("--host-loopback takes no value");
  });

  it("a value option given twice", () => {
    expect(usage(["--mtu", "1500", "--mtu=1500", "x"])).toBe("--mtu given more than once");
    expect(usage(["--outbound", "all", "--outbound", "none", "x"])).toBe("--outbound given more than once");
    expect(usage(["--dns", "192.0.2.1", "--dns", "192.0.2.2", "x"])).toBe("--dns given more than once");
    expect(usage(["--pcap", "a", "--pcap", "b", "x"])).toBe("--pcap given more than once");
  });

  it("no command", () => {
    const message = "no command to run: tsmio run [OPTIONS] [--] CMD ARGS... (see tsmio --help)";
    expect(usage([])).toBe(message);
    expect(usage(["--"])).toBe(message);
    expect(usage(["--stats"])).toBe(message);
    expect(usage(["--mtu", "1500", "--"])).toBe(message);
    expect(usage(["--", ""])).toBe(message);
    expect(usage([""])).toBe(message);
  });

  it("--outbound errors carry the policy's message", () => {
    expect(usage(["--outbound", "all,10.0.0.0/8", "x"])).toBe('--outbound: "all,10.0.0.0/8": all cannot be combined with prefixes');
    expect(usage(["--outbound", "10.0.0.1/8", "x"])).toBe('--outbound: "10.0.0.1/8" has host bits set: did you mean 10.0.0.0/8?');
    expect(usage(["--outbound", "10.0.0.0/33", "x"])).toBe(
      '--outbound: "10.0.0.0/33" is not an address or prefix: expected e.g. 10.0.0.0/8, fd00::/8 or 192.0.2.7',
    );
    expect(usage(["--outbound=", "x"])).toBe(
      "--outbound: empty outbound policy: expected all, none or a list such as 10.0.0.0/8,fd00::/8",
    );
  });

  it("--dns: one IPv4 or IPv6 address", () => {
    expect(parseRunArgs(["--dns", "::1", "x"]).dns).toBe("::1");
    expect(parseRunArgs(["--dns", "0:0::0:1", "x"]).dns).toBe("::1");
    for (const bad of ["dns.example", "192.0.2.1:53", "[::1]", "fe80::1%eth0", "192.0.2.1,192.0.2.2", "", "1.2.3"]) {
      expect(usage(["--dns", bad, "x"]), bad).toBe(`--dns '${bad}' is not an IP address`);
    }
  });
});

describe("-p", () => {
  it("host address forms", () => {
    expect(publish("80:8080")).toEqual([{ hostIp: "127.0.0.1", hostPort: 80, port: 8080, protocol: "tcp" }]);
    expect(publish("0.0.0.0:1:65535/udp")).toEqual([{ hostIp: "0.0.0.0", hostPort: 1, port: 65535, protocol: "udp" }]);
    expect(publish("[::]:65535:1")).toEqual([{ hostIp: "::", hostPort: 65535, port: 1, protocol: "tcp" }]);
    expect(publish("[0:0::1]:8080:80")).toEqual([{ hostIp: "::1", hostPort: 8080, port: 80, protocol: "tcp" }]);
    expect(publish("08080:080")).toEqual([{ hostIp: "127.0.0.1", hostPort: 8080, port: 80, protocol: "tcp" }]);
  });

  it("bad specs, each with its reason", () => {
    const form = "expected [IP:]HOSTPORT:PORT[/udp], e.g. 8080:80 or [::1]:5353:53/udp";
    const cases: [string, string][] = [
      ["8080", "wrong form"],
      ["", "wrong form"],
      ["a:b:c:d", "wrong form"],
      ["2001:db8::1:8080:80/udp", "an IPv6 address goes in brackets"],
      ["::1:8080:80", "an IPv6 address goes in brackets"],
      ["[::1]8080:80", "wrong form"],
      ["1.2.3.4:5:6:7", "wrong form"],
      ["localhost:8080:80", "'localhost' is not an IPv4 address"],
      ["[127.0.0.1]:8080:80", "'[127.0.0.1]' is not an IPv6 address"],
      ["[fe80::1%eth0]:8080:80", "'[fe80::1%eth0]' is not an IPv6 address"],
      ["[]:8080:80", "'[]' is not an IPv6 address"],
      [":8080:80", "'' is not an IPv4 address"],
      ["0:80", "host port '0' is not in 1..65535"],
      ["65536:80", "host port '65536' is not in 1..65535"],
      [":80", "host port '' is not in 1..65535"],
      ["-1:80", "host port '-1' is not in 1..65535"],
      ["8080:0", "port '0' is not in 1..65535"],
      ["8080:", "port '' is not in 1..65535"],
      ["8080:100000", "port '100000' is not in 1..65535"],
      ["8080:8 0", "port '8 0' is not in 1..65535"],
      ["8080:80/sctp", "protocol 'sctp' is neither tcp nor udp"],
      ["8080:80/UDP", "protocol 'UDP' is neither tcp nor udp"],
      ["8080:80/", "protocol '' is neither tcp nor udp"],
    ];
    for (const [spec, why] of cases) {
      expect(usage(["-p", spec, "x"]), spec).toBe(`invalid -p '${spec}': ${why}; ${form}`);
    }
  });

  it("two -p may not listen on the same host port and protocol", () => {
    const clash = (a: string, b: string): string => usage(["-p", a, "-p", b, "x"]);
    expect(clash("8080:80", "8080:81")).toBe("-p 127.0.0.1:8080/tcp clashes with -p 127.0.0.1:8080/tcp: both listen on host tcp port 8080");
    expect(clash("8080:80", "127.0.0.1:8080:80/tcp")).toMatch(/clashes/);
    expect(clash("[::1]:53:53/udp", "[0::1]:53:54/udp")).toBe("-p [::1]:53/udp clashes with -p [::1]:53/udp: both listen on host udp port 53");
    expect(clash("0.0.0.0:8080:80", "127.0.0.2:8080:80")).toBe("-p 127.0.0.2:8080/tcp clashes with -p 0.0.0.0:8080/tcp: both listen on host tcp port 8080");
    expect(clash("127.0.0.2:8080:80", "0.0.0.0:8080:80")).toMatch(/clashes/);
    expect(clash("[::]:8080:80", "127.0.0.1:8080:80")).toMatch(/clashes/);
    expect(clash("[::1]:8080:80", "[::]:8080:80")).toMatch(/clashes/);
    expect(clash("127.0.0.1:8080:80", "[::]:8080:80")).toMatch(/clashes/);
  });

  it("what does not clash: other protocol, other port, other address, same namespace port", () => {
    expect(publish("8080:80", "8080:80/udp")).toHaveLength(2);
    expect(publish("8080:80", "8081:80")).toHaveLength(2);
    expect(publish("127.0.0.1:8080:80", "127.0.0.2:8080:80")).toHaveLength(2);
    expect(publish("127.0.0.1:8080:80", "[::1]:8080:80")).toHaveLength(2);
    expect(publish("0.0.0.0:8080:80", "[::1]:8080:80")).toHaveLength(2);
    expect(publish("[::]:8080:80", "[::]:8080:80/udp")).toHaveLength(2);
  });

  it("any valid spec reads back what it says", () => {
    fc.assert(
      fc.property(
        fc.option(fc.constantFrom("127.0.0.1", "0.0.0.0", "192.0.2.1", "[::1]", "[2001:db8::1]"), { nil: undefined }),
        fc.integer({ min: 1, max: 65535 }),
        fc.integer({ min: 1, max: 65535 }),
        fc.constantFrom(undefined, "tcp", "udp"),
        (ip, hostPort, port, proto) => {
          const spec = `${ip === undefined ? "" : `${ip}:`}${hostPort}:${port}${proto === undefined ? "" : `/${proto}`}`;
          expect(publish(spec)).toEqual([
            { hostIp: (ip ?? "127.0.0.1").replace(/^\[|\]$/g, ""), hostPort, port, protocol: proto ?? "tcp" },
          ]);
        },
      ),
      { seed: 0x9090, numRuns: 200 },
    );
  });
});
