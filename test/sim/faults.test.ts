/**
 * Sim faults: partitions (ETIMEDOUT after the retry budget, or recovery
 * when repaired in time), holds (delivery exactly at release, in order),
 * crashes and restarts (ECONNRESET, ECONNREFUSED).
 */
import { bytes, sha } from "./data.js";
import { afterEach, describe, expect, it } from "vitest";
import { IoError, Sim, WOULD_BLOCK, type Stack } from "../../src/index.js";
import type { VirtualTcpStream } from "../../src/stack/tcp/socket.js";
import type { VirtualUdpSocket } from "../../src/stack/udp/socket.js";
import { accept, connect, readToEnd, writeAll } from "../../src/sim/sockets.js";

/** The next bytes from `s` (some), or the error reading threw. */
async function readSome(sim: Sim, s: VirtualTcpStream): Promise<Buffer | IoError> {
  const buf = new Uint8Array(4096);
  for (;;) {
    let n: number | typeof WOULD_BLOCK;
    try {
      n = s.read(buf);
    } catch (e) {
      return e as IoError;
    }
    if (n !== WOULD_BLOCK) return Buffer.from(buf.subarray(0, n));
    await sim.ready(s);
  }
}

function drain(u: VirtualUdpSocket): string[] {
  const buf = new Uint8Array(2048);
  const out: string[] = [];
  for (let r = u.recvFrom(buf); r !== WOULD_BLOCK; r = u.recvFrom(buf)) out.push(Buffer.from(buf.subarray(0, r[0])).toString());
  return out;
}


let sims: Sim[] = [];
afterEach(() => {
  for (const s of sims) s.close();
  sims = [];
});

/** Hosts a (10.0.0.1) and b (10.0.0.2) joined by one 10 ms, 10 Mb/s link. */
function twoHosts(seed = 1): { sim: Sim; a: Stack; b: Stack } {
  const sim = new Sim({ seed });
  sims.push(sim);
  const a = sim.host("a", { addresses: ["10.0.0.1/24"] });
  const b = sim.host("b", { addresses: ["10.0.0.2/24"] });
  sim.link(a, b, { delayMs: 10, bandwidthBps: 10e6 });
  return { sim, a, b };
}

