/**
 * kernel ↔ virtual through a TUN device, in one Poll on the real clock: the
 * kernel's side of the interface is 10.7.0.1/24 + fd07::1/64, the Stack's
 * 10.7.0.2/24 + fd07::2/64. Kernel tools (ping) and tsmio kernel sockets
 * talk to the Stack's virtual sockets; the Poll wakes when the TUN
 * descriptor turns readable. Runs in a fresh network namespace.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterEach, beforeEach, expect, it } from "vitest";
import {
  Events,
  Interest,
  IoError,
  Poll,
  SimClock,
  Stack,
  TcpStream,
  Token,
  TunDevice,
  UdpSocket,
  WOULD_BLOCK,
  type SocketAddr,
} from "../../src/index.js";
import type { TcpListener, TcpStream as Stream, UdpSocket as Udp } from "../../src/net/network.js";
import { selectorOf } from "../../src/poll/registry.js";
import { pattern, same } from "../stack/helpers.js";
import { netnsSuite, runChild, type ChildResult, KERNEL4, KERNEL6, STACK4, STACK6 } from "../support/netns.js";


let tun: TunDevice;
let poll: Poll;
let stack: Stack;
const events = new Events(256);
const closeAfter: Array<{ close(): void }> = [];

function own<T extends { close(): void }>(x: T): T {
  closeAfter.push(x);
  return x;
}

/** `"ip:port"` for either family. */
function hostPort(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The descriptors an epoll instance watches (tfd lines of its fdinfo). */
function watched(epfd: number): number[] {
  return [...readFileSync(`/proc/self/fdinfo/${epfd}`, "utf8").matchAll(/^tfd:\s+(\d+)/gm)].map((m) => Number(m[1]));
}

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

/** Polls until `token` is reported (at most `limitMs`); fails on any unknown token. */
function waitFor(token: Token, known: readonly Token[], limitMs = 3000): void {
  const end = Date.now() + limitMs;
  for (;;) {
    const left = end - Date.now();
    if (left <= 0) throw new Error(`no event for token ${token} within ${limitMs} ms`);
    poll.poll(events, left);
    let seen = false;
    for (const ev of events) {
      expect(known, `token ${ev.token()} is one the test registered`).toContain(ev.token());
      if (ev.token() === token) seen = true;
    }
    if (seen) return;
  }
}

netnsSuite("Stack over a TUN device", () => {
  beforeEach(() => {
    tun = new TunDevice({ name: "tsmio0", mtu: 1500 });
    tun.configure({ addresses: [`${KERNEL4}/24`, `${KERNEL6}/64`], up: true });
    poll = new Poll();
    stack = new Stack({ poll, device: tun, addresses: [`${STACK4}/24`, `${STACK6}/64`] });
  });

  afterEach(() => {
    for (const x of closeAfter.splice(0).reverse()) x.close();
    stack.close();
    tun.close();
    poll.close();
  });

  for (const [family, target] of [
    [4, STACK4],
    [6, STACK6],
  ] as const) {
    it(`answers the kernel's ping (IPv${family})`, async () => {
      const args = family === 4 ? ["-c", "3", "-i", "0.2", "-W", "2", target] : ["-6", "-c", "3", "-i", "0.2", "-W", "2", target];
      const r = await pollWhile(runChild("ping", args));
      expect(r.stdout, r.stderr).toMatch(/3 packets transmitted, 3 received/);
      expect(r.code).toBe(0);
      expect(stack.stats().icmpSent["echo-reply"]).toBe(3);
    });
  }

  for (const [family, kernelIp, stackIp] of [
    [4, KERNEL4, STACK4],
    [6, KERNEL6, STACK6],
  ] as const) {
    it(`a kernel UdpSocket and a virtual UdpSocket exchange datagrams in one Poll (IPv${family})`, () => {
      const K = Token(1);
      const V = Token(2);
      const k: Udp = own(UdpSocket.bind(hostPort(kernelIp, 0)));
      const v: Udp = own(stack.udpBind(hostPort(stackIp, 0)));
      poll.registry().register(k, K, Interest.READABLE);
      poll.registry().register(v, V, Interest.READABLE);
      const buf = new Uint8Array(2048);
      for (let i = 0; i < 50; i++) {
        const out = pattern(1 + i * 29, i);
        expect(k.sendTo(out, v.localAddr())).toBe(out.length);
        waitFor(V, [K, V]);
        const r = v.recvFrom(buf);
        expect(r, `datagram ${i} at the virtual socket`).not.toBe(WOULD_BLOCK);
        const [n, from] = r as [number, SocketAddr];
        expect(same(buf.subarray(0, n), out), `datagram ${i} intact`).toBe(true);
        expect(from.toString()).toBe(k.localAddr().toString());
        expect(v.recvFrom(buf)).toBe(WOULD_BLOCK);

        const back = pattern(1400 - i, i + 100);
        expect(v.sendTo(back, from)).toBe(back.length);
        try {
          waitFor(K, [K, V]);
        } catch (e) {
          throw new Error(`reply ${i}: ${String(e)}; device error ${String(tun.takeError())}; stack ${JSON.stringify(stack.stats())}`);
        }
        const r2 = k.recvFrom(buf);
        expect(r2, `reply ${i} at the kernel socket`).not.toBe(WOULD_BLOCK);
        const [n2, from2] = r2 as [number, SocketAddr];
        expect(same(buf.subarray(0, n2), back), `reply ${i} intact`).toBe(true);
        expect(from2.toString()).toBe(v.localAddr().toString());
        expect(k.recvFrom(buf)).toBe(WOULD_BLOCK);
      }
    });
  }

  it("a blocking poll wakes when the TUN descriptor turns readable", async () => {
    const V = Token(7);
    const v = own(stack.udpBind(`${STACK4}:7000`));
    poll.registry().register(v, V, Interest.READABLE);
    poll.poll(events, 0);
    // another process sends while this one sleeps in epoll_wait; the stack has no timer pending
    const sender = runChild(process.execPath, [
      "-e",
      `setTimeout(() => { const s = require("dgram").createSocket("udp4"); s.send("wake", 7000, "${STACK4}", () => s.close()); }, 300)`,
    ]);
    expect(stack.pollAt()).toBeNull();
    const t0 = Date.now();
    poll.poll(events, 10_000);
    const waited = Date.now() - t0;
    expect([...events].map((e) => e.token())).toEqual([V]);
    expect(waited, "woke long before the 10 s timeout").toBeLessThan(5000);
    const buf = new Uint8Array(64);
    const r = v.recvFrom(buf) as [number, SocketAddr];
    expect(new TextDecoder().decode(buf.subarray(0, r[0]))).toBe("wake");
    expect((await sender).code).toBe(0);
  });

  for (const [family, stackIp] of [
    [4, STACK4],
    [6, STACK6],
  ] as const) {
    it(`a kernel TcpStream and a virtual TcpListener in one Poll move 1 MiB each way byte-exact (IPv${family})`, () => {
      const size = 1 << 20;
      const LISTENER = Token(10);
      const CLIENT = Token(11);
      const SERVER = Token(12);
      const known = [LISTENER, CLIENT, SERVER];

      interface End {
        stream: Stream;
        out: Uint8Array;
        expected: Uint8Array;
        sent: number;
        received: number;
        eof: boolean;
        shut: boolean;
      }
      const end = (stream: Stream, out: Uint8Array, expected: Uint8Array): End => ({ stream, out, expected, sent: 0, received: 0, eof: false, shut: false });
      const tmp = new Uint8Array(64 * 1024);
      const pump = (e: End): void => {
        while (e.sent < size) {
          const n = e.stream.write(e.out.subarray(e.sent, Math.min(size, e.sent + 65536)));
          if (n === WOULD_BLOCK) break;
          e.sent += n;
        }
        if (e.sent === size && !e.shut) {
          e.stream.shutdown("write");
          e.shut = true;
        }
        while (!e.eof) {
          const n = e.stream.read(tmp);
          if (n === WOULD_BLOCK) break;
          if (n === 0) {
            e.eof = true;
            break;
          }
          expect(e.received + n, "no more than was sent").toBeLessThanOrEqual(size);
          if (!same(tmp.subarray(0, n), e.expected.subarray(e.received, e.received + n))) {
            throw new Error(`bytes ${e.received}..${e.received + n} differ (IPv${family})`);
          }
          e.received += n;
        }
      };

      const listener: TcpListener = own(stack.tcpBind(hostPort(stackIp, 8080)));
      poll.registry().register(listener, LISTENER, Interest.READABLE);
      const up = pattern(size, 1);
      const down = pattern(size, 2);
      const client = end(own(TcpStream.connect(hostPort(stackIp, 8080))), up, down);
      poll.registry().register(client.stream, CLIENT, Interest.READABLE.add(Interest.WRITABLE));
      let server: End | null = null;
      let connected = false;

      const deadline = Date.now() + 20_000;
      let idleSince = Date.now();
      const done = (): boolean => client.eof && client.received === size && server !== null && server.eof && server.received === size;
      for (let round = 0; !done(); round++) {
        if (Date.now() > deadline || round > 1_000_000) {
          throw new Error(`transfer stuck: client sent ${client.sent} got ${client.received}, server sent ${server?.sent} got ${server?.received}`);
        }
        poll.poll(events, 1000);
        if (events.isEmpty()) {
          if (Date.now() - idleSince > 5000) throw new Error("no events for 5 s");
          continue;
        }
        idleSince = Date.now();
        for (const ev of events) {
          expect(known).toContain(ev.token());
          if (ev.token() === LISTENER) {
            for (let r = listener.accept(); r !== WOULD_BLOCK; r = listener.accept()) {
              expect(server, "one connection").toBeNull();
              expect(r[1].toString()).toBe(client.stream.localAddr().toString());
              server = end(own(r[0]), down, up);
              poll.registry().register(server.stream, SERVER, Interest.READABLE.add(Interest.WRITABLE));
              pump(server);
            }
          } else if (ev.token() === CLIENT) {
            expect(client.stream.takeError()).toBeNull();
            if (!connected && ev.isWritable()) {
              expect(client.stream.peerAddr().toString()).toBe(hostPort(stackIp, 8080));
              connected = true;
            }
            pump(client);
          } else if (server !== null) {
            pump(server);
          }
        }
      }
      expect(connected).toBe(true);
      expect(server!.stream.takeError()).toBeNull();
      expect(tun.takeError()).toBeNull();
    });
  }

  it("a Stack on a TUN device cannot run on a SimClock", () => {
    const sim = new Poll({ clock: new SimClock() });
    try {
      let err: unknown = null;
      try {
        new Stack({ poll: sim, device: tun, addresses: ["10.7.0.3/24"] });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(IoError);
      expect((err as IoError).code).toBe("EINVAL");
    } finally {
      sim.close();
    }
  });

  it("closing the Stack stops watching the device; closing the device first is safe too", () => {
    const epfd = selectorOf(poll.registry()).epfd;
    expect(watched(epfd)).toContain(tun.fd);
    stack.close();
    expect(watched(epfd)).not.toContain(tun.fd);

    // a second stack on a second device, whose device closes before the stack
    const tun2 = new TunDevice({ name: "tsmio1" });
    const fd2 = tun2.fd!;
    const stack2 = new Stack({ poll, device: tun2, addresses: ["10.8.0.2/24"] });
    expect(watched(epfd)).toContain(fd2);
    tun2.close();
    expect(watched(epfd)).not.toContain(fd2);
    // the descriptor number may now belong to someone else: the stack must leave it alone
    const other = own(UdpSocket.bind("127.0.0.1:0"));
    poll.registry().register(other, Token(5), Interest.READABLE);
    stack2.close();
    const peer = own(UdpSocket.bind("127.0.0.1:0"));
    peer.sendTo(new Uint8Array([1]), other.localAddr());
    poll.poll(events, 2000);
    expect([...events].map((e) => e.token())).toEqual([Token(5)]);
  });

  it("a deleted interface stops being watched instead of waking the poll forever", () => {
    const epfd = selectorOf(poll.registry()).epfd;
    execFileSync("ip", ["link", "del", "tsmio0"]);
    const t0 = Date.now();
    poll.poll(events, 200);
    expect(events.isEmpty()).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(watched(epfd)).not.toContain(tun.fd);
    expect(tun.takeError()?.syscall).toBe("read");
  });
});
