/**
 * tshark checks what crosses a TUN device between the kernel and a Stack:
 * the test captures on the interface (`tshark -i tsmio0`) while it drives a
 * mix of traffic through it — TCP handshakes, data both ways and both orders
 * of closing, with the Stack as server and as client, IPv4 and IPv6; resets;
 * UDP datagrams both ways (fragmented ones too) and ICMP port unreachable;
 * kernel pings, plain and fragmented — and then reads the capture back.
 *
 * Nothing may be malformed, and every packet the Stack sent must have good
 * checksums and no TCP analysis finding that blames its sender ("ACKed
 * unseen segment", "previous segment not captured"). Every expert warning in
 * the capture must be one of the resets the test caused. The kernel's TCP and
 * UDP checksums are not judged: with checksum offload on the TUN device, the
 * kernel leaves them to the reader, so the capture holds them unfinished.
 * Controls: copies of the capture with one of the Stack's packets damaged,
 * and with one of the kernel's data segments cut out, are flagged.
 *
 * Runs in a private network namespace (skipped without the privileges, or
 * without tshark; failing instead when `CI` is set).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Events,
  Interest,
  Poll,
  Stack,
  TcpListener,
  TcpStream,
  Token,
  TunDevice,
  UdpSocket,
  WOULD_BLOCK,
  type SocketAddr,
} from "../../src/index.js";
import type { TcpListener as Listener, TcpStream as Stream, UdpSocket as Udp } from "../../src/net/network.js";
import { pattern, same, tempDir } from "../stack/helpers.js";
import { netnsSuite, runChild, type ChildResult, KERNEL4, KERNEL6, STACK4, STACK6 } from "../support/netns.js";
import { readPcap } from "../support/pcap.js";
import { expert, frames, hasTshark, matching, tshark } from "../support/tshark.js";

const IFACE = "tsmio0";
/** Display filter: packets the Stack sent. */
const FROM_STACK = `(ip.src == ${STACK4} || ipv6.src == ${STACK6})`;
/** Bytes each way on every TCP connection. */
const TCP_BYTES = 200_000;

const inCi = Boolean(process.env.CI);
if (!hasTshark && !inCi) console.warn("tshark not found: skipping test/tun/tshark-tun.test.ts (apt-get install tshark; fails when CI is set)");

let tun: TunDevice;
let poll: Poll;
let stack: Stack;
let capture: Capture;
const events = new Events(256);
/** The captures' directory, made on first use (a skipped suite leaves nothing behind). */
let dir: ReturnType<typeof tempDir> | null = null;
const workFile = (name: string): string => (dir ??= tempDir("tsmio-tshark-tun-")).file(name);
afterAll(() => dir?.remove());

/** `"ip:port"` for either family. */
function hostPort(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** A scope for sockets: `own(x)` keeps `x`, `closeAll()` (in a `finally`) closes them newest first. */
function scoped(): { own<T extends { close(): void }>(x: T): T; closeAll(): void } {
  const open: Array<{ close(): void }> = [];
  return {
    own: (x) => (open.push(x), x),
    closeAll: () => {
      for (const x of open.splice(0).reverse()) x.close();
    },
  };
}

// ---- the capture -------------------------------------------------------------

/** A running `tshark -i tsmio0 -w FILE`, printing a line per packet. */
interface Capture {
  child: ChildProcess;
  lines: number;
  stderr: string;
  exited: Promise<number | null>;
}

/** Starts tshark on the TUN interface, writing classic pcap (`-F pcap`) and a summary line per packet. */
function startCapture(file: string): Capture {
  const child = spawn("tshark", ["-n", "-l", "-P", "-i", IFACE, "-B", "16", "-F", "pcap", "-w", file], { stdio: ["ignore", "pipe", "pipe"] });
  const c: Capture = {
    child,
    lines: 0,
    stderr: "",
    exited: new Promise((resolve) => child.on("close", (code) => resolve(code))),
  };
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (c.lines += d.split("\n").length - 1));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (c.stderr += d));
  return c;
}

/**
 * Waits until tshark sees packets: marker datagrams from the kernel to a
 * virtual socket, one every 100 ms, until the capture prints one.
 */
