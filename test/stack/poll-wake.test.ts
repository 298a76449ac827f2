/**
 * A real-time Poll waiting in `pollAsync` while user code, outside the
 * poll, makes a Stack send over a timed device (a Link): the waiting poll
 * must wake and deliver what follows, not sleep on to the deadline it
 * computed before the packet existed.
 */
import { expect, it } from "vitest";
import { Events, Interest, Link, Poll, Stack, Token } from "../../src/index.js";

it("a pollAsync waiting on a real-time Poll wakes for a packet a virtual socket sends outside the poll", async () => {
  const poll = new Poll();
  try {
    const link = new Link({ mtu: 1500, delayMs: 5 });
    const a = new Stack({ poll, device: link.a, addresses: ["10.0.0.1/24"] });
    const b = new Stack({ poll, device: link.b, addresses: ["10.0.0.2/24"] });
    const listener = b.tcpBind("10.0.0.2:80");
    poll.registry().register(listener, Token(1), Interest.READABLE);
    const events = new Events(8);
    const start = Date.now();
    const waiting = poll.pollAsync(events, 3000);
    setTimeout(() => a.tcpConnect("10.0.0.2:80"), 20);
    await waiting;
    const took = Date.now() - start;
    expect([...events].map((e) => e.token())).toEqual([1]);
    // the handshake takes 3 × 5 ms of link delay after the connect at 20 ms
    expect(took, `${took} ms`).toBeLessThan(1000);
  } finally {
    poll.close();
  }
});
