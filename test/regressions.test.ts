/**
 * mio's tests/regressions.rs. mio's helper threads become the same poll
 * (for the accepting side) or a timer (for the waker).
 *
 * `issue_1403` (an unbound UnixDatagram's sender address) lives with the other
 * Unix datagram scenarios in unix_datagram.test.ts.
 */
import { describe, expect, it } from "vitest";
import { Events, Interest, Token, Waker } from "../src/index.js";
import { kernelBackend } from "./support/backends.js";
import { later, useCleanup } from "./support/harness.js";
import { assertWouldBlock, expectEvents, untilReady } from "./support/util.js";

const ID1 = Token(1);
const WAKE_TOKEN = Token(10);
const own = useCleanup();

// These scenarios exercise the Poll itself against real time and concurrent
// actors (timers standing in for mio's threads, Wakers): they run on the
// kernel backend. A virtual network in virtual time has neither; its
// readiness is covered by test/virtual_source.test.ts and the socket suites.
for (const b of [kernelBackend]) {
  describe(`regressions.rs on ${b.name}`, () => {
    it("issue_776", () => {
      const poll = own(b.newPoll());
      const events = new Events(16);
      const l = own(b.server.tcpBind(b.addr()));
      const stream = own(b.client.tcpConnect(l.localAddr()));
      poll.registry().register(stream, ID1, Interest.READABLE.add(Interest.WRITABLE));
      // connected
      expectEvents(poll, events, [{ token: ID1, readiness: { writable: true } }]);
      const buf = new Uint8Array(1024);
      assertWouldBlock(stream.read(buf));

      // the accepting side reads what the connection brings: its end, once closed
      const [peer] = untilReady(poll, events, () => l.accept());
      own(peer);
      stream.close();
      expect(untilReady(poll, events, () => peer.read(buf))).toBe(0);
    });

    it("issue_1205", async () => {
      const poll = own(b.newPoll());
      const events = new Events(16);
      const waker = new Waker(poll.registry(), WAKE_TOKEN);
      const l = own(b.server.tcpBind(b.addr()));
      poll.registry().register(l, ID1, Interest.READABLE);
      poll.poll(events, 0);
      expect(events.isEmpty()).toBe(true);

      own(b.client.tcpConnect(l.localAddr()));
      poll.registry().deregister(l);

      const waking = later(() => waker.wake(), 100);
      await poll.pollAsync(events, null);
      await waking;
      // only the waker: the deregistered listener's connection is not reported
      expect([...events].map((e) => [e.token(), e.isReadable()])).toEqual([[WAKE_TOKEN, true]]);
    });
  });
}