async function captureLive(c: Capture, limitMs = 15_000): Promise<void> {
  const { own, closeAll } = scoped();
  try {
    const k = own(UdpSocket.bind(`${KERNEL4}:0`));
    const v = own(stack.udpBind(`${STACK4}:0`));
    const end = Date.now() + limitMs;
    const buf = new Uint8Array(64);
    for (let i = 0; c.lines === 0; i++) {
      if (Date.now() > end || c.child.exitCode !== null) throw new Error(`tshark did not start capturing: ${c.stderr}`);
      if (i % 5 === 0) k.sendTo(new TextEncoder().encode("marker"), v.localAddr());
      await poll.pollAsync(events, 20);
      while (v.recvFrom(buf) !== WOULD_BLOCK);
    }
  } finally {
    closeAll();
  }
}

/** Stops tshark (SIGINT lets it finish the file) and waits for it, bounded. */
async function stopCapture(c: Capture): Promise<void> {
  if (c.child.exitCode !== null) return;
  c.child.kill("SIGINT");
  const timer = setTimeout(() => c.child.kill("SIGKILL"), 10_000);
  await c.exited;
  clearTimeout(timer);
}

// ---- driving -------------------------------------------------------------------

/** Keeps the Poll (and so the Stack) running until the child exits. */
async function pollWhile(child: Promise<ChildResult>, limitMs = 15_000): Promise<ChildResult> {
  let result: ChildResult | null = null;
  let failure: unknown = null;
  child.then(
    (r) => (result = r),
    (e: unknown) => (failure = e ?? new Error("child failed")),
  );
  const end = Date.now() + limitMs;
  while (result === null && failure === null) {
    if (Date.now() > end) throw new Error(`child still running after ${limitMs} ms`);
    await poll.pollAsync(events, 20);
  }
  if (failure !== null) throw failure;
  return result!;
}

/** Polls until `done()` holds (at most `limitMs`), calling `step()` after every poll. */
function pollUntil(what: string, done: () => boolean, step: () => void = () => {}, limitMs = 10_000): void {
  const end = Date.now() + limitMs;
  for (let round = 0; !done(); round++) {
    if (Date.now() > end || round > 1_000_000) throw new Error(`${what}: not done within ${limitMs} ms`);
    poll.poll(events, 50);
    step();
  }
}

/** One end of a TCP exchange: sends `out`, reads until end of stream, checking against `expected`. */
interface End {
  name: string;
  stream: Stream;
  out: Uint8Array;
  expected: Uint8Array;
  sent: number;
  received: number;
  eof: boolean;
  shut: boolean;
  /** shuts down its write half as soon as it has sent everything (else only after the peer's end of stream) */
  closesFirst: boolean;
}

const tmp = new Uint8Array(64 * 1024);

/** Moves what can move on `e` without blocking. */
function pump(e: End): void {
  while (e.sent < e.out.length) {
    const n = e.stream.write(e.out.subarray(e.sent, Math.min(e.out.length, e.sent + 65536)));
    if (n === WOULD_BLOCK) break;
    e.sent += n;
  }
  while (!e.eof) {
    const n = e.stream.read(tmp);
    if (n === WOULD_BLOCK) break;
    if (n === 0) {
      e.eof = true;
      break;
    }
    if (e.received + n > e.expected.length || !same(tmp.subarray(0, n), e.expected.subarray(e.received, e.received + n))) {
      throw new Error(`${e.name}: bytes ${e.received}..${e.received + n} differ from what the peer sent`);
    }
    e.received += n;
  }
  if (!e.shut && e.sent === e.out.length && (e.closesFirst || e.eof)) {
    e.stream.shutdown("write");
    e.shut = true;
  }
}

/**
 * A TCP connection through the TUN: `server` listens (the kernel or the
 * Stack), the other side connects; both send TCP_BYTES, and `first` shuts
 * down its write half first (the other after reading the end of stream).
 */
