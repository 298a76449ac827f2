/**
 * Bulk TCP transfers between two Stacks over an impaired Link in virtual
 * time: every byte arrives, in order, in both directions at once, whatever
 * the loss, reordering, duplication, delay, bandwidth and MTU; lost segments
 * show up as "tcp-retransmit" events. Each failure names its seed.
 */
import { describe, expect, it } from "vitest";
import type { LinkOptions } from "../../../src/stack/iface/index.js";
import { connectPair, tcpWorld, transfer, type TransferResult } from "./world.js";

const MiB = 1024 * 1024;

interface Case {
  name: string;
  link: LinkOptions;
  family: 4 | 6;
  ab: number;
  ba: number;
  seeds: number[];
  /**
   * retransmissions must be seen (the link loses packets); on a link that
   * neither loses, reorders nor duplicates, none may happen
   */
  expectRetransmits: boolean;
}

const cases: Case[] = [
  { name: "clean, MTU 1500, v4", link: { mtu: 1500 }, family: 4, ab: 4 * MiB, ba: 1 * MiB, seeds: [1], expectRetransmits: false },
  { name: "clean, MTU 9000, v6", link: { mtu: 9000, delayMs: 20 }, family: 6, ab: 2 * MiB, ba: 2 * MiB, seeds: [2], expectRetransmits: false },
  { name: "1% loss, 20 ms, MTU 1500, v4", link: { mtu: 1500, loss: 0.01, delayMs: 20 }, family: 4, ab: 2 * MiB, ba: 1 * MiB, seeds: [11, 12, 13], expectRetransmits: true },
  { name: "1% loss, 30 ms, MTU 1280, v6", link: { mtu: 1280, loss: 0.01, delayMs: 30 }, family: 6, ab: 1 * MiB, ba: 2 * MiB, seeds: [21, 22, 23], expectRetransmits: true },
  { name: "5% loss, 20 ms, MTU 1500, v4", link: { mtu: 1500, loss: 0.05, delayMs: 20 }, family: 4, ab: 1 * MiB, ba: 1 * MiB, seeds: [31, 32, 33], expectRetransmits: true },
  { name: "5% loss, 50 ms, MTU 1280, v6", link: { mtu: 1280, loss: 0.05, delayMs: 50 }, family: 6, ab: 1 * MiB, ba: 1 * MiB, seeds: [41, 42], expectRetransmits: true },
  {
    name: "reorder + duplicate + jitter, 25 ms, MTU 1500, v4",
    link: { mtu: 1500, delayMs: 25, jitterMs: 5, reorder: 0.05, reorderDelayMs: 10, duplicate: 0.05 },
    family: 4, ab: 2 * MiB, ba: 1 * MiB, seeds: [51, 52, 53], expectRetransmits: false,
  },
  {
    name: "1% loss + reorder + duplicate, 40 ms, MTU 9000, v6",
    link: { mtu: 9000, delayMs: 40, loss: 0.01, reorder: 0.03, duplicate: 0.03 },
    family: 6, ab: 2 * MiB, ba: 2 * MiB, seeds: [61, 62], expectRetransmits: true,
  },
  {
    name: "100 Mbit/s bottleneck, 20 ms, MTU 1500, v4",
    link: { mtu: 1500, delayMs: 20, bandwidthBps: 100e6 },
    family: 4, ab: 4 * MiB, ba: 1 * MiB, seeds: [71], expectRetransmits: false,
  },
  {
    name: "10 Mbit/s bottleneck with a short queue and 1% loss, 30 ms, MTU 1280, v6",
    link: { mtu: 1280, delayMs: 30, bandwidthBps: 10e6, queueBytes: 64 * 1280, loss: 0.01 },
    family: 6, ab: 1 * MiB, ba: 1 * MiB, seeds: [81, 82], expectRetransmits: true,
  },
];

function describeResult(r: TransferResult): string {
  const f = (x: TransferResult["aToB"]): string => `written ${x.written} read ${x.read} eof ${x.eof} mismatchAt ${x.mismatchAt}`;
  return `a->b [${f(r.aToB)}] b->a [${f(r.bToA)}] after ${r.virtualMs} ms virtual, ${r.wallMs} ms wall, ${r.polls} polls`;
}

