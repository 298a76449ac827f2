/**
 * Virtual and real time. A Poll on a SimClock never sleeps: when nothing is
 * ready it jumps to the next deadline (its timeout, a packet arriving on a
 * Link, a stack timer), refuses kernel sources (EINVAL) and throws EDEADLK
 * rather than wait forever. A Poll without one keeps real time, also with
 * stacks attached.
 */
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  Events,
  Interest,
  IoError,
  Link,
  Poll,
  SimClock,
  Stack,
  TcpListener,
  Token,
  Tracer,
  UdpSocket,
  Waker,
} from "../../src/index.js";
import { IpProtocol } from "../../src/stack/wire/index.js";
import { PEER4, US4, drain, fragments4, pattern, simPoll, udp } from "./helpers.js";

const RX = Token(1);

/** Two stacks over a Link on `poll`, a bound receiver on b registered READABLE, a sender on a. */
function world(poll: Poll, delayMs: number) {
  const link = new Link({ delayMs });
  const a = new Stack({ poll, device: link.a, addresses: [`${PEER4}/24`] });
  const b = new Stack({ poll, device: link.b, addresses: [`${US4}/24`] });
  const rx = b.udpBind(`${US4}:9000`);
  rx.register(poll.registry(), RX, Interest.READABLE);
  const tx = a.udpBind(`${PEER4}:0`);
  const close = (): void => {
    rx.close();
    tx.close();
    a.close();
    b.close();
  };
  return { link, a, b, rx, tx, close };
}

function tokens(events: Events): number[] {
  return [...events].map((e) => e.token());
}

/** Wall-clock milliseconds taken by `f`. */
function wall(f: () => void): number {
  const t = performance.now();
  f();
  return performance.now() - t;
}