function tcpExchange(server: "stack" | "kernel", family: 4 | 6, first: "client" | "server"): void {
  const { own, closeAll } = scoped();
  try {
    const serverIp = server === "stack" ? (family === 4 ? STACK4 : STACK6) : family === 4 ? KERNEL4 : KERNEL6;
    const listener: Listener = own(server === "stack" ? stack.tcpBind(hostPort(serverIp, 0)) : TcpListener.bind(hostPort(serverIp, 0)));
    const up = pattern(TCP_BYTES, family * 10 + 1);
    const down = pattern(TCP_BYTES, family * 10 + 2);
    const stream = own(server === "stack" ? TcpStream.connect(listener.localAddr()) : stack.tcpConnect(listener.localAddr()));
    const client: End = { name: "client", stream, out: up, expected: down, sent: 0, received: 0, eof: false, shut: false, closesFirst: first === "client" };
    let accepted: End | null = null;
    poll.registry().register(listener, Token(1), Interest.READABLE);
    poll.registry().register(stream, Token(2), Interest.READABLE.add(Interest.WRITABLE));
    const done = (): boolean => accepted !== null && client.eof && accepted.eof && client.shut && accepted.shut;
    pollUntil(`TCP ${server} server IPv${family}, ${first} closes first`, done, () => {
      if (accepted === null) {
        const r = listener.accept();
        if (r !== WOULD_BLOCK) {
          own(r[0]);
          accepted = { name: "server", stream: r[0], out: down, expected: up, sent: 0, received: 0, eof: false, shut: false, closesFirst: first === "server" };
          poll.registry().register(r[0], Token(3), Interest.READABLE.add(Interest.WRITABLE));
        }
      }
      expect(stream.takeError()).toBeNull();
      pump(client);
      if (accepted !== null) pump(accepted);
    });
    expect(client.received).toBe(TCP_BYTES);
    expect(accepted!.received).toBe(TCP_BYTES);
    // let the last ACKs cross before the sockets close
    poll.poll(events, 50);
  } finally {
    closeAll();
  }
}

/** Refused connects both ways, and an abort: the Stack closes a socket with unread data. */
function tcpResets(family: 4 | 6): void {
  const { own, closeAll } = scoped();
  try {
    const stackIp = family === 4 ? STACK4 : STACK6;
    const kernelIp = family === 4 ? KERNEL4 : KERNEL6;
    // ports just given back: nobody listens there
    const gone = (l: Listener): SocketAddr => {
      const a = l.localAddr();
      l.close();
      return a;
    };
    const toStack = own(TcpStream.connect(gone(stack.tcpBind(hostPort(stackIp, 0)))));
    const toKernel = own(stack.tcpConnect(gone(TcpListener.bind(hostPort(kernelIp, 0)))));
    const refused = new Set<string>();
    pollUntil("connections refused", () => refused.size === 2, () => {
      if (toStack.takeError()?.code === "ECONNREFUSED") refused.add("kernel's connect");
      if (toKernel.takeError()?.code === "ECONNREFUSED") refused.add("Stack's connect");
    });

    const listener = own(TcpListener.bind(hostPort(kernelIp, 0)));
    const client = own(stack.tcpConnect(listener.localAddr()));
    let server: Stream | null = null;
    pollUntil("accepted", () => server !== null, () => {
      const r = listener.accept();
      if (r !== WOULD_BLOCK) server = own(r[0]);
    });
    expect(server!.write(new Uint8Array([1, 2, 3]))).toBe(3);
    pollUntil("data at the Stack", () => client.peek(new Uint8Array(1)) !== WOULD_BLOCK);
    client.close();
    let code: string | undefined;
    pollUntil("reset seen by the kernel", () => code !== undefined, () => {
      try {
        server!.read(new Uint8Array(8));
      } catch (e) {
        code = (e as { code?: string }).code;
      }
    });
    expect(code).toBe("ECONNRESET");
  } finally {
    closeAll();
  }
}

/**
 * UDP between a kernel socket and a virtual one, both ways, 0 to 9000 bytes
 * (above 1472/1452 bytes fragmented); then each side sends to a closed port
 * of the other and hears of it (ICMP port unreachable).
 */
