/**
 * Sim: hosts, switches and links in virtual time; sim.run, sim timers and
 * deadlock detection; byte-identical captures for the same seed; argument
 * checking.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bytes, sha } from "./data.js";
import { afterEach, describe, expect, it } from "vitest";
import { IoError, Sim, WOULD_BLOCK } from "../../src/index.js";
import type { VirtualUdpSocket } from "../../src/stack/udp/socket.js";
import { accept, connect, readToEnd, writeAll } from "../../src/sim/sockets.js";
import { readPcap } from "../support/pcap.js";


async function recv(sim: Sim, u: VirtualUdpSocket): Promise<[Buffer, string]> {
  const buf = new Uint8Array(2048);
  for (;;) {
    const r = u.recvFrom(buf);
    if (r !== WOULD_BLOCK) return [Buffer.from(buf.subarray(0, r[0])), r[1].toString()];
    await sim.ready(u);
  }
}


let sims: Sim[] = [];
let dirs: string[] = [];
function newSim(seed = 1): Sim {
  const sim = new Sim({ seed });
  sims.push(sim);
  return sim;
}
function tempFile(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), "tsmio-sim-"));
  dirs.push(dir);
  return join(dir, name);
}
afterEach(() => {
  for (const s of sims) s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  sims = [];
  dirs = [];
});

// ---- a scenario: several hosts through a switch, TCP + UDP, impaired links ----

interface Outcome {
  received: string;
  echoes: number;
  endMs: number;
  pcap: Buffer;
}

async function scenario(seed: number): Promise<Outcome> {
  const sim = newSim(seed);
  const file = tempFile(`s${seed}.pcap`);
  const sw = sim.switch("sw");
  const a = sim.host("a", { addresses: ["10.0.0.1/24", "fd00::1/64"] });
  const b = sim.host("b", { addresses: ["10.0.0.2/24"] });
  const c = sim.host("c", { addresses: ["10.0.1.3/24", "fd00::3/64"] }); // another subnet: the switch routes anyway
  sim.link(a, sw, { delayMs: 4, jitterMs: 3, loss: 0.03, reorder: 0.05, bandwidthBps: 20e6 });
  sim.link(b, sw, { delayMs: 3, loss: 0.03, duplicate: 0.02 });
  sim.link("c", "sw", { delayMs: 6, jitterMs: 2, reorder: 0.1, loss: 0.05 });
  const capture = sim.pcap(file);
  const data = bytes(120_000, seed);
  const out = await sim.run(async () => {
    const l = b.tcpBind("10.0.0.2:80");
    const echo = a.udpBind("[fd00::1]:7");
    void (async () => {
      for (;;) {
        const [d, from] = await recv(sim, echo);
        echo.sendTo(d, from);
      }
    })();
    const tcp = (async () => {
      const [s, peer] = await Promise.all([connect(sim, a, "10.0.0.2:80"), accept(sim, l)]);
      const [, got] = await Promise.all([writeAll(sim, s, data).then(() => s.shutdown("write")), readToEnd(sim, peer)]);
      return got;
    })();
    const udp = (async () => {
      const u = c.udpBind("[fd00::3]:0");
      let echoes = 0;
      const counter = (async () => {
        for (;;) {
          await recv(sim, u);
          echoes++;
        }
      })();
      void counter;
      for (let i = 0; i < 40; i++) {
        u.sendTo(bytes(100 + i * 20, i), "[fd00::1]:7");
        await sim.sleep(3);
      }
      await sim.sleep(500);
      return echoes;
    })();
    const [got, echoes] = await Promise.all([tcp, udp]);
    return { received: sha(got), echoes, endMs: sim.now() };
  });
  capture.close();
  expect(out.received).toBe(sha(data));
  return { ...out, pcap: readFileSync(file) };
}

describe("Sim determinism", () => {
  it("the same seed gives byte-identical captures; another seed a different run", async () => {
    const t0 = performance.now();
    const one = await scenario(7);
    const two = await scenario(7);
    const other = await scenario(8);
    expect(performance.now() - t0).toBeLessThan(10_000);
    const parsed = readPcap(one.pcap);
    expect(parsed.header.linktype).toBe(101);
    expect(parsed.records.length).toBeGreaterThan(150);
    let last = -1;
    for (const r of parsed.records) {
      const t = r.tsSec * 1e6 + r.tsUsec;
      expect(t).toBeGreaterThanOrEqual(last);
      last = t;
      expect([4, 6]).toContain(r.data[0]! >> 4);
      expect(r.inclLen).toBe(r.origLen);
    }
    // both IPv4 (TCP a→b) and IPv6 (UDP c↔a) went on the wire
    expect(parsed.records.some((r) => r.data[0]! >> 4 === 6)).toBe(true);
    expect(Buffer.compare(one.pcap, two.pcap)).toBe(0);
    expect(two.endMs).toBe(one.endMs);
    expect(two.echoes).toBe(one.echoes);
    expect(one.echoes).toBeGreaterThan(20);
    expect(one.echoes).toBeLessThan(40); // lossy links lost some
    expect(Buffer.compare(one.pcap, other.pcap)).not.toBe(0);
    expect(other.endMs).not.toBe(one.endMs);
  });
});

describe("Sim topology", () => {
  it("four hosts on two subnets and two families reach each other through a switch", async () => {
    const sim = newSim(2);
    const sw = sim.switch("sw");
    const addrs = ["10.0.0.1", "10.0.0.2", "10.9.0.3", "10.9.0.4"];
    const hosts = addrs.map((ip, i) => sim.host(`h${i}`, { addresses: [`${ip}/24`, `fd00::${i + 1}/64`] }));
    for (const h of hosts) sim.link(h, sw, { delayMs: 2 });
    await sim.run(async () => {
      const socks = hosts.map((h, i) => [h.udpBind(`${addrs[i]}:5000`), h.udpBind(`[fd00::${i + 1}]:5000`)] as const);
      for (const [i, [u4, u6]] of socks.entries()) {
        for (let j = 0; j < hosts.length; j++) {
          if (j === i) continue;
          u4.sendTo(Buffer.from(`v4 ${i}->${j}`), `${addrs[j]}:5000`);
          u6.sendTo(Buffer.from(`v6 ${i}->${j}`), `[fd00::${j + 1}]:5000`);
        }
      }
      for (const [j, [u4, u6]] of socks.entries()) {
        const got: string[] = [];
        for (let k = 0; k < 2 * (hosts.length - 1); k++) {
          const [d, from] = await recv(sim, k % 2 === 0 ? u4 : u6);
          got.push(`${d.toString()} from ${from}`);
        }
        const want: string[] = [];
        for (let i = 0; i < hosts.length; i++) {
          if (i === j) continue;
          want.push(`v4 ${i}->${j} from ${addrs[i]}:5000`, `v6 ${i}->${j} from [fd00::${i + 1}]:5000`);
        }
        expect(got.sort()).toEqual(want.sort());
      }
      // each datagram crossed two links of 2 ms
      expect(sim.now()).toBe(4);
    });
    expect(sim.stats()).toMatchObject({ sent: 24, delivered: 24, forwarded: 24, held: 0, dropped: {} });
  });

  it("routes over a chain of switches, by the shortest path; a host does not forward", async () => {
    const sim = newSim(3);
    const [s1, s2, s3] = [sim.switch("s1"), sim.switch("s2"), sim.switch("s3")];
    const a = sim.host("a", { addresses: ["10.0.0.1/24"] });
    const b = sim.host("b", { addresses: ["10.0.0.2/24"] });
    sim.link(a, s1, { delayMs: 1 });
    sim.link(s1, s2, { delayMs: 10 });
    sim.link(s2, s3, { delayMs: 10 });
    sim.link(s3, b, { delayMs: 1 });
    sim.link(s1, s3, { delayMs: 100 }); // shorter in hops, slower: the hop count decides
    const island = sim.host("island", { addresses: ["10.0.0.9/24"] });
    const behind = sim.host("behind", { addresses: ["10.0.0.10/24"] });
    sim.link(island, behind); // only through a host: unreachable from a
    await sim.run(async () => {
      const [s, p] = await Promise.all([connect(sim, a, "10.0.0.2:80"), accept(sim, b.tcpBind("10.0.0.2:80"))]);
      expect(sim.now()).toBe(306); // SYN, SYN-ACK, ACK: each 1 + 100 + 1 ms (three links beat four)
      await writeAll(sim, s, Buffer.from("over the chain"));
      s.shutdown("write");
      expect((await readToEnd(sim, p)).toString()).toBe("over the chain");
      const u = a.udpBind("10.0.0.1:0");
      u.sendTo(Buffer.from("x"), "10.0.0.10:9");
      u.sendTo(Buffer.from("y"), "10.0.0.77:9"); // nobody's
      await sim.sleep(1000);
    });
    expect(sim.stats().dropped).toEqual({ "no-route": 2 });
  });

  it("a host's MTU is the smallest of its links'; bandwidth and delay set the arrival time", async () => {
    const sim = newSim(4);
    const a = sim.host("a", { addresses: ["10.0.0.1/24"] });
    const b = sim.host("b", { addresses: ["10.0.0.2/24"] });
    sim.link(a, b, { mtu: 576, delayMs: 10, bandwidthBps: 1e6 });
    await sim.run(async () => {
      const rx = b.udpBind("10.0.0.2:9");
      a.udpBind("10.0.0.1:9").sendTo(new Uint8Array(1000), "10.0.0.2:9"); // fragmented to fit 576
      const [d] = await recv(sim, rx);
      expect(d.length).toBe(1000);
      // two fragments of 20 + 552 and 20 + 456 bytes (1008 of UDP), serialized at 1 Mb/s, then 10 ms
      expect(sim.now()).toBeCloseTo(((572 + 476) * 8) / 1000 + 10, 9);
    });
  });
});

describe("sim.run and virtual time", () => {
  it("sim.sleep and sim.setTimeout advance virtual time exactly, in almost no wall time", async () => {
    const sim = newSim();
    const t0 = performance.now();
    const order: Array<[string, number]> = [];
    const result = await sim.run(async () => {
      sim.setTimeout(() => order.push(["30", sim.now()]), 30);
      sim.setTimeout(() => order.push(["10a", sim.now()]), 10);
      const cancelled = sim.setTimeout(() => order.push(["never", sim.now()]), 15);
      sim.setTimeout(() => order.push(["10b", sim.now()]), 10);
      sim.setTimeout(() => order.push(["0.5", sim.now()]), 0.5);
      sim.clearTimeout(cancelled);
      await sim.sleep(20);
      order.push(["slept", sim.now()]);
      await sim.sleep(3_600_000);
      return sim.now();
    });
    expect(result).toBe(3_600_020);
    expect(sim.now()).toBe(3_600_020);
    expect(order).toEqual([
      ["0.5", 0.5],
      ["10a", 10],
      ["10b", 10],
      ["slept", 20],
      ["30", 30],
    ]);
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it("settles like fn: its value, its rejection, a sync throw; time stands still between runs", async () => {
    const sim = newSim();
    await expect(sim.run(() => 42)).resolves.toBe(42);
    await expect(sim.run(async () => Promise.reject(new RangeError("boom")))).rejects.toThrow(RangeError);
    await expect(
      sim.run(() => {
        throw new SyntaxError("sync");
      }),
    ).rejects.toThrow(SyntaxError);
    const t = sim.now();
    sim.setTimeout(() => {}, 100);
    expect(sim.now()).toBe(t);
    await sim.run(() => sim.sleep(1));
    expect(sim.now()).toBe(t + 1); // the 100 ms timer was not due: it did not move time
  });

  it("a throwing sim timer rejects the run", async () => {
    const sim = newSim();
    sim.setTimeout(() => {
      throw new Error("timer failed");
    }, 5);
    await expect(sim.run(() => sim.sleep(10))).rejects.toThrow("timer failed");
  });

  it("detects a deadlock: nothing pending in virtual time and fn unsettled", async () => {
    const sim = newSim();
    const a = sim.host("a", { addresses: ["10.0.0.1/24"] });
    const b = sim.host("b", { addresses: ["10.0.0.2/24"] });
    sim.link(a, b, { delayMs: 1 });
    const t0 = performance.now();
    const err = await sim
      .run(
        async () => {
          const u = b.udpBind("10.0.0.2:9");
          await sim.sleep(10);
          await sim.ready(u); // nobody sends
        },
        { deadlockMs: 50 },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IoError);
    expect((err as IoError).code).toBe("EDEADLK");
    expect((err as IoError).message).toMatch(/deadlock at virtual time 10 ms.*nothing can happen/);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it("gives up after maxWallMs when virtual time never stops", async () => {
    const sim = newSim();
    const tick = (): void => void sim.setTimeout(tick, 1000);
    tick();
    const err = await sim.run(() => new Promise(() => {}), { maxWallMs: 100 }).catch((e: unknown) => e);
    expect((err as IoError).code).toBe("ETIME");
    expect((err as IoError).message).toMatch(/gave up after 100 ms of wall time/);
    expect(sim.now()).toBeGreaterThan(10_000);
  });

  it("rejects nested and overlapping runs", async () => {
    const sim = newSim();
    const inner = await sim.run(async () => sim.run(() => 1).catch((e: unknown) => e));
    expect(inner).toBeInstanceOf(Error);
    expect((inner as Error).message).toMatch(/already running/);
    const first = sim.run(() => sim.sleep(5));
    await expect(sim.run(() => 2)).rejects.toThrow(/already running/);
    await first;
    await expect(sim.run(() => 3)).resolves.toBe(3);
  });
});

describe("Sim arguments", () => {
  it("throws clear TypeErrors", () => {
    const sim = newSim();
    const a = sim.host("a", { addresses: ["10.0.0.1/24"] });
    const b = sim.host("b", { addresses: ["10.0.0.2/24"] });
    expect(() => new Sim({ seed: 1.5 })).toThrow(TypeError);
    expect(() => sim.link(a, "nobody")).toThrow(/unknown node "nobody"/);
    expect(() => sim.link(a, a)).toThrow(/cannot link "a" to itself/);
    expect(() => sim.link(a, b, { delayMs: -1 })).toThrow(/delayMs must be a finite number >= 0/);
    expect(() => sim.link(a, b, { loss: 2 })).toThrow(/loss must be a probability/);
    expect(() => sim.link(a, b, { seed: 3 } as never)).toThrow(/seed.*set by the Sim/);
    sim.link(a, b);
    expect(() => sim.link(b, a)).toThrow(/already linked/);
    expect(() => sim.host("a", { addresses: ["10.0.0.3/24"] })).toThrow(/already has a node named "a"/);
    expect(() => sim.switch("b")).toThrow(/already has a node named "b"/);
    expect(() => sim.host("c", { addresses: ["10.0.0.1/16"] })).toThrow(/10\.0\.0\.1 already belongs to host "a"/);
    expect(() => sim.host("c", { addresses: [] })).toThrow(/non-empty array/);
    expect(() => sim.host("c", { addresses: ["10.0.0.300/24"] })).toThrow(/invalid address/);
    expect(() => sim.host("c", { addresses: ["10.0.0.3/24"], seed: 1 } as never)).toThrow(/"seed" is set by the Sim/);
    expect(() => sim.host("", { addresses: ["10.0.0.3/24"] })).toThrow(/non-empty name/);
    expect(() => sim.partition(a, a)).toThrow(/two different hosts/);
    expect(() => sim.partition(a, "ghost")).toThrow(/unknown host "ghost"/);
    expect(() => sim.crash({} as never)).toThrow(/expected a host of this Sim/);
    expect(() => sim.hold(a, sim.switch("sw") as never)).toThrow(/expected a host of this Sim/);
    expect(() => sim.sleep(-1)).toThrow(/ms must be a finite number >= 0/);
    expect(() => sim.setTimeout(() => {}, NaN)).toThrow(TypeError);
    expect(() => sim.pcap("")).toThrow(/file path/);
    // a host from another Sim is not one of ours
    const other = newSim(9).host("a", { addresses: ["10.0.0.1/24"] });
    expect(() => sim.link(a, other)).toThrow(/expected a host of this Sim/);
    // nothing half-made: "c" never got created
    expect(() => sim.stack("c")).toThrow(/unknown host "c"/);
  });

  it("rejects run() with bad options", async () => {
    const sim = newSim();
    await expect(sim.run(() => 1, { maxWallMs: -5 })).rejects.toThrow(/maxWallMs must be a finite number >= 0/);
    await expect(sim.run(1 as never)).rejects.toThrow(/expects a function/);
  });
});
