/**
 * sim.trace: every packet a host sends, once, when it sends it, with the
 * virtual time and the sender; stopping; a tracer that throws.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readPcap } from "../support/pcap.js";
import { Sim, WOULD_BLOCK } from "../../src/index.js";
import { Ipv4Packet, UdpPacket } from "../../src/stack/wire/index.js";

let sims: Sim[] = [];
afterEach(() => {
  for (const s of sims) s.close();
  sims = [];
});

/** Hosts a, b, c on a switch; a–sw 5 ms, sw–b and sw–c 1 ms. */
function world(): Sim {
  const sim = new Sim({ seed: 3 });
  sims.push(sim);
  const a = sim.host("a", { addresses: ["10.0.0.1/24"] });
  const b = sim.host("b", { addresses: ["10.0.0.2/24"] });
  const c = sim.host("c", { addresses: ["10.0.0.3/24"] });
  const sw = sim.switch("sw");
  sim.link(a, sw, { delayMs: 5 });
  sim.link(sw, b, { delayMs: 1 });
  sim.link(sw, c, { delayMs: 1 });
  return sim;
}

interface Seen {
  from: string;
  at: number;
  dst: string;
  payload: string;
}

function seen(packet: Uint8Array, at: number, from: string): Seen {
  const ip = new Ipv4Packet(packet);
  const udp = new UdpPacket(ip.payload);
  return { from, at, dst: ip.dst.join("."), payload: new TextDecoder().decode(udp.payload) };
}

describe("sim.trace", () => {
  it("shows each packet once, at its sender and send time, not again at the switch", async () => {
    const sim = world();
    const log: Seen[] = [];
    sim.trace((p, t, from) => log.push(seen(p, t, from)));
    const [a, b, c] = ["a", "b", "c"].map((h) => sim.stack(h));
    const ua = a!.udpBind("10.0.0.1:7");
    const ub = b!.udpBind("10.0.0.2:7");
    c!.udpBind("10.0.0.3:7");
    await sim.run(async () => {
      ua.sendTo(new TextEncoder().encode("to b"), "10.0.0.2:7");
      await sim.sleep(10);
      ub.sendTo(new TextEncoder().encode("back"), "10.0.0.1:7");
      ua.sendTo(new TextEncoder().encode("to c"), "10.0.0.3:7");
      await sim.sleep(10);
    });
    expect(log).toEqual([
      { from: "a", at: 0, dst: "10.0.0.2", payload: "to b" },
      { from: "b", at: 10, dst: "10.0.0.1", payload: "back" },
      { from: "a", at: 10, dst: "10.0.0.3", payload: "to c" },
    ]);
    expect(sim.stats().forwarded).toBe(3);
  });

  it("stops when told, and two traces of one function are two traces", async () => {
    const sim = world();
    const froms: string[] = [];
    const fn = (_p: Uint8Array, _t: number, from: string): void => void froms.push(from);
    const stop1 = sim.trace(fn);
    const stop2 = sim.trace(fn);
    const ua = sim.stack("a").udpBind("10.0.0.1:7");
    await sim.run(async () => {
      ua.sendTo(Uint8Array.of(1), "10.0.0.2:7");
      await sim.sleep(1);
      stop1();
      ua.sendTo(Uint8Array.of(2), "10.0.0.2:7");
      await sim.sleep(1);
      stop2();
      stop2();
      ua.sendTo(Uint8Array.of(3), "10.0.0.2:7");
      await sim.sleep(10);
    });
    expect(froms).toEqual(["a", "a", "a"]);
  });

  it("a tracer that throws is stopped, the run rejects with its error, and the packet is still delivered", async () => {
    const sim = world();
    let calls = 0;
    sim.trace(() => {
      calls++;
      throw new Error("tracer broke");
    });
    const ua = sim.stack("a").udpBind("10.0.0.1:7");
    const ub = sim.stack("b").udpBind("10.0.0.2:7");
    await expect(
      sim.run(async () => {
        ua.sendTo(Uint8Array.of(42), "10.0.0.2:7");
        await sim.sleep(20);
      }),
    ).rejects.toThrow("tracer broke");
    await sim.run(() => sim.sleep(20));
    const buf = new Uint8Array(16);
    const r = ub.recvFrom(buf);
    expect(r).not.toBe(WOULD_BLOCK);
    expect(buf[0]).toBe(42);
    ua.sendTo(Uint8Array.of(43), "10.0.0.2:7");
    await sim.run(() => sim.sleep(20));
    expect(calls).toBe(1);
  });

  it("shows each drop with its reason and where: link loss, a full queue, a partition, a router's TTL; the pcap keeps only what was sent", async () => {
    const sim = new Sim({ seed: 4 });
    sims.push(sim);
    const a = sim.host("a", { addresses: ["10.0.0.1/24"] });
    sim.host("b", { addresses: ["10.0.0.2/24"] });
    sim.host("c", { addresses: ["10.0.1.2/24"] });
    sim.router("r", { addresses: ["10.0.0.254/24"] });
    const lossy = sim.link("a", "r", { bandwidthBps: 8000, queueBytes: 1500 }); // 1 byte/ms, room for 1500 bytes
    sim.link("r", "b", { loss: 1 });
    sim.link("r", "c");
    const pcap = join(mkdtempSync(join(tmpdir(), "tsmio-trace-")), "drops.pcap");
    const capture = sim.pcap(pcap);
    const events: string[] = [];
    sim.trace((p, t, from, dropped) => {
      const ip = new Ipv4Packet(p);
      events.push(`${t} ${from} ${ip.dst.join(".")} ttl=${ip.ttl} len=${p.length}${dropped === undefined ? "" : ` DROPPED ${dropped}`}`);
    });
    const u = a.udpBind("10.0.0.1:7");
    await sim.run(async () => {
      u.sendTo(new Uint8Array(972), "10.0.0.2:9"); // 1000 bytes: serialized for 1000 ms, lost on r–b
      u.sendTo(new Uint8Array(972), "10.0.0.2:9"); // does not fit behind it: tail-dropped
      await sim.sleep(1500);
      u.setTtl(1);
      u.sendTo(new Uint8Array(72), "10.0.1.2:9"); // r takes its TTL to 0
      await sim.sleep(1500);
      sim.partition("a", "c");
      u.setTtl(64);
      u.sendTo(new Uint8Array(72), "10.0.1.2:9");
      await sim.sleep(10);
    });
    expect(events).toEqual([
      "0 a 10.0.0.2 ttl=64 len=1000",
      "0 a 10.0.0.2 ttl=64 len=1000",
      "0 a 10.0.0.2 ttl=64 len=1000 DROPPED queue",
      "1000 r 10.0.0.2 ttl=63 len=1000 DROPPED loss",
      "1500 a 10.0.1.2 ttl=1 len=100",
      "1600 r 10.0.1.2 ttl=1 len=100 DROPPED ttl",
      "1600 r 10.0.0.1 ttl=64 len=128",
      "3000 a 10.0.1.2 ttl=64 len=100",
      "3000 a 10.0.1.2 ttl=64 len=100 DROPPED partition",
    ]);
    expect(lossy.stats().aToB.dropped.queue).toBe(1);
    capture.close();
    expect(readPcap(readFileSync(pcap)).records.map((r) => r.data.length)).toEqual([1000, 1000, 100, 128, 100]);
    rmSync(dirname(pcap), { recursive: true, force: true });
  });

  it("rejects a non-function and a closed Sim", () => {
    const sim = world();
    expect(() => sim.trace(42 as never)).toThrow(TypeError);
    sim.close();
    expect(() => sim.trace(() => {})).toThrow(/closed/);
  });
});
