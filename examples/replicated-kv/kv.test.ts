/**
 * The replicated key-value store (kv.ts) on three simulated replicas and a
 * client behind one switch, with the invariant its users care about: a
 * write the store acknowledged is never lost, and a replica cut off from
 * the majority never acknowledges one. Then the same code on the kernel's
 * loopback.
 */
import { createServer } from "node:net";
import { Sim, kernel, type Network, type SimTimeout } from "tsmio";
import { describe, expect, it } from "vitest";
import { Replica, call, type Entry, type ReplicaEnv } from "./kv.js";

/** Three replicas r1..r3 and a client on a lossy LAN in a Sim. */
function cluster(seed: number, loss: number) {
  const sim = new Sim({ seed });
  const lan = sim.switch("lan");
  const names = ["r1", "r2", "r3"];
  const addrs = names.map((_, i) => `10.0.0.${i + 1}:8080`);
  const hosts = names.map((name, i) => sim.host(name, { addresses: [`10.0.0.${i + 1}/24`] }));
  const client = sim.host("client", { addresses: ["10.0.0.100/24"] });
  for (const h of [...hosts, client]) sim.link(h, lan, { delayMs: 5, jitterMs: 2, loss });
  const env = (network: Network): ReplicaEnv => ({
    network,
    setTimeout: (fn, ms) => sim.setTimeout(fn, ms),
    clearTimeout: (t) => sim.clearTimeout(t as SimTimeout),
  });
  const replicas = hosts.map((h, i) => new Replica(env(h), addrs[i]!, addrs.filter((_, j) => j !== i)));
  const user = env(client);
  /** A lossy network can make a replica miss its peers' answers: a client tries again, a few times, on 503. */
  const retried = async (f: () => Promise<string>, tries: number): Promise<string> => {
    for (let i = 1; ; i++) {
      try {
        return await f();
      } catch (e) {
        if (i >= tries || (e as { status?: number }).status !== 503) throw e;
      }
    }
  };
  return {
    sim,
    hosts,
    replicas,
    /** PUT through replica i (tried `tries` times): the version it acknowledged */
    put: async (i: number, key: string, value: string, tries = 3) =>
      (JSON.parse(await retried(() => call(user, addrs[i]!, "PUT", `/kv/${key}`, value), tries)) as { version: number }).version,
    /** GET through replica i (tried `tries` times) */
    get: async (i: number, key: string, tries = 3) => JSON.parse(await retried(() => call(user, addrs[i]!, "GET", `/kv/${key}`), tries)) as Entry,
  };
}

describe("replicated key-value store in a Sim", () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`an acknowledged write survives a partition; the cut-off replica acknowledges nothing (seed ${seed})`, async () => {
      const { sim, hosts, replicas, put, get } = cluster(seed, 0.05);
      const [r1, r2, r3] = hosts as [ReturnType<typeof sim.host>, ReturnType<typeof sim.host>, ReturnType<typeof sim.host>];
      await sim.run(async () => {
        for (const r of replicas) r.start();
        const v1 = await put(0, "x", "one");

        // r3 loses the others (the client still reaches it)
        sim.partition(r3, r1);
        sim.partition(r3, r2);
        const v2 = await put(0, "x", "two");
        expect(v2).toBeGreaterThan(v1);
        await expect(put(2, "x", "three", 1), "a write through the cut-off replica").rejects.toMatchObject({ status: 503 });
        await expect(get(2, "x", 1), "a read through the cut-off replica").rejects.toMatchObject({ status: 503 });
        expect(await get(1, "x")).toEqual({ value: "two", version: v2 });
        expect(replicas[2]!.local("x")).toEqual({ value: "one", version: v1 });

        sim.repair(r3, r1);
        sim.repair(r3, r2);
        // every read, through any replica, sees the acknowledged write
        for (const i of [0, 1, 2]) expect(await get(i, "x")).toEqual({ value: "two", version: v2 });
        // and the healed replica coordinates new writes again, above it
        expect(await put(2, "x", "four")).toBeGreaterThan(v2);
        for (const i of [0, 1, 2]) expect((await get(i, "x")).value).toBe("four");
        for (const r of replicas) r.stop();
      });
      // 2 s timeouts and retransmissions took virtual time, not wall time
      expect(sim.now()).toBeGreaterThan(4000);
    });
  }

  it("the same seed replays the same run: same versions, same virtual end time", async () => {
    const ends: number[] = [];
    for (let i = 0; i < 2; i++) {
      const { sim, replicas, put } = cluster(9, 0.1);
      await sim.run(async () => {
        for (const r of replicas) r.start();
        for (let k = 0; k < 5; k++) await put(k % 3, `k${k}`, `v${k}`);
        for (const r of replicas) r.stop();
      });
      ends.push(sim.now());
    }
    expect(ends[0]).toBe(ends[1]);
  });
});

describe("the same store on the kernel's loopback", () => {
  it("three replicas on 127.0.0.1 agree on a write", async () => {
    const ports = await Promise.all([0, 1, 2].map(freePort));
    const addrs = ports.map((p) => `127.0.0.1:${p}`);
    const env: ReplicaEnv = { network: kernel, setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout) };
    const replicas = addrs.map((a, i) => new Replica(env, a, addrs.filter((_, j) => j !== i)));
    for (const r of replicas) r.start();
    try {
      const { version } = JSON.parse(await call(env, addrs[0]!, "PUT", "/kv/x", "on the kernel")) as { version: number };
      for (const a of addrs) expect(JSON.parse(await call(env, a, "GET", "/kv/x"))).toEqual({ value: "on the kernel", version });
    } finally {
      for (const r of replicas) r.stop();
    }
  });
});

/** A port nobody listens on just now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}