function udpExchange(family: 4 | 6): void {
  const { own, closeAll } = scoped();
  try {
    const kernelIp = family === 4 ? KERNEL4 : KERNEL6;
    const stackIp = family === 4 ? STACK4 : STACK6;
    const k: Udp = own(UdpSocket.bind(hostPort(kernelIp, 0)));
    const v: Udp = own(stack.udpBind(hostPort(stackIp, 0)));
    poll.registry().register(k, Token(1), Interest.READABLE);
    poll.registry().register(v, Token(2), Interest.READABLE);
    const buf = new Uint8Array(10_000);
    const receive = (sock: Udp, what: string): [number, SocketAddr] => {
      let r: [number, SocketAddr] | typeof WOULD_BLOCK = WOULD_BLOCK;
      pollUntil(what, () => r !== WOULD_BLOCK, () => (r = sock.recvFrom(buf)));
      return r as unknown as [number, SocketAddr];
    };
    for (const [i, size] of [0, 1, 100, 1200, 1472, 3000, 9000].entries()) {
      const out = pattern(size, i);
      expect(k.sendTo(out, v.localAddr())).toBe(size);
      const [n, from] = receive(v, `${size}-byte datagram at the Stack`);
      expect(same(buf.subarray(0, n), out), `${size}-byte datagram intact at the Stack`).toBe(true);
      expect(from.toString()).toBe(k.localAddr().toString());
      const back = pattern(size, i + 50);
      expect(v.sendTo(back, from)).toBe(size);
      const [n2] = receive(k, `${size}-byte datagram at the kernel`);
      expect(same(buf.subarray(0, n2), back), `${size}-byte datagram intact at the kernel`).toBe(true);
    }
    const deadStack = stack.udpBind(hostPort(stackIp, 0));
    const deadKernel = UdpSocket.bind(hostPort(kernelIp, 0));
    const toStack = deadStack.localAddr();
    const toKernel = deadKernel.localAddr();
    deadStack.close();
    deadKernel.close();
    k.connect(toStack);
    v.connect(toKernel);
    expect(k.send(pattern(10))).toBe(10);
    expect(v.send(pattern(10))).toBe(10);
    const refused = new Set<string>();
    pollUntil("port unreachable at both ends", () => refused.size === 2, () => {
      if (k.takeError()?.code === "ECONNREFUSED") refused.add("kernel");
      if (v.takeError()?.code === "ECONNREFUSED") refused.add("stack");
    });
  } finally {
    closeAll();
  }
}

// ---- the suite -------------------------------------------------------------------

