/**
 * UDP datagrams per second between two userspace Stacks over a fault-free
 * Link (in virtual time: the wall clock measures only the stack's work),
 * beside the same exchange between two kernel UDP sockets on loopback,
 * measured in the same run.
 *
 *   node --import ./scripts/ts-loader.mjs bench/udp-stack.ts [--seconds 2]
 */
import { Events, Interest, Link, Poll, SimClock, Stack, Token, UdpSocket, WOULD_BLOCK } from "../src/index.js";
import type { UdpSocket as UdpSocketApi } from "../src/net/network.js";

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const SECONDS = arg("seconds", 2);
const BURST = 64;

interface Pair {
  poll: Poll;
  tx: UdpSocketApi;
  rx: UdpSocketApi;
  close(): void;
}

function virtualPair(): Pair {
  const poll = new Poll({ clock: new SimClock() });
  const link = new Link({ mtu: 1500 });
  const a = new Stack({ poll, device: link.a, addresses: ["10.0.0.1/24"] });
  const b = new Stack({ poll, device: link.b, addresses: ["10.0.0.2/24"] });
  const tx = a.udpBind("10.0.0.1:0");
  const rx = b.udpBind("10.0.0.2:9000");
  return { poll, tx, rx, close: () => (tx.close(), rx.close(), a.close(), b.close(), poll.close()) };
}

function kernelPair(): Pair {
  const poll = new Poll();
  const tx = UdpSocket.bind("127.0.0.1:0");
  const rx = UdpSocket.bind("127.0.0.1:0");
  return { poll, tx, rx, close: () => (tx.close(), rx.close(), poll.close()) };
}

/** Bursts of BURST datagrams, each burst received in full before the next: datagrams per second. */
function run(pair: Pair, size: number): number {
  const { poll, tx, rx } = pair;
  const events = new Events(16);
  poll.registry().register(rx, Token(1), Interest.READABLE);
  const payload = new Uint8Array(size).fill(7);
  const buf = new Uint8Array(2048);
  const dst = rx.localAddr();
  let received = 0;
  const start = performance.now();
  const end = start + SECONDS * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < BURST; i++) tx.sendTo(payload, dst);
    let got = 0;
    while (got < BURST) {
      poll.poll(events, 100);
      for (let r = rx.recvFrom(buf); r !== WOULD_BLOCK; r = rx.recvFrom(buf)) {
        if (r[0] !== size) throw new Error(`got ${r[0]} bytes, sent ${size}`);
        got++;
      }
      if (events.isEmpty() && got < BURST) throw new Error(`lost datagrams: ${got}/${BURST}`);
    }
    received += got;
  }
  const rate = received / ((performance.now() - start) / 1000);
  pair.close();
  return rate;
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");
console.log(`UDP datagrams/s, bursts of ${BURST}, ${SECONDS} s each`);
console.log("size     stack->stack   kernel loopback   ratio");
for (const size of [64, 1400]) {
  const v = run(virtualPair(), size);
  const k = run(kernelPair(), size);
  console.log(`${String(size).padStart(4)} B   ${fmt(v).padStart(12)}   ${fmt(k).padStart(15)}   ${(v / k).toFixed(2)}x`);
}
