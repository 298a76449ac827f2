/**
 * UDP on the userspace stack, beyond the scenarios shared with the kernel
 * (test/udp_socket.test.ts): datagrams to ourselves, the port table (bind
 * rules, ephemeral range, demultiplexing by local address), the receive
 * queue's bound, the packet counters, and a closed Stack.
 */
import { describe, expect, it } from "vitest";
import { IoError } from "../../src/index.js";
import { PEER4, PEER6, US4, US6, drain, pair, pattern, same, wireWorld } from "./helpers.js";

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof IoError) return e.code;
    throw e;
  }
  throw new Error("did not throw");
}

describe("datagrams to ourselves", () => {
  for (const [family, own, lo, max] of [
    [4, US4, "127.0.0.1", 65507],
    [6, `[${US6}]`, "[::1]", 65527],
  ] as const) {
    it(`IPv${family}: the largest datagram to our own address and to loopback arrives whole, off the device`, () => {
      const w = wireWorld();
      const rxOwn = w.stack.udpBind(`${own}:9`);
      const rxLo = w.stack.udpBind(`${lo}:9`);
      const tx = w.stack.udpBind(`${family === 4 ? "0.0.0.0" : "[::]"}:0`);
      const a = pattern(max, 1);
      const b = pattern(max, 2);
      tx.sendTo(a, `${own}:9`);
      tx.sendTo(b, `${lo}:9`);
      w.run(0);
      const gotOwn = drain(rxOwn);
      const gotLo = drain(rxLo);
      expect(gotOwn).toHaveLength(1);
      expect(gotLo).toHaveLength(1);
      expect(same(gotOwn[0]!.data, a)).toBe(true);
      expect(same(gotLo[0]!.data, b)).toBe(true);
      expect(gotLo[0]!.from).toBe(`${lo}:${tx.localAddr().port}`);
      // IPv4: 65535 bytes fit the loopback MTU; IPv6: 40 + 65535 do not, so each is cut in two (as on Linux's lo)
      const st = w.stack.stats();
      const n = family === 4 ? 1 : 2;
      expect([st.fragmentsSent, st.reassembled, st.txPackets, st.rxPackets]).toEqual([family === 4 ? 0 : 4, family === 4 ? 0 : 2, 2 * n, 2 * n]);
      expect(w.link.stats().bToA.sent).toBe(0);
      expect(code(() => tx.sendTo(new Uint8Array(max + 1), `${lo}:9`))).toBe("EMSGSIZE");
      for (const s of [rxOwn, rxLo, tx]) s.close();
    });
  }

  it("a datagram to ourselves on a closed port gives ECONNREFUSED to a connected socket, without the device", () => {
    const w = wireWorld();
    const tx = w.stack.udpBind("127.0.0.1:0");
    tx.connect("127.0.0.1:9");
    tx.send(pattern(4));
    w.run(0);
    expect(tx.takeError()?.code).toBe("ECONNREFUSED");
    expect(w.link.stats().bToA.sent).toBe(0);
    tx.close();
  });
});

