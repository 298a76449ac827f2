/**
 * The kernel's TCP (socat) and the Stack's over a lossy, delaying,
 * reordering path through tsmio0, both directions, byte-exact.
 *
 * Two ways to impair the path: {@link Impairment}, seeded middleware
 * between the Stack and the device (works on every kernel, impairs both
 * directions), and `tc qdisc … netem` on tsmio0's egress (the kernel's
 * packets toward the stack) with the Impairment on the other direction.
 * Kernels built without sch_netem skip the netem tests with one line.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { expect, it } from "vitest";
import { netnsSuite, netnsUnavailable, runChild } from "../support/netns.js";
import { hostPort, Impairment, peersWorld, scratchDir, seededBytes, sha256, sinkServer, sourceServer, STACK4, type World } from "./peers.js";

const SIZE = 5_000_000;
/** How long a transfer may take (typically 5-20 s here: the stack's own TCP is the slower one under reordering). */
const LIMIT_MS = 40_000;
const TIMEOUT_MS = 55_000;

/** The kernel's count of retransmitted TCP segments in this thread's namespace (/proc/thread-self/net/snmp). */
function kernelRetransmits(): number {
  const lines = readFileSync("/proc/thread-self/net/snmp", "utf8").split("\n").filter((l) => l.startsWith("Tcp:"));
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/);
  return Number(values[names.indexOf("RetransSegs")]);
}

/** Why `tc … netem` cannot run here (tried in a throwaway namespace), or null. */
function netemUnavailable(): string | null {
  if (netnsUnavailable() !== null) return "no network namespaces";
  try {
    execFileSync("unshare", ["-n", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"], { stdio: "pipe" });
    return null;
  } catch (e) {
    return `tc qdisc … netem failed (kernel without sch_netem?): ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`;
  }
}

/** kernel → stack: socat sends `SIZE` bytes, a virtual stream hashes them. */
async function upload(w: World, port: number, seed: number, limitMs: number): Promise<void> {
  const tmp = scratchDir();
  try {
    const data = seededBytes(SIZE, seed);
    const file = tmp.file("up.bin");
    writeFileSync(file, data);
    const sink = sinkServer(w, w.stack.tcpBind(hostPort(STACK4, port)));
    const r = await w.whileChild(runChild("socat", ["-u", `FILE:${file}`, `TCP:${STACK4}:${port}`], limitMs), limitMs);
    expect(r.code, `socat (seed ${seed}): ${r.stderr}`).toBe(0);
    await w.until(() => sink.digest !== null, 10_000, () => `sink read ${sink.bytes} bytes (seed ${seed})`);
    expect(sink.bytes, `seed ${seed}`).toBe(SIZE);
    expect(sink.digest, `seed ${seed}`).toBe(sha256(data));
  } finally {
    tmp.remove();
  }
}

/** stack → kernel: a virtual stream sends `SIZE` bytes, socat writes them to a file. */
async function download(w: World, port: number, seed: number, limitMs: number): Promise<void> {
  const tmp = scratchDir();
  try {
    const data = seededBytes(SIZE, seed);
    const out = tmp.file("down.bin");
    const source = sourceServer(w, w.stack.tcpBind(hostPort(STACK4, port)), data);
    const r = await w.whileChild(runChild("socat", ["-u", `TCP:${STACK4}:${port}`, `CREATE:${out}`], limitMs), limitMs);
    expect(r.code, `socat (seed ${seed}): ${r.stderr}`).toBe(0);
    await w.until(() => source.done, 10_000, () => `source sent ${source.sent} (seed ${seed})`);
    const got = readFileSync(out);
    expect(got.length, `seed ${seed}`).toBe(SIZE);
    expect(sha256(got), `seed ${seed}`).toBe(sha256(data));
  } finally {
    tmp.remove();
  }
}

const IMPAIR = { loss: 0.05, delayMs: 10, jitterMs: 5, reorder: 0.25 };

netnsSuite("kernel TCP through tsmio0 with seeded loss 5%, delay 10±5 ms, reorder 25%, both directions", () => {
  const seed = 41;
  let impairment: Impairment | null = null;
  const w = peersWorld({ wrap: (tun) => (impairment = new Impairment(tun, { ...IMPAIR, direction: "both", seed })) });

  it("socat sends 5 MB to a virtual stream byte-exact, the kernel retransmitting what was lost", async () => {
    const before = kernelRetransmits();
    await upload(w, 6001, seed, LIMIT_MS);
    const s = impairment!.stats();
    expect(s.rx.dropped, `seed ${seed}`).toBeGreaterThan(0);
    expect(s.rx.reordered, `seed ${seed}`).toBeGreaterThan(0);
    expect(kernelRetransmits() - before, `seed ${seed}: the kernel repaired the losses`).toBeGreaterThan(0);
  }, TIMEOUT_MS);

  it("a virtual stream sends 5 MB to socat byte-exact, the stack retransmitting what was lost", async () => {
    let retransmits = 0;
    w.stack.on("tcp-retransmit", () => retransmits++);
    await download(w, 6002, seed + 1, LIMIT_MS);
    const s = impairment!.stats();
    expect(s.tx.dropped, `seed ${seed}`).toBeGreaterThan(0);
    expect(s.tx.reordered, `seed ${seed}`).toBeGreaterThan(0);
    expect(retransmits, `seed ${seed}: the stack repaired the losses`).toBeGreaterThan(0);
  }, TIMEOUT_MS);
});

const netemWhy = netemUnavailable();
if (netemWhy !== null) console.warn(`[tsmio] skipping the tc netem tests: ${netemWhy}`);

netnsSuite("kernel TCP through tsmio0 under tc netem (kernel → stack), seeded impairment (stack → kernel)", () => {
  const seed = 43;
  let impairment: Impairment | null = null;
  const w = peersWorld({ wrap: (tun) => (impairment = new Impairment(tun, { ...IMPAIR, direction: "tx", seed })) });

  /** Runs `fn` with netem on tsmio0's egress (the kernel's packets toward the stack), removed afterwards. */
  async function underNetem(fn: () => Promise<void>): Promise<void> {
    execFileSync("tc", ["qdisc", "add", "dev", "tsmio0", "root", "netem", "loss", "5%", "delay", "10ms", "5ms", "reorder", "25%", "50%"]);
    try {
      await fn();
    } finally {
      execFileSync("tc", ["qdisc", "del", "dev", "tsmio0", "root"]);
    }
  }

  it.skipIf(netemWhy !== null)(
    "socat sends 5 MB to a virtual stream byte-exact",
    () =>
      underNetem(async () => {
        const before = kernelRetransmits();
        await upload(w, 6003, seed, LIMIT_MS);
        expect(kernelRetransmits() - before, "the kernel repaired netem's losses").toBeGreaterThan(0);
      }),
    TIMEOUT_MS,
  );

  it.skipIf(netemWhy !== null)(
    "a virtual stream sends 5 MB to socat byte-exact",
    () =>
      underNetem(async () => {
        let retransmits = 0;
        w.stack.on("tcp-retransmit", () => retransmits++);
        await download(w, 6004, seed + 1, LIMIT_MS);
        expect(impairment!.stats().tx.dropped, `seed ${seed}`).toBeGreaterThan(0);
        expect(retransmits, `seed ${seed}: the stack repaired the losses`).toBeGreaterThan(0);
      }),
    TIMEOUT_MS,
  );
});