netnsSuite("tshark checks the traffic through a TUN device", () => {
  for (const offload of [false, true]) {
    describe.skipIf(!hasTshark && !inCi)(`capture on ${IFACE}, offloads ${offload ? "on" : "off"}`, () => {
      let pcapFile = "";

      beforeAll(async () => {
        expect(hasTshark, "tshark is missing: .ci/run must `apt-get install -y tshark`").toBe(true);
        pcapFile = workFile(`tun-offload-${offload ? "on" : "off"}.pcap`);
        tun = new TunDevice({ name: IFACE, mtu: 1500, offload });
        tun.configure({ addresses: [`${KERNEL4}/24`, `${KERNEL6}/64`], up: true });
        poll = new Poll();
        stack = new Stack({ poll, device: tun, addresses: [`${STACK4}/24`, `${STACK6}/64`] });
        capture = startCapture(pcapFile);
        await captureLive(capture);
      }, 30_000);

      afterAll(async () => {
        if (capture) await stopCapture(capture);
        stack?.close();
        tun?.close();
        poll?.close();
      });

      for (const server of ["stack", "kernel"] as const) {
        for (const family of [4, 6] as const) {
          for (const first of ["client", "server"] as const) {
            it(`TCP, ${server} listening, IPv${family}: handshake, ${TCP_BYTES} bytes each way, the ${first} closes first`, () => {
              tcpExchange(server, family, first);
            });
          }
        }
      }

      for (const family of [4, 6] as const) {
        it(`TCP resets, IPv${family}: a closed port on either side; a Stack socket closed with unread data`, () => {
          tcpResets(family);
        });

        it(`UDP, IPv${family}: datagrams both ways (0 to 9000 bytes, fragmented ones too), port unreachable both ways`, () => {
          udpExchange(family);
        });

        it(`ICMP echo, IPv${family}: the kernel pings the Stack, plain and fragmented`, async () => {
          const target = family === 4 ? STACK4 : STACK6;
          for (const size of [56, 3000]) {
            const args = [...(family === 6 ? ["-6"] : []), "-c", "3", "-i", "0.2", "-W", "2", "-s", String(size), target];
            const r = await pollWhile(runChild("ping", args));
            expect(r.stdout, r.stderr).toMatch(/3 packets transmitted, 3 received/);
          }
        });
      }

      describe("the capture", () => {
        beforeAll(async () => {
          await stopCapture(capture);
          expect(capture.stderr, "tshark dropped no packet").not.toMatch(/[1-9]\d* packets? dropped/);
        }, 30_000);

        it("holds the traffic: TCP, UDP (fragmented too), ICMP echo and port unreachable, both families", () => {
          const rows = frames(pcapFile);
          const seen = (p: string): number => rows.filter((f) => f.protocols.includes(p)).length;
          expect(rows.length).toBeGreaterThan(200);
          expect(seen("ip:tcp")).toBeGreaterThan(50);
          expect(seen("ipv6:tcp")).toBeGreaterThan(50);
          expect(seen("ip:udp")).toBeGreaterThan(10);
          expect(seen("ipv6:udp")).toBeGreaterThan(10);
          expect(seen("ip:icmp:data")).toBeGreaterThan(0);
          expect(seen("ipv6:icmpv6:data")).toBeGreaterThan(0);
          expect(seen("ip:icmp:ip:udp")).toBeGreaterThan(0);
          expect(seen("ipv6:icmpv6:ipv6:udp")).toBeGreaterThan(0);
          expect(matching(pcapFile, `${FROM_STACK} && ip.flags.mf == 1`).length, "IPv4 fragments sent by the Stack").toBeGreaterThan(0);
          expect(matching(pcapFile, `${FROM_STACK} && ipv6.fraghdr`).length, "IPv6 fragments sent by the Stack").toBeGreaterThan(0);
        });

        it("the Stack sets DF where the kernel does: on every IPv4 TCP segment and unfragmented UDP datagram", () => {
          for (const from of [`ip.src == ${KERNEL4}`, `ip.src == ${STACK4}`]) {
            const own = `${from} && !icmp`;
            expect(matching(pcapFile, `${own} && tcp`).length, from).toBeGreaterThan(20);
            expect(matching(pcapFile, `${own} && udp && ip.flags.mf == 0 && ip.frag_offset == 0`).length, from).toBeGreaterThan(5);
            expect(matching(pcapFile, `${own} && (tcp || (udp && ip.flags.mf == 0 && ip.frag_offset == 0)) && ip.flags.df == 0`), from).toEqual([]);
          }
        });

        it("nothing is malformed", () => {
          expect(matching(pcapFile, "_ws.malformed")).toEqual([]);
          expect(expert(pcapFile).text).not.toMatch(/Malformed/);
        });

        it(offload ? "checksums are good where the capture holds them finished: IPv4 headers, ICMP, the Stack's UDP" : "every checksum is good: IPv4, TCP, UDP, ICMP, ICMPv6, the Stack's and the kernel's", () => {
          const bad = ["ip.checksum.status == 0", "icmp.checksum.status == 0", "icmpv6.checksum.status == 0"];
          // with offloads, TCP/UDP checksums of the kernel's packets and of the Stack's joined TCP segments are left to the device
          if (offload) bad.push(`(${FROM_STACK} && udp.checksum.status == 0)`);
          else bad.push("tcp.checksum.status == 0", "udp.checksum.status == 0");
          expect(matching(pcapFile, bad.join(" || "))).toEqual([]);
          if (!offload) expect(matching(pcapFile, `${FROM_STACK} && tcp.checksum.status == 1`).length).toBeGreaterThan(50);
          expect(matching(pcapFile, `${FROM_STACK} && udp.checksum.status == 1`).length).toBeGreaterThan(5);
        });

        it("no TCP analysis finding blames the Stack: no ACK of an unseen segment, no gap in what it sent", () => {
          expect(matching(pcapFile, `${FROM_STACK} && (tcp.analysis.ack_lost_segment || tcp.analysis.lost_segment)`)).toEqual([]);
        });

        it("every expert warning or error is a reset the test caused (or, with offloads, an unfinished TCP/UDP checksum)", () => {
          const findings = expertFindings(pcapFile);
          const unexpected = findings.filter(
            (f) => !(f.message === "Connection reset (RST)" || (offload && f.message.startsWith("Bad checksum") && (f.protocols.includes(":tcp") || f.protocols.includes(":udp")))),
          );
          expect(unexpected).toEqual([]);
          // 2 refused connects and 1 abort per family, each a RST
          expect(findings.filter((f) => f.message === "Connection reset (RST)").length).toBeGreaterThanOrEqual(6);
        });

        if (!offload) {
          it("control: a copy with one byte of a Stack TCP segment damaged, and a kernel data segment cut out, is flagged", () => {
            const { header, records } = readPcap(new Uint8Array(readFileSync(pcapFile)));
            expect(header.linktype, "raw IP capture").toBe(101);
            const isTcp4From = (d: Uint8Array, last: number): boolean => d[0]! >> 4 === 4 && d[9] === 6 && d[15] === last;
            const payloadLen = (d: Uint8Array): number => ((d[2]! << 8) | d[3]!) - (d[0]! & 0xf) * 4 - (d[(d[0]! & 0xf) * 4 + 12]! >> 4) * 4;
            // a Stack data segment (from 10.7.0.2) and, after it, a kernel data segment (from 10.7.0.1) the Stack ACKs
            const ours = records.findIndex((r) => isTcp4From(r.data, 2) && payloadLen(r.data) > 0);
            const theirs = records.findIndex((r, i) => i > ours && isTcp4From(r.data, 1) && payloadLen(r.data) > 100);
            expect(ours).toBeGreaterThanOrEqual(0);
            expect(theirs).toBeGreaterThan(ours);
            const packets = records.map((r) => r.data.slice());
            packets[ours]![packets[ours]!.length - 1]! ^= 0x5a;
            const bad = workFile("control.pcap");
            writeFileSync(bad, writePcap(header.linktype, packets.filter((_, i) => i !== theirs)));
            expect(matching(bad, `${FROM_STACK} && tcp.checksum.status == 0`)).toHaveLength(1);
            expect(matching(bad, `${FROM_STACK} && tcp.analysis.ack_lost_segment`).length).toBeGreaterThan(0);
          });
        }
      });
    });
  }
});