describe("the port table", () => {
  it("bind rules: same address and port clash; a wildcard clashes with any address of its family; other addresses do not", () => {
    const w = wireWorld({ addresses: ["10.0.0.2/24", "10.1.0.2/16", "fd00::2/64"] });
    const s = w.stack;
    const keep = [s.udpBind("10.0.0.2:9")];
    expect(code(() => s.udpBind("10.0.0.2:9"))).toBe("EADDRINUSE");
    expect(code(() => s.udpBind("0.0.0.0:9"))).toBe("EADDRINUSE");
    keep.push(s.udpBind("10.1.0.2:9"), s.udpBind("127.0.0.1:9"), s.udpBind("[fd00::2]:9"));
    keep.push(s.udpBind("0.0.0.0:10"));
    expect(code(() => s.udpBind("10.0.0.2:10"))).toBe("EADDRINUSE");
    expect(code(() => s.udpBind("10.99.0.1:11"))).toBe("EADDRNOTAVAIL");
    expect(code(() => s.udpBind("[fd00::77]:11"))).toBe("EADDRNOTAVAIL");
    // a closed socket frees its port at once
    keep[0]!.close();
    keep[0] = s.udpBind("10.0.0.2:9");
    for (const k of keep) k.close();
  });

  it("datagrams go to the socket bound to the address they were sent to", () => {
    const p = pair({ b: { addresses: ["10.0.0.2/24", "10.0.0.3/24", `${US6}/64`] } });
    const two = p.b.udpBind("10.0.0.2:9");
    const three = p.b.udpBind("10.0.0.3:9");
    const tx = p.a.udpBind(`${PEER4}:0`);
    tx.sendTo(pattern(2, 2), "10.0.0.2:9");
    tx.sendTo(pattern(3, 3), "10.0.0.3:9");
    p.run(1);
    expect(drain(two).map((d) => d.data.length)).toEqual([2]);
    expect(drain(three).map((d) => d.data.length)).toEqual([3]);
    for (const s of [two, three, tx]) s.close();
  });

  it("ephemeral ports come from 32768–60999, all distinct, until the range is used up (EADDRINUSE)", () => {
    const w = wireWorld();
    const socks = [];
    const ports = new Set<number>();
    let outside = 0;
    for (let i = 0; i < 60999 - 32768 + 1; i++) {
      const s = w.stack.udpBind(`${US4}:0`);
      const port = s.localAddr().port;
      if (port < 32768 || port > 60999) outside++;
      ports.add(port);
      socks.push(s);
    }
    expect(outside).toBe(0);
    expect(ports.size).toBe(socks.length);
    expect(code(() => w.stack.udpBind(`${US4}:0`))).toBe("EADDRINUSE");
    // the other family has its own ports
    const v6 = w.stack.udpBind(`[${US6}]:0`);
    socks.pop()!.close();
    expect(w.stack.udpBind(`${US4}:0`).localAddr().port).toBeGreaterThanOrEqual(32768);
    v6.close();
    for (const s of socks) s.close();
  });
});

describe("the receive queue", () => {
  it("is bounded like SO_RCVBUF (212992 bytes, 768 of overhead per datagram); the excess is counted as udp:queue-full", () => {
    const p = pair();
    const rx = p.b.udpBind(`${US4}:9`);
    const tx = p.a.udpBind(`${PEER4}:0`);
    for (let i = 0; i < 300; i++) tx.sendTo(pattern(1000, i), `${US4}:9`);
    p.run(1);
    const fits = Math.floor(212992 / (1000 + 768));
    expect(p.b.stats().dropped["udp:queue-full"]).toBe(300 - fits);
    const got = drain(rx);
    expect(got).toHaveLength(fits);
    for (const [i, g] of got.entries()) expect(same(g.data, pattern(1000, i))).toBe(true);
    // drained, it takes datagrams again
    tx.sendTo(pattern(5), `${US4}:9`);
    p.run(1);
    expect(drain(rx).map((d) => d.data.length)).toEqual([5]);
    rx.close();
    tx.close();
  });
});

describe("counters and closing", () => {
  it("stats() counts packets and bytes in and out", () => {
    const p = pair();
    const rx = p.b.udpBind(`[${US6}]:9`);
    const tx = p.a.udpBind(`[${PEER6}]:0`);
    tx.sendTo(pattern(100), `[${US6}]:9`);
    tx.sendTo(pattern(3000), `[${US6}]:9`); // 3 fragments at MTU 1500
    p.run(1);
    const a = p.a.stats();
    const b = p.b.stats();
    expect([a.txPackets, a.fragmentsSent]).toEqual([4, 3]);
    expect(a.txBytes).toBe(40 + 8 + 100 + 3 * 48 + 3008);
    expect([b.rxPackets, b.rxBytes, b.reassembled]).toEqual([4, a.txBytes, 1]);
    expect(drain(rx).map((d) => d.data.length)).toEqual([100, 3000]);
    rx.close();
    tx.close();
  });

  it("a closed Stack is no longer driven: arriving packets wait on the device, and new sockets are refused (EBADF)", () => {
    const p = pair();
    const rx = p.b.udpBind(`${US4}:9`);
    const tx = p.a.udpBind(`${PEER4}:0`);
    p.b.close();
    tx.sendTo(pattern(10), `${US4}:9`);
    p.run(10);
    expect(drain(rx)).toEqual([]);
    expect(p.b.stats().rxPackets).toBe(0);
    expect(p.b.pollAt()).toBeNull();
    expect(p.link.stats().aToB.inFlight).toBe(1);
    expect(code(() => p.b.udpBind(`${US4}:0`))).toBe("EBADF");
    p.b.close(); // idempotent
    tx.close();
    rx.close();
  });
});
