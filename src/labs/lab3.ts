/**
 * Lab 3: readiness. The same steps on a kernel UDP socket (127.0.0.1) and
 * on a virtual one (two userspace Stacks on a virtual Link), registered
 * with one Poll: edge-triggered events, and draining until WOULD_BLOCK.
 */
import { join } from "node:path";
import { WOULD_BLOCK } from "../error.js";
import { kernel } from "../net/kernel.js";
import type { Network } from "../net/network.js";
import { Events } from "../poll/event.js";
import { Interest } from "../poll/interest.js";
import { Poll } from "../poll/poll.js";
import { Token } from "../poll/token.js";
import { Link, PcapTap } from "../stack/iface/index.js";
import { Stack } from "../stack/stack.js";
import type { Lab, LabOutput } from "./index.js";

/** Longest wait for one readiness event, ms of real time. */
const WAIT_MS = 1000;

/** Polls until `token` is reported (true) or `ms` pass without it (false). */
function waitFor(poll: Poll, events: Events, token: Token, ms: number): boolean {
  const end = Date.now() + ms;
  do {
    poll.poll(events, Math.max(0, end - Date.now()));
    for (const e of events) if (e.token() === token) return true;
  } while (Date.now() < end);
  return false;
}

/** Where the two sockets of {@link steps} live. */
interface Ends {
  name: string;
  rx: Network;
  rxAddr: string;
  tx: Network;
  txAddr: string;
}

/** The steps of the lab: `ends.tx` sends to `ends.rx`; `ends.name` prefixes every line. */
function steps(out: LabOutput, poll: Poll, ends: Ends, token: Token): void {
  const say = (s: string): void => out.line(`  [${ends.name}] ${s}`);
  const events = new Events(16);
  const rx = ends.rx.udpBind(`${ends.rxAddr}:0`);
  const tx = ends.tx.udpBind(`${ends.txAddr}:0`);
  poll.registry().register(rx, token, Interest.READABLE);
  const to = rx.localAddr();
  say(`receiver bound to ${to.toString()}, registered READABLE with token ${token}`);
  say(`poll with nothing sent: ${waitFor(poll, events, token, 20) ? "an event (unexpected)" : "no event"}`);
  for (let i = 1; i <= 3; i++) tx.sendTo(new TextEncoder().encode(`datagram ${i}`), to);
  say(`sent 3 datagrams; poll: ${waitFor(poll, events, token, WAIT_MS) ? "readable event" : "NO EVENT"}`);
  const buf = new Uint8Array(64);
  const first = rx.recvFrom(buf);
  say(`read one: ${first === WOULD_BLOCK ? "WOULD_BLOCK" : `"${new TextDecoder().decode(buf.subarray(0, first[0]))}"`}`);
  say(`poll again, 2 datagrams still queued: ${waitFor(poll, events, token, 50) ? "readable event" : "no event (edge-triggered: nothing new arrived)"}`);
  for (let i = 0; i < 10; i++) {
    const r = rx.recvFrom(buf);
    if (r === WOULD_BLOCK) {
      say("drain: read → WOULD_BLOCK (queue empty: now a new datagram will make a new event)");
      break;
    }
    say(`drain: read "${new TextDecoder().decode(buf.subarray(0, r[0]))}"`);
  }
  tx.sendTo(new TextEncoder().encode("datagram 4"), to);
  say(`sent 1 more; poll: ${waitFor(poll, events, token, WAIT_MS) ? "readable event" : "NO EVENT"}`);
  poll.registry().deregister(rx);
  rx.close();
  tx.close();
}

async function run(out: LabOutput): Promise<void> {
  out.line("Lab 3 — readiness: Poll, edge triggering, draining until WOULD_BLOCK");
  out.line("kernel sockets and virtual sockets side by side, on one Poll (127.0.0.1 only)");
  out.line("");
  const poll = new Poll();
  const pcap = join(out.dir, "lab3.pcap");
  const link = new Link();
  const tap = new PcapTap(link.a, pcap);
  const a = new Stack({ poll, device: tap, addresses: ["10.0.0.1/24"], seed: 1 });
  const b = new Stack({ poll, device: link.b, addresses: ["10.0.0.2/24"], seed: 2 });
  try {
    out.line("== kernel sockets (epoll, edge-triggered), 127.0.0.1 → 127.0.0.1 ==");
    steps(out, poll, { name: "kernel", rx: kernel, rxAddr: "127.0.0.1", tx: kernel, txAddr: "127.0.0.1" }, Token(1));
    out.line("");
    out.line("== virtual sockets: two userspace stacks on a virtual link, 10.0.0.1 → 10.0.0.2 ==");
    steps(out, poll, { name: "virtual", rx: b, rxAddr: "10.0.0.2", tx: a, txAddr: "10.0.0.1" }, Token(2));
    out.line("");
    out.line(`pcap of the virtual sockets' traffic written to ${pcap}`);
  } finally {
    a.close();
    b.close();
    tap.close();
    poll.close();
  }
}

/** Lab 3. */
export const lab3: Lab = { title: "Readiness: edge triggering and WOULD_BLOCK", run };
