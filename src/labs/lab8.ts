/**
 * Lab 8: talking to the Linux kernel through a TUN device. In a fresh
 * network namespace the kernel's side of interface `tsmio8` is 10.8.0.1/24
 * and a Stack on the real clock answers at 10.8.0.2: the kernel's `ping`
 * (RFC 792) and a kernel TCP connection to a virtual listener (RFC 9293
 * §3.5) cross the interface, drawn packet by packet.
 */
import { execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { WOULD_BLOCK } from "../error.js";
import { kernel } from "../net/kernel.js";
import type { TcpStream } from "../net/network.js";
import { Events } from "../poll/event.js";
import { Poll } from "../poll/poll.js";
import { PcapTap, Tracer } from "../stack/iface/index.js";
import { Stack } from "../stack/stack.js";
import { enterFreshNetns, inNetns } from "../tun/netns.js";
import { TunDevice } from "../tun/tun-device.js";
import { SequenceDiagram } from "./diagram.js";
import type { Lab, LabOutput } from "./index.js";

const IFNAME = "tsmio8";
const KERNEL_ADDR = "10.8.0.1";
const STACK_ADDR = "10.8.0.2";
const PORT = 7;
/** Wall-clock bound of each step (ping, connect, exchange). */
const STEP_MS = 10_000;

/**
 * Why a fresh network namespace with a TUN device cannot be made here (not
 * root, or no /dev/net/tun), or null when it can: tries both, then undoes them.
 */
export function tunUnavailable(): string | null {
  let restore: (() => void) | null = null;
  try {
    restore = enterFreshNetns();
    new TunDevice().close();
    return null;
  } catch (e) {
    return `needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) and /dev/net/tun: ${(e as Error).message}`;
  } finally {
    restore?.();
  }
}

/** Runs the lab. */
async function run(out: LabOutput): Promise<void> {
  out.line("Lab 8 — talking to the Linux kernel through a TUN device");
  const why = tunUnavailable();
  if (why !== null) {
    out.line(`lab 8 cannot run here: ${why}`);
    return;
  }
  const pcap = join(out.dir, "lab8.pcap");
  await inNetns(() => inNamespace(out, pcap));
  out.line("");
  out.line(`pcap written to ${pcap} (open it in Wireshark)`);
}

/** The lab proper, in its own network namespace. */
async function inNamespace(out: LabOutput, pcap: string): Promise<void> {
  const tun = new TunDevice({ name: IFNAME, mtu: 1500, offload: false });
  const poll = new Poll();
  const tap = new PcapTap(tun, pcap);
  const diagram = new SequenceDiagram("stack", "kernel", out.line);
  let t0: number | null = null;
  const stamp = (t: number): number => t - (t0 ??= t);
  const device = new Tracer(tap, (direction, packet, timeMs) => diagram.trace(direction, packet, stamp(timeMs)));
  const stack = new Stack({ poll, device, addresses: [`${STACK_ADDR}/24`], seed: 8 });
  const events = new Events(64);
  /** Runs the Poll (and so the Stack) until `done()` holds or `limitMs` pass. */
  const until = async (done: () => boolean, limitMs = STEP_MS): Promise<boolean> => {
    const end = Date.now() + limitMs;
    while (!done()) {
      if (Date.now() > end) return false;
      await poll.pollAsync(events, 10);
    }
    return true;
  };
  try {
    tun.configure({ addresses: [`${KERNEL_ADDR}/24`], up: true });
    stack.on("tcp-state", (e) => out.line(`${"".padStart(13)}  stack: ${e.from} → ${e.to}  (${e.local} ↔ ${e.remote})`));
    out.line(`a fresh network namespace; interface ${IFNAME}: kernel side ${KERNEL_ADDR}/24, the Stack at ${STACK_ADDR}`);
    out.line("each line: time since the first packet, direction as seen by the Stack, the packet");
    out.line("");
    out.line(`== Part 1: the kernel's ping to the Stack (ping -c 2 ${STACK_ADDR}) ==`);
    await ping(out, until);
    out.line("");
    out.line(`== Part 2: a kernel TCP socket connects to a virtual listener at ${STACK_ADDR}:${PORT} ==`);
    await tcp(out, stack, until);
    out.line("");
    out.line(`== Part 3: the kernel's view of ${IFNAME} (ip -s link show ${IFNAME}) ==`);
    const shown = execFileSync("ip", ["-s", "link", "show", IFNAME], { encoding: "utf8" });
    for (const l of shown.trimEnd().split("\n")) out.line(`  ${l}`);
  } finally {
    stack.close();
    tap.close();
    tun.close();
  }
}

/** Runs `ping` (started inside the namespace, so it lives there too) while the Stack answers. */
async function ping(out: LabOutput, until: (done: () => boolean, limitMs?: number) => Promise<boolean>): Promise<void> {
  const child = spawn("ping", ["-n", "-c", "2", "-i", "0.2", "-W", "2", STACK_ADDR], { stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  let ended = false;
  child.stdout.setEncoding("utf8").on("data", (d: string) => (text += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (text += d));
  child.on("error", (e) => {
    text += `ping: ${e.message}\n`;
    ended = true;
  });
  child.on("close", () => (ended = true));
  if (!(await until(() => ended))) child.kill("SIGKILL");
  for (const l of text.split("\n")) if (l.trim() !== "") out.line(`  ping says: ${l}`);
}

/** A kernel socket connects to a virtual listener; a line each way; both close. */
async function tcp(out: LabOutput, stack: Stack, until: (done: () => boolean, limitMs?: number) => Promise<boolean>): Promise<void> {
  const listener = stack.tcpBind(`${STACK_ADDR}:${PORT}`);
  const client = kernel.tcpConnect(`${STACK_ADDR}:${PORT}`);
  let server: TcpStream | null = null;
  try {
    const accepted = await until(() => {
      const r = listener.accept();
      if (r !== WOULD_BLOCK) server = r[0];
      return server !== null;
    });
    listener.close();
    if (!accepted || server === null) throw new Error("lab 8: the kernel's connection was not accepted");
    const srv: TcpStream = server;
    out.line(`${"".padStart(13)}  kernel socket ${client.localAddr()} connected to the Stack's ${srv.localAddr()}`);
    const hello = new TextEncoder().encode("hello from the kernel\n");
    await until(() => client.write(hello) !== WOULD_BLOCK);
    const got = await readLine(srv, until);
    out.line(`${"".padStart(13)}  the Stack read: ${JSON.stringify(got)}`);
    srv.write(new TextEncoder().encode(got.toUpperCase()));
    const back = await readLine(client, until);
    out.line(`${"".padStart(13)}  the kernel read: ${JSON.stringify(back)}`);
    out.line(`${"".padStart(13)}  the kernel closes first, then the Stack`);
    client.shutdown("write");
    const eof = new Uint8Array(16);
    await until(() => srv.read(eof) === 0);
    srv.shutdown("write");
    await until(() => client.read(eof) === 0);
    await until(() => false, 200);
  } finally {
    client.close();
    (server as TcpStream | null)?.close();
  }
}

/** Reads from `s` up to and including the first newline (or end of file). */
async function readLine(s: TcpStream, until: (done: () => boolean, limitMs?: number) => Promise<boolean>): Promise<string> {
  const buf = new Uint8Array(256);
  let text = "";
  await until(() => {
    const r = s.read(buf);
    if (r === WOULD_BLOCK) return false;
    text += new TextDecoder().decode(buf.subarray(0, r));
    return r === 0 || text.includes("\n");
  });
  return text;
}

/** Lab 8. */
export const lab8: Lab = { title: "Talking to the Linux kernel through a TUN device", run };
