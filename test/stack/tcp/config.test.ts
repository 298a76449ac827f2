/**
 * TCP settings of a Stack (`new Stack({ tcp: { ... } })`): TIME-WAIT length,
 * buffer sizes and the congestion algorithm are honoured; bad values are
 * TypeErrors naming the setting.
 */
import { describe, expect, it } from "vitest";
import { Events, Interest, Link, Poll, SimClock, Stack, Token, WOULD_BLOCK, type TcpStream } from "../../../src/index.js";

function world(tcp: ConstructorParameters<typeof Stack>[0]["tcp"]) {
  const clock = new SimClock();
  const poll = new Poll({ clock });
  const link = new Link({ mtu: 1500, delayMs: 5 });
  const a = new Stack({ poll, device: link.a, addresses: ["10.0.0.1/24"], tcp });
  const b = new Stack({ poll, device: link.b, addresses: ["10.0.0.2/24"], tcp });
  return { clock, poll, a, b, events: new Events(16) };
}

/** Connects a to a listener on b and returns both ends once established. */
function connected(w: ReturnType<typeof world>): { client: TcpStream; server: TcpStream } {
  const l = w.b.tcpBind("10.0.0.2:80");
  w.poll.registry().register(l, Token(0), Interest.READABLE);
  const client = w.a.tcpConnect("10.0.0.2:80");
  for (let i = 0; i < 100; i++) {
    w.poll.poll(w.events, 100);
    const r = l.accept();
    if (r !== WOULD_BLOCK) return { client, server: r[0] };
  }
  throw new Error("no connection");
}

describe("Stack tcp settings", () => {
  it("timeWaitMs sets how long TIME-WAIT lasts", () => {
    const w = world({ timeWaitMs: 1000 });
    const { client, server } = connected(w);
    const states: string[] = [];
    w.a.on("tcp-state", (e) => states.push(e.to));
    client.close();
    for (let i = 0; i < 10; i++) w.poll.poll(w.events, 20);
    server.close();
    const t0 = w.clock.now();
    while (!states.includes("TIME-WAIT") && w.clock.now() - t0 < 1000) w.poll.poll(w.events, 1);
    const entered = w.clock.now();
    expect(states).toContain("TIME-WAIT");
    while (!states.includes("CLOSED") && w.clock.now() - entered < 5000) w.poll.poll(w.events, 50);
    expect(states.at(-1)).toBe("CLOSED");
    const lasted = w.clock.now() - entered;
    expect(lasted).toBeGreaterThanOrEqual(950);
    expect(lasted).toBeLessThanOrEqual(1100);
  });

  it("sendBuffer bounds what one write accepts; congestion picks the algorithm", () => {
    const w = world({ sendBuffer: 16384, congestion: "newreno" });
    const { client } = connected(w);
    expect(client.write(new Uint8Array(100_000))).toBe(16384);
    expect(client.write(new Uint8Array(10))).toBe(WOULD_BLOCK);
    const stats = Object.values(w.a.tcpStats())[0]!;
    expect(stats.state).toBe("ESTABLISHED");
    expect(stats.congestion).toBe("newreno");
    expect(Object.values(world({}).a.tcpStats())).toEqual([]);
  });

  it("CUBIC is the default, as in Linux", () => {
    const w = world(undefined);
    connected(w);
    expect(Object.values(w.a.tcpStats())[0]!.congestion).toBe("cubic");
  });

  it("rejects bad settings with a TypeError naming them", () => {
    const link = new Link();
    const make = (tcp: object) => () => new Stack({ clock: new SimClock(), device: link.a, addresses: ["10.0.0.1/24"], tcp });
    expect(make({ timeWaitMs: -1 })).toThrow(/timeWaitMs/);
    expect(make({ sendBuffer: 1.5 })).toThrow(/sendBuffer/);
    expect(make({ congestion: "vegas" })).toThrow(/congestion/);
    expect(make({ retries: "many" })).toThrow(/retries/);
    expect(make({ connectTimeoutMs: -5 })).toThrow(/connectTimeoutMs/);
    expect(make({ synAckRetries: -1 })).toThrow(/synAckRetries/);
    expect(make({ finTimeoutMs: "1s" })).toThrow(/finTimeoutMs/);
    expect(make({ keepaliveIdleMs: 0 })).toThrow(/keepaliveIdleMs/);
    expect(make({ keepaliveIntervalMs: 0.5 })).toThrow(/keepaliveIntervalMs/);
    expect(make({ keepaliveCount: 0 })).toThrow(/keepaliveCount/);
  });
});
