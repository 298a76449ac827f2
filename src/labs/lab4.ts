/**
 * Lab 4: the TCP handshake and teardown, every state (RFC 9293 §3.3.2,
 * §3.5, §3.6). Two connections between hosts `a` and `b`: one where `a`
 * closes first, one where both close at once.
 */
import { join } from "node:path";
import { WOULD_BLOCK } from "../error.js";
import type { VirtualTcpStream } from "../stack/tcp/socket.js";
import { A_ADDR, B_ADDR, type TwoHosts, twoHosts } from "./two-hosts.js";
import type { Lab, LabOutput } from "./index.js";

/** TIME-WAIT shortened from 60 s so the lab shows its end. */
const TIME_WAIT_MS = 2000;

/** Runs the lab. */
async function run(out: LabOutput): Promise<void> {
  const pcap = join(out.dir, "lab4.pcap");
  const net = twoHosts(out.line, pcap, { tcp: { timeWaitMs: TIME_WAIT_MS } });
  try {
    out.line("Lab 4 — the TCP handshake and teardown, every state");
    out.line(`host a = ${A_ADDR}, host b = ${B_ADDR}; link delay 1 ms each way; TIME-WAIT ${TIME_WAIT_MS} ms`);
    out.line("");
    out.line("== Part 1: passive open, active open, data, a closes first ==");
    await activeCloseFirst(out, net, 80);
    out.line("");
    out.line("== Part 2: simultaneous close (both FINs cross on the wire) ==");
    await simultaneousClose(out, net, 81);
    out.line("");
    out.line(`pcap written to ${pcap} (open it in Wireshark)`);
  } finally {
    net.close();
  }
}

/** A connection from a to b on `port`, both ends established. */
function connect(out: LabOutput, net: TwoHosts, port: number): { client: VirtualTcpStream; server: VirtualTcpStream } {
  const listener = net.b.tcpBind(`${B_ADDR}:${port}`);
  out.line(`${net.clock.now().toFixed(3).padStart(10)} ms  b: CLOSED → LISTEN  (listener bound to ${B_ADDR}:${port})`);
  const client = net.a.tcpConnect(`${B_ADDR}:${port}`);
  const accepted: VirtualTcpStream[] = [];
  net.until(() => {
    const r = listener.accept();
    if (r !== WOULD_BLOCK) accepted.push(r[0]);
    return accepted.length > 0;
  });
  listener.close();
  const server = accepted[0];
  if (server === undefined) throw new Error("lab 4: the handshake did not complete");
  return { client, server };
}

async function activeCloseFirst(out: LabOutput, net: TwoHosts, port: number): Promise<void> {
  const { client, server } = connect(out, net, port);
  client.write(new TextEncoder().encode("hello, b"));
  const buf = new Uint8Array(100);
  let n = 0;
  net.until(() => {
    const r = server.read(buf);
    if (r !== WOULD_BLOCK) n = r;
    return r !== WOULD_BLOCK;
  });
  out.line(`           b read ${n} bytes: "${new TextDecoder().decode(buf.subarray(0, n))}"`);
  net.run(100);
  out.line("           a closes its side (shutdown write → FIN)");
  client.shutdown("write");
  net.run(100);
  out.line("           b reads end of file (0), then closes too");
  net.until(() => server.read(buf) === 0);
  server.shutdown("write");
  net.run(TIME_WAIT_MS + 500);
  client.close();
  server.close();
}

async function simultaneousClose(out: LabOutput, net: TwoHosts, port: number): Promise<void> {
  const { client, server } = connect(out, net, port);
  net.run(100);
  out.line("           a and b both close at the same instant");
  client.shutdown("write");
  server.shutdown("write");
  net.run(TIME_WAIT_MS + 500);
  client.close();
  server.close();
}

/** Lab 4. */
export const lab4: Lab = { title: "The TCP handshake and teardown, every state", run };