describe("sim.partition", () => {
  it("a writer cut off mid-transfer gets ETIMEDOUT after 15 retries, 15+ virtual minutes, in little wall time", async () => {
    const { sim, a, b } = twoHosts();
    const t0 = performance.now();
    const { error, cutAt, failedAt, received } = await sim.run(async () => {
      const [s, p] = await Promise.all([connect(sim, a, "10.0.0.2:80"), accept(sim, b.tcpBind("10.0.0.2:80"))]);
      let received = 0;
      void (async () => {
        const buf = new Uint8Array(65536);
        for (;;) {
          const n = p.read(buf);
          if (n === WOULD_BLOCK) await sim.ready(p);
          else received += n;
        }
      })();
      const cutAt = sim.now() + 300;
      sim.setTimeout(() => sim.partition(a, b), 300);
      const error = await writeAll(sim, s, bytes(4 << 20, 1)).then(
        () => null,
        (e: unknown) => e,
      );
      return { error, cutAt, failedAt: sim.now(), received };
    });
    expect(error).toBeInstanceOf(IoError);
    expect((error as IoError).code).toBe("ETIMEDOUT");
    expect(received).toBeGreaterThan(100_000); // it was moving before the cut
    expect(received).toBeLessThan(4 << 20);
    // RTO 200 ms doubling up to 120 s: 15 retransmissions plus the final wait ≈ 924.6 s
    const waited = failedAt - cutAt;
    expect(waited).toBeGreaterThan(15 * 60_000);
    expect(waited).toBeLessThan(17 * 60_000);
    expect(sim.stats().dropped.partition).toBeGreaterThanOrEqual(16);
    expect(performance.now() - t0).toBeLessThan(1500);
  });

  it("repaired before the budget runs out, the transfer completes byte-exact", async () => {
    const { sim, a, b } = twoHosts(2);
    const data = bytes(1 << 20, 2);
    const { got, repairedAt, doneAt } = await sim.run(async () => {
      const [s, p] = await Promise.all([connect(sim, a, "10.0.0.2:80"), accept(sim, b.tcpBind("10.0.0.2:80"))]);
      sim.setTimeout(() => sim.partition("a", "b"), 200);
      sim.setTimeout(() => sim.repair(b, a), 90_000);
      const [, got] = await Promise.all([writeAll(sim, s, data).then(() => s.shutdown("write")), readToEnd(sim, p)]);
      return { got, repairedAt: 90_000 + 20, doneAt: sim.now() };
    });
    expect(sha(got)).toBe(sha(data));
    expect(doneAt).toBeGreaterThan(repairedAt); // it did wait for the repair
    expect(sim.stats().dropped.partition).toBeGreaterThan(0);
  });

  it("drops packets in flight when they arrive to a partition; a third host is unaffected", async () => {
    const { sim, a, b, c } = threeOnSwitch(3);
    await sim.run(async () => {
      const rb = b.udpBind("10.0.0.2:9");
      const rc = c.udpBind("10.0.0.3:9");
      const u = a.udpBind("10.0.0.1:9");
      u.sendTo(Buffer.from("in flight"), "10.0.0.2:9");
      u.sendTo(Buffer.from("to c"), "10.0.0.3:9");
      await sim.sleep(5); // half way: at the switch
      sim.partition(a, b);
      u.sendTo(Buffer.from("while cut"), "10.0.0.2:9");
      await sim.sleep(20);
      expect(drain(rb)).toEqual([]);
      expect(drain(rc)).toEqual(["to c"]);
      sim.repair(a, b);
      u.sendTo(Buffer.from("after repair"), "10.0.0.2:9");
      await sim.sleep(10);
      expect(drain(rb)).toEqual(["after repair"]);
    });
    expect(sim.stats().dropped).toEqual({ partition: 2 });
  });
});

/** Hosts a, b, c (10.0.0.1-3) on one switch, 5 ms links. */
function threeOnSwitch(seed: number): { sim: Sim; a: Stack; b: Stack; c: Stack } {
  const sim = new Sim({ seed });
  sims.push(sim);
  const sw = sim.switch("sw");
  const [a, b, c] = ["a", "b", "c"].map((n, i) => sim.host(n, { addresses: [`10.0.0.${i + 1}/24`] })) as [Stack, Stack, Stack];
  for (const h of [a, b, c]) sim.link(h, sw, { delayMs: 5 });
  return { sim, a, b, c };
}