describe("a Poll on a SimClock", () => {
  it("holds no kernel descriptor (no epoll instance): a page or a thousand Sims need none", () => {
    const fds = (): number => readdirSync("/proc/self/fd").length;
    const before = fds();
    const polls = Array.from({ length: 50 }, () => new Poll({ clock: new SimClock() }));
    expect(fds()).toBe(before);
    const real = new Poll();
    expect(fds()).toBe(before + 1);
    real.close();
    for (const p of polls) p.close();
    expect(fds()).toBe(before);
  });

  it("a 10 s timeout returns at once in wall time, with virtual time 10 s later", () => {
    const clock = new SimClock(1234);
    const poll = new Poll({ clock });
    const events = new Events(8);
    const took = wall(() => poll.poll(events, 10_000));
    expect(took).toBeLessThan(500);
    expect(clock.now()).toBe(11_234);
    expect(events.isEmpty()).toBe(true);
    poll.close();
  });

  it("the same with stacks attached and pollAsync", async () => {
    const clock = new SimClock();
    const poll = new Poll({ clock });
    const w = world(poll, 5);
    const events = new Events(8);
    const t = performance.now();
    await poll.pollAsync(events, 10_000);
    expect(performance.now() - t).toBeLessThan(500);
    expect(clock.now()).toBe(10_000);
    expect(events.isEmpty()).toBe(true);
    w.close();
    poll.close();
  });

  it("a Link delay of 50 ms is 50 ms of virtual time between send and readable", () => {
    const clock = new SimClock(100);
    const poll = new Poll({ clock });
    const w = world(poll, 50);
    const events = new Events(8);
    poll.poll(events, 0); // the registration's first (empty) readiness
    const sentAt = clock.now();
    w.tx.sendTo(pattern(32), `${US4}:9000`);
    const took = wall(() => poll.poll(events, null));
    expect(tokens(events)).toEqual([RX]);
    expect(clock.now() - sentAt).toBe(50);
    expect(took).toBeLessThan(500);
    expect(drain(w.rx).map((d) => d.data.length)).toEqual([32]);
    w.close();
    poll.close();
  });

  it("a timeout shorter than the link delay returns first, empty, at the timeout; the next poll at the arrival", () => {
    const clock = new SimClock();
    const poll = new Poll({ clock });
    const w = world(poll, 50);
    const events = new Events(8);
    poll.poll(events, 0);
    w.tx.sendTo(pattern(8), `${US4}:9000`);
    poll.poll(events, 20);
    expect(events.isEmpty()).toBe(true);
    expect(clock.now()).toBe(20);
    poll.poll(events, 1000);
    expect(tokens(events)).toEqual([RX]);
    expect(clock.now()).toBe(50);
    w.close();
    poll.close();
  });

  it("an ICMP round trip over a 50 ms link: the error event comes at 100 ms", () => {
    const clock = new SimClock();
    const poll = new Poll({ clock });
    const w = world(poll, 50);
    const events = new Events(8);
    const TX = Token(2);
    w.tx.connect(`${US4}:9999`); // nobody there
    w.tx.register(poll.registry(), TX, Interest.READABLE);
    poll.poll(events, 0);
    w.tx.send(pattern(8));
    poll.poll(events, null);
    expect(tokens(events)).toEqual([TX]);
    expect([...events][0]!.isError()).toBe(true);
    expect(clock.now()).toBe(100);
    expect(w.tx.takeError()?.code).toBe("ECONNREFUSED");
    w.close();
    poll.close();
  });

  it("time jumps to a stack's own timer: reassembly gives up at exactly 30 s", () => {
    const clock = new SimClock();
    const poll = new Poll({ clock });
    const link = new Link();
    const sentAt: number[] = [];
    const stack = new Stack({ poll, device: new Tracer(link.b, (dir, _p, t) => dir === "tx" && sentAt.push(t)), addresses: [`${US4}/24`] });
    link.a.transmit(fragments4({ src: PEER4, dst: US4, protocol: IpProtocol.Udp, id: 1 }, udp(PEER4, US4, 1, 2, pattern(3000)), 1480)[0]!);
    const events = new Events(8);
    poll.poll(events, 0);
    expect(stack.pollAt()).toBe(30_000);
    poll.poll(events, 45_000);
    expect(sentAt).toEqual([30_000]); // the ICMP time exceeded, sent when the timer ran
    expect(clock.now()).toBe(45_000);
    expect(stack.pollAt()).toBeNull();
    stack.close();
    poll.close();
  });

  it("a wait without limit with nothing pending throws EDEADLK instead of hanging (poll and pollAsync)", async () => {
    const clock = new SimClock();
    const poll = new Poll({ clock });
    const events = new Events(8);
    expect(() => poll.poll(events, null)).toThrow(expect.objectContaining({ code: "EDEADLK" }));
    const w = world(poll, 5);
    poll.poll(events, 0);
    expect(() => poll.poll(events, null)).toThrow(expect.objectContaining({ code: "EDEADLK" }));
    await expect(poll.pollAsync(events, null)).rejects.toMatchObject({ code: "EDEADLK" });
    // with a datagram on the wire it waits for it instead
    w.tx.sendTo(pattern(1), `${US4}:9000`);
    poll.poll(events, null);
    expect(tokens(events)).toEqual([RX]);
    expect(clock.now()).toBe(5);
    // the poll is still usable after EDEADLK
    poll.poll(events, 1);
    expect(clock.now()).toBe(6);
    w.close();
    poll.close();
  });

  it("registering a kernel source throws EINVAL: sockets and a Waker live in real time", () => {
    const poll = simPoll();
    const udp = UdpSocket.bind("127.0.0.1:0");
    const tcp = TcpListener.bind("127.0.0.1:0");
    try {
      for (const src of [udp, tcp]) {
        let err: unknown = null;
        try {
          src.register(poll.registry(), Token(3), Interest.READABLE);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(IoError);
        expect((err as IoError).code).toBe("EINVAL");
      }
      expect(() => new Waker(poll.registry(), Token(4))).toThrow(expect.objectContaining({ code: "EINVAL" }));
    } finally {
      udp.close();
      tcp.close();
      poll.close();
    }
  });

  it("SimClock only moves forward, and only when told", () => {
    const c = new SimClock(5);
    expect(c.now()).toBe(5);
    c.advance(2.5);
    expect(c.now()).toBe(7.5);
    c.advanceTo(3);
    expect(c.now()).toBe(7.5);
    c.advanceTo(10);
    expect(c.now()).toBe(10);
    expect(() => c.advance(-1)).toThrow(TypeError);
    expect(() => c.advance(Number.NaN)).toThrow(TypeError);
    expect(() => c.advanceTo(Infinity)).toThrow(TypeError);
    expect(() => new SimClock(-1)).toThrow(TypeError);
  });
});

describe("a Poll without a SimClock keeps real time with stacks attached", () => {
  it("poll: a datagram over a 30 ms Link is readable after about 30 ms of wall time", () => {
    const poll = new Poll();
    const w = world(poll, 30);
    const events = new Events(8);
    poll.poll(events, 0);
    // timed from before the send: the 30 ms start when the datagram leaves
    const took = wall(() => {
      w.tx.sendTo(pattern(16), `${US4}:9000`);
      poll.poll(events, 2000);
    });
    expect(tokens(events)).toEqual([RX]);
    expect(took).toBeGreaterThanOrEqual(29);
    expect(took).toBeLessThan(1000);
    expect(drain(w.rx).map((d) => d.data.length)).toEqual([16]);
    w.close();
    poll.close();
  });

  it("pollAsync: the same, and Node's event loop keeps running meanwhile", async () => {
    const poll = new Poll();
    const w = world(poll, 30);
    const events = new Events(8);
    poll.poll(events, 0);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    try {
      w.tx.sendTo(pattern(16), `${US4}:9000`);
      const t = performance.now();
      await poll.pollAsync(events, 2000);
      const took = performance.now() - t;
      expect(tokens(events)).toEqual([RX]);
      expect(took).toBeGreaterThanOrEqual(29);
      expect(took).toBeLessThan(1000);
      expect(ticks).toBeGreaterThanOrEqual(2);
    } finally {
      clearInterval(timer);
      w.close();
      poll.close();
    }
  });

  it("a short timeout still returns on time when the datagram is further away", () => {
    const poll = new Poll();
    const w = world(poll, 200);
    const events = new Events(8);
    poll.poll(events, 0);
    w.tx.sendTo(pattern(16), `${US4}:9000`);
    const took = wall(() => poll.poll(events, 20));
    expect(events.isEmpty()).toBe(true);
    expect(took).toBeGreaterThanOrEqual(19);
    expect(took).toBeLessThan(150);
    w.close();
    poll.close();
  });
});