describe("TCP bulk transfer between two Stacks", () => {
  for (const c of cases) {
    for (const seed of c.seeds) {
      it(`${c.name}: ${c.ab / MiB} MiB a->b and ${c.ba / MiB} MiB b->a at once, seed ${seed}`, () => {
        const w = tcpWorld({ ...c.link, seed });
        try {
          const { client, server, listener } = connectPair(w, c.family);
          const r = transfer(w, client, server, c.ab, c.ba, { maxVirtualMs: 900_000, maxWallMs: 20_000 });
          const msg = `seed ${seed} (${c.name}): ${describeResult(r)}; link ${JSON.stringify(w.link.stats())}`;
          expect(r.aToB.mismatchAt, msg).toBe(-1);
          expect(r.bToA.mismatchAt, msg).toBe(-1);
          expect(r.aToB.read, msg).toBe(c.ab);
          expect(r.bToA.read, msg).toBe(c.ba);
          expect(r.aToB.eof && r.bToA.eof, msg).toBe(true);
          if (c.expectRetransmits) expect(w.retransmits.length, msg).toBeGreaterThan(0);
          else if (!c.link.loss && !c.link.reorder && !c.link.duplicate && !c.link.jitterMs && !c.link.queueBytes) expect(w.retransmits.length, msg).toBe(0);
          client.close();
          server.close();
          listener.close();
        } finally {
          w.a.close();
          w.b.close();
        }
      });
    }
  }

  it("retransmissions seen as events match each connection's retransmit counter", () => {
    const w = tcpWorld({ mtu: 1500, loss: 0.03, delayMs: 20, seed: 7 });
    try {
      const { client, server } = connectPair(w, 4);
      // take the stats while the connections are still open (they leave tcpStats() when closed)
      const r = transfer(w, client, server, 1 * MiB, 512 * 1024);
      expect(r.aToB.read, `seed 7: ${describeResult(r)}`).toBe(1 * MiB);
      for (const [s, stack] of [[client, w.a], [server, w.b]] as const) {
        const local = s.localAddr().toString();
        const events = w.retransmits.filter((e) => e.local === local);
        const stats = Object.entries(stack.tcpStats()).find(([k]) => k.startsWith(`${local} -> `));
        expect(stats, `no stats for ${local}`).toBeDefined();
        expect(events.length).toBeGreaterThan(0);
        expect(stats![1].retransmits).toBe(events.length);
        // every event carries the stats at that moment: the counter only grows
        for (let i = 1; i < events.length; i++) expect(events[i]!.stats.retransmits).toBeGreaterThan(events[i - 1]!.stats.retransmits);
      }
    } finally {
      w.a.close();
      w.b.close();
    }
  });

  it("1 MiB both ways at once over 5% loss, 5% duplication, reordering, 1% corruption and jitter, for 24 seeds", () => {
    const failures: string[] = [];
    const wallStart = Date.now();
    for (let seed = 1000; seed < 1024; seed++) {
      const link: LinkOptions = { mtu: 1500, delayMs: 20, jitterMs: 4, loss: 0.05, duplicate: 0.05, reorder: 0.05, reorderDelayMs: 8, corrupt: 0.01, seed };
      const w = tcpWorld(link);
      try {
        const { client, server } = connectPair(w, seed % 2 === 0 ? 4 : 6);
        const r = transfer(w, client, server, MiB, MiB, { maxVirtualMs: 900_000, maxWallMs: 10_000 });
        const good = r.aToB.mismatchAt < 0 && r.bToA.mismatchAt < 0 && r.aToB.read === MiB && r.bToA.read === MiB && r.aToB.eof && r.bToA.eof;
        if (!good) failures.push(`seed ${seed}: ${describeResult(r)}`);
      } catch (e) {
        failures.push(`seed ${seed}: threw ${String(e)}`);
      } finally {
        w.a.close();
        w.b.close();
      }
    }
    expect(failures, failures.join("\n")).toEqual([]);
    expect(Date.now() - wallStart).toBeLessThan(60_000);
  }, 90_000);

  it("after a transfer over 10% loss both ends close and every connection is gone within 5 virtual minutes, for 12 seeds", () => {
    const failures: string[] = [];
    for (let seed = 2000; seed < 2012; seed++) {
      const w = tcpWorld({ mtu: 1500, delayMs: 20, loss: 0.1, duplicate: 0.05, reorder: 0.05, seed });
      try {
        const { client, server, listener } = connectPair(w, seed % 2 === 0 ? 4 : 6);
        const r = transfer(w, client, server, 200_000, 100_000);
        if (r.aToB.read !== 200_000 || r.bToA.read !== 100_000) failures.push(`seed ${seed}: ${describeResult(r)}`);
        client.close();
        server.close();
        listener.close();
        w.run(300_000);
        const left = [...Object.entries(w.a.tcpStats()), ...Object.entries(w.b.tcpStats())];
        if (left.length > 0) failures.push(`seed ${seed}: still open ${JSON.stringify(left)}`);
      } finally {
        w.a.close();
        w.b.close();
      }
    }
    expect(failures, failures.join("\n")).toEqual([]);
  });
});
