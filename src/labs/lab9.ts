/**
 * Lab 9: a tiny container network with `tsmio run`. `curl` runs in a network
 * namespace of its own whose only interface is a TUN device held by tsmio;
 * it fetches a page from a web server this lab starts on the host's
 * 127.0.0.1, reached as 10.0.2.2 (`--host-loopback`). The command's output,
 * tsmio's flow statistics and a summary of the capture are printed.
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Lab, LabOutput } from "./index.js";
import { tunUnavailable } from "./lab8.js";

/** The page the host's web server returns. */
const PAGE = "hello from the host's 127.0.0.1\n";
/** Wall-clock bound of the whole `tsmio run`. */
const RUN_MS = 15_000;

/** How to start the `tsmio` CLI with this Node: from source, or the built bundle beside this one. */
function cliArgv(): string[] {
  const here = import.meta.url;
  if (here.endsWith(".ts")) {
    return ["--import", fileURLToPath(new URL("../../scripts/ts-loader.mjs", here)), fileURLToPath(new URL("../cli/main.ts", here))];
  }
  // the built bundles (dist/index.js, dist/cli.js) sit side by side
  return [fileURLToPath(new URL("./cli.js", here))];
}

/** Runs the lab. */
async function run(out: LabOutput): Promise<void> {
  out.line("Lab 9 — a tiny container network with tsmio run");
  const why = tunUnavailable();
  if (why !== null) {
    out.line(`lab 9 cannot run here: ${why}`);
    return;
  }
  if (spawnSync("curl", ["--version"], { stdio: "ignore" }).error !== undefined) {
    out.line("lab 9 cannot run here: it needs curl on the PATH");
    return;
  }
  const pcap = join(out.dir, "lab9.pcap");
  const server = createServer((_req, res) => res.end(PAGE));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  try {
    const port = (server.address() as AddressInfo).port;
    await fetchInSandbox(out, port, pcap);
  } finally {
    await closeServer(server);
  }
}

/** Closes `server`, not waiting for idle keep-alive connections. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

async function fetchInSandbox(out: LabOutput, port: number, pcap: string): Promise<void> {
  const url = `http://10.0.2.2:${port}/`;
  const args = ["run", "--host-loopback", "--pcap", pcap, "--stats", "--", "curl", "-sS", url];
  out.line(`the host's web server listens on 127.0.0.1:${port}`);
  out.line(`$ tsmio ${args.join(" ")}`);
  out.line("");
  const r = await runCli(args);
  out.line(`== what curl printed (exit status ${r.code}) ==`);
  for (const l of r.stdout.trimEnd().split("\n")) out.line(`  ${l}`);
  out.line("");
  out.line("== what tsmio printed on stderr (--stats: one line per flow) ==");
  for (const l of r.stderr.trimEnd().split("\n")) out.line(`  ${l}`);
  out.line("");
  out.line("== the capture, seen at the TUN device ==");
  for (const l of summarize(readFileSync(pcap))) out.line(`  ${l}`);
  out.line("");
  out.line("== the addresses ==");
  out.line("  10.0.2.100  the sandbox's own address, on its only interface tsmio0 (a TUN device)");
  out.line("  10.0.2.2    the gateway: tsmio's userspace stack, the default route of the sandbox;");
  out.line("              with --host-loopback, connections to 10.0.2.2:PORT are relayed to the host's 127.0.0.1:PORT");
  out.line("  10.0.2.3    the DNS server in the sandbox's resolv.conf: tsmio forwards its queries to the host's");
  out.line("              nameservers (or to the one given with --dns)");
  out.line("");
  out.line(`pcap written to ${pcap} (open it in Wireshark)`);
}

/** How the `tsmio` child ended. */
interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `tsmio ARGS` to its end (killed after {@link RUN_MS}). */
function runCli(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...cliArgv(), ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), RUN_MS);
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: `${stderr}${e.message}\n` });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A few lines about a LINKTYPE_RAW pcap: packets, and TCP SYNs, SYN-ACKs and FINs (IPv4 only). */
export function summarize(file: Uint8Array): string[] {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (file.length < 24 || view.getUint32(0, true) !== 0xa1b2c3d4) return ["not a pcap file"];
  let packets = 0;
  let syn = 0;
  let synAck = 0;
  let fin = 0;
  for (let at = 24; at + 16 <= file.length; ) {
    const caplen = view.getUint32(at + 8, true);
    const p = file.subarray(at + 16, at + 16 + caplen);
    at += 16 + caplen;
    packets++;
    if (p.length < 20 || p[0]! >> 4 !== 4 || p[9] !== 6) continue;
    const tcp = p.subarray((p[0]! & 0x0f) * 4);
    if (tcp.length < 20) continue;
    const flags = tcp[13]!;
    if ((flags & 0x02) !== 0) {
      if ((flags & 0x10) !== 0) synAck++;
      else syn++;
    }
    if ((flags & 0x01) !== 0) fin++;
  }
  return [`${packets} packets; TCP: ${syn} SYN, ${synAck} SYN-ACK, ${fin} FIN`];
}

/** Lab 9. */
export const lab9: Lab = { title: "A tiny container network with tsmio run", run };