/** One expert finding of warning or error severity: the frame's protocols and the message. */
interface Finding {
  frame: number;
  protocols: string;
  message: string;
}

/** Expert severities as tshark numbers them (`_ws.expert.severity`). */
const WARNING = 0x00600000;

/** Every expert finding of severity warning or above in `file`. */
function expertFindings(file: string): Finding[] {
  const out = tshark(
    file,
    "-Y", "_ws.expert.severity >= warning",
    "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=|",
    "-e", "frame.number", "-e", "frame.protocols", "-e", "_ws.expert.severity", "-e", "_ws.expert.message",
  );
  const findings: Finding[] = [];
  for (const line of out.split("\n")) {
    if (line === "") continue;
    const [frame, protocols, severities, messages] = line.split("\t");
    const msgs = messages!.split("|");
    severities!.split("|").forEach((s, i) => {
      if (Number(s) >= WARNING) findings.push({ frame: Number(frame), protocols: protocols!, message: msgs[i] ?? "" });
    });
  }
  return findings;
}

/** A classic little-endian pcap file of `packets` (timestamps 1 ms apart). */
function writePcap(linktype: number, packets: Uint8Array[]): Uint8Array {
  const size = 24 + packets.reduce((n, p) => n + 16 + p.length, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xa1b2c3d4, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setUint32(16, 65535, true);
  v.setUint32(20, linktype, true);
  let off = 24;
  packets.forEach((p, i) => {
    v.setUint32(off, 1 + Math.floor(i / 1000), true);
    v.setUint32(off + 4, (i % 1000) * 1000, true);
    v.setUint32(off + 8, p.length, true);
    v.setUint32(off + 12, p.length, true);
    out.set(p, off + 16);
    off += 16 + p.length;
  });
  return out;
}