describe("sim.hold / sim.release", () => {
  it("queues packets until release, then delivers them at that instant, in order", async () => {
    const { sim, a, b, c } = threeOnSwitch(4);
    await sim.run(async () => {
      const rb = b.udpBind("10.0.0.2:9");
      const rc = c.udpBind("10.0.0.3:9");
      const ua = a.udpBind("10.0.0.1:9");
      sim.hold(a, b);
      for (let i = 0; i < 5; i++) {
        ua.sendTo(Buffer.from(`held ${i}`), "10.0.0.2:9");
        ua.sendTo(Buffer.from(`free ${i}`), "10.0.0.3:9");
        await sim.sleep(1);
      }
      await sim.sleep(500);
      expect(drain(rb)).toEqual([]);
      expect(drain(rc)).toEqual([0, 1, 2, 3, 4].map((i) => `free ${i}`));
      expect(sim.stats().held).toBe(5);
      // b's answers are held too (both directions)
      b.udpBind("10.0.0.2:10").sendTo(Buffer.from("reply"), "10.0.0.1:9");
      await sim.sleep(100);
      expect(drain(ua)).toEqual([]);
      const releasedAt = sim.now();
      sim.release(b, a);
      const ready = await sim.ready(rb);
      expect(ready.readable).toBe(true);
      expect(sim.now()).toBe(releasedAt);
      expect(drain(rb)).toEqual([0, 1, 2, 3, 4].map((i) => `held ${i}`));
      expect(drain(ua)).toEqual(["reply"]);
      expect(sim.stats().held).toBe(0);
      // after release, traffic flows normally again
      ua.sendTo(Buffer.from("later"), "10.0.0.2:9");
      await sim.ready(rb);
      expect(sim.now()).toBe(releasedAt + 10);
      expect(drain(rb)).toEqual(["later"]);
    });
  });

  it("a held TCP transfer resumes after release and completes", async () => {
    const { sim, a, b } = twoHosts(5);
    const data = bytes(300_000, 5);
    const got = await sim.run(async () => {
      const [s, p] = await Promise.all([connect(sim, a, "10.0.0.2:80"), accept(sim, b.tcpBind("10.0.0.2:80"))]);
      sim.setTimeout(() => sim.hold(a, b), 50);
      sim.setTimeout(() => sim.release(a, b), 5_000);
      const [, got] = await Promise.all([writeAll(sim, s, data).then(() => s.shutdown("write")), readToEnd(sim, p)]);
      expect(sim.now()).toBeGreaterThan(5_000);
      return got;
    });
    expect(sha(got)).toBe(sha(data));
  });
});

describe("sim.crash / sim.restart", () => {
  it("after a crash and restart of the server, the client's next exchange gets ECONNRESET; connects are refused", async () => {
    const { sim, a, b } = twoHosts(6);
    await sim.run(async () => {
      const [s, p] = await Promise.all([connect(sim, a, "10.0.0.2:80"), accept(sim, b.tcpBind("10.0.0.2:80"))]);
      await writeAll(sim, s, Buffer.from("ping"));
      expect((await readSome(sim, p)).toString()).toBe("ping");
      sim.crash(b);
      expect(() => b.tcpBind("10.0.0.2:81")).toThrow(/stack is closed/);
      // while down: the client's data goes nowhere (no RST: a crash says nothing)
      await writeAll(sim, s, Buffer.from("anyone?"));
      await sim.sleep(1000);
      expect(s.takeError()).toBeNull();
      const b2 = sim.restart(b);
      expect(b2).not.toBe(b);
      expect(sim.stack("b")).toBe(b2);
      // the next retransmission reaches the fresh stack, which answers with a RST
      const r = await readSome(sim, s);
      expect(r).toBeInstanceOf(IoError);
      expect((r as IoError).code).toBe("ECONNRESET");
      // the restarted host has no listener: refused
      const err = await connect(sim, a, "10.0.0.2:80").catch((e: unknown) => e);
      expect((err as IoError).code).toBe("ECONNREFUSED");
      // and once it listens again, connects work
      const l2 = b2.tcpBind("10.0.0.2:80");
      const [s2, p2] = await Promise.all([connect(sim, a, "10.0.0.2:80"), accept(sim, l2)]);
      await writeAll(sim, s2, Buffer.from("hello again"));
      s2.shutdown("write");
      expect((await readToEnd(sim, p2)).toString()).toBe("hello again");
    });
    expect(sim.stats().dropped.crashed).toBeGreaterThan(0);
  });

  it("a crashed host's old sockets stay dead, and a crashed host does not answer", async () => {
    const { sim, a, b } = twoHosts(7);
    const err = await sim.run(async () => {
      const l = b.tcpBind("10.0.0.2:80");
      sim.crash("b");
      sim.crash("b"); // idempotent
      expect(l.accept()).toBe(WOULD_BLOCK);
      return connect(sim, a, "10.0.0.2:80").catch((e: unknown) => e);
    });
    // six SYN retries: 1 + 2 + ... + 32 s, then 64 s more
    expect((err as IoError).code).toBe("ETIMEDOUT");
    expect(sim.now()).toBeGreaterThanOrEqual(127_000);
  });
});
