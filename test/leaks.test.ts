/**
 * Descriptor hygiene: opening and closing many sockets and Polls leaves the
 * process with exactly the descriptors it had (/proc/self/fd).
 */
import { describe, expect, it } from "vitest";
import { readdirSync } from "node:fs";
import { Events, Interest, Poll, TcpListener, TcpStream, Token, UdpSocket, Waker } from "../src/index.js";

const openFds = (): number => readdirSync("/proc/self/fd").length;

describe("leaks", () => {
  it("10,000 sockets opened, registered and closed leak no descriptor", () => {
    const before = openFds();
    const poll = new Poll();
    const listener = TcpListener.bind("127.0.0.1:0");
    const addr = listener.localAddr();
    for (let i = 0; i < 2500; i++) {
      const u = UdpSocket.bind("127.0.0.1:0");
      poll.registry().register(u, Token(i), Interest.READABLE);
      const c = TcpStream.connect(addr);
      poll.registry().register(c, Token(i), Interest.WRITABLE);
      const l = TcpListener.bind("127.0.0.1:0");
      const u6 = UdpSocket.bind("[::1]:0");
      u.close();
      c.close();
      l.close();
      u6.close();
    }
    listener.close();
    poll.close();
    expect(openFds()).toBe(before);
  });

  it("2,000 Polls with a Waker each leak no descriptor", async () => {
    const before = openFds();
    const events = new Events(4);
    for (let i = 0; i < 2000; i++) {
      const poll = new Poll();
      const waker = new Waker(poll.registry(), Token(1));
      waker.wake();
      if (i % 100 === 0) await poll.pollAsync(events, 0);
      else poll.poll(events, 0);
      expect(events.isEmpty()).toBe(false);
      poll.close();
    }
    expect(openFds()).toBe(before);
  });

  it("a pollAsync wait that is closed mid-way releases its watcher", async () => {
    const before = openFds();
    for (let i = 0; i < 200; i++) {
      const poll = new Poll();
      const pending = poll.pollAsync(new Events(1), null);
      poll.close();
      await pending;
    }
    expect(openFds()).toBe(before);
  });
});
