/**
 * Network namespaces: what `inNetns`, `enterFreshNetns` and `runInNetns`
 * promise. A namespace change applies to Node's main thread only, and
 * processes it spawns start in its namespace.
 */
import { readdirSync, readlinkSync } from "node:fs";
import { expect, it } from "vitest";
import { UdpSocket, enterFreshNetns, inNetns, runInNetns } from "../../src/index.js";
import { currentNetns, ipJson, netnsSuite, runChild, type IpAddrEntry } from "../support/netns.js";

/** The namespace the test process started in (read before the suite enters its own). */
const host = currentNetns();

/** Waits for a child of runInNetns and returns its stdout. */
function output(child: ReturnType<typeof runInNetns>): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited with ${String(code)}`))));
  });
}

netnsSuite("network namespaces", () => {
  it("a fresh namespace has only loopback, and it is up", () => {
    expect(currentNetns()).not.toBe(host);
    const links = ipJson<IpAddrEntry[]>("addr", "show");
    expect(links.map((l) => l.ifname)).toEqual(["lo"]);
    expect(links[0]!.flags).toContain("UP");
    expect(links[0]!.addr_info.map((a) => a.local)).toContain("127.0.0.1");
  });

  it("moves only the main thread; processes it spawns start in its namespace", async () => {
    const ns = currentNetns();
    const tasks = readdirSync("/proc/self/task").map((tid) => ({ tid: Number(tid), ns: readlinkSync(`/proc/self/task/${tid}/ns/net`) }));
    expect(tasks.find((t) => t.tid === process.pid)!.ns).toBe(ns);
    const others = tasks.filter((t) => t.tid !== process.pid);
    expect(others.length, "Node has helper threads").toBeGreaterThan(0);
    for (const t of others) expect(t.ns, `thread ${t.tid}`).toBe(host);
    const child = await runChild("readlink", ["/proc/self/ns/net"]);
    expect(child.stdout.trim()).toBe(ns);
  });

  it("inNetns runs a function in a namespace of its own and restores the previous one", () => {
    const outer = currentNetns();
    const inner = inNetns(() => {
      expect(ipJson<IpAddrEntry[]>("link", "show").map((l) => l.ifname)).toEqual(["lo"]);
      return currentNetns();
    });
    expect(inner).not.toBe(outer);
    expect(inner).not.toBe(host);
    expect(currentNetns()).toBe(outer);
  });

  it("inNetns restores the namespace when the function throws", () => {
    const outer = currentNetns();
    expect(() =>
      inNetns(() => {
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(currentNetns()).toBe(outer);
  });

  it("inNetns with an async function stays inside across awaits and restores after it settles", async () => {
    const outer = currentNetns();
    const seen: string[] = [];
    const inner = await inNetns(async () => {
      seen.push(currentNetns());
      await new Promise((r) => setTimeout(r, 10));
      seen.push(currentNetns()); // all JS runs in the namespace while fn awaits
      return currentNetns();
    });
    expect(seen).toEqual([inner, inner]);
    expect(inner).not.toBe(outer);
    expect(currentNetns()).toBe(outer);
    await expect(
      inNetns(async () => {
        await new Promise((r) => setTimeout(r, 1));
        throw new Error("async boom");
      }),
    ).rejects.toThrow("async boom");
    expect(currentNetns()).toBe(outer);
  });

  it("sockets opened inside keep living in that namespace after it is left", () => {
    const outer = currentNetns();
    const inside = inNetns(() => UdpSocket.bind("127.0.0.1:0"));
    try {
      expect(currentNetns()).toBe(outer);
      // the same port is free out here: a different namespace, a different port space
      const outside = UdpSocket.bind(`127.0.0.1:${inside.localAddr().port}`);
      outside.close();
    } finally {
      inside.close();
    }
  });

  it("enterFreshNetns returns a restore function that works once", () => {
    const outer = currentNetns();
    const restore = enterFreshNetns();
    const inner = currentNetns();
    expect(inner).not.toBe(outer);
    restore();
    expect(currentNetns()).toBe(outer);
    restore();
    expect(currentNetns()).toBe(outer);
  });

  it("runInNetns starts a child in a namespace of its own, loopback up, and leaves ours alone", async () => {
    const outer = currentNetns();
    const child = runInNetns("sh", ["-c", "readlink /proc/self/ns/net; ip -j addr show"], { stdio: ["ignore", "pipe", "inherit"] });
    expect(currentNetns()).toBe(outer);
    const [ns, json] = (await output(child)).split("\n", 2) as [string, string];
    expect(ns).not.toBe(outer);
    expect(ns).not.toBe(host);
    const links = JSON.parse(json) as IpAddrEntry[];
    expect(links.map((l) => l.ifname)).toEqual(["lo"]);
    expect(links[0]!.flags).toContain("UP");
  });

  it("inNetns refuses a non-function without changing namespace", () => {
    const outer = currentNetns();
    expect(() => inNetns(undefined as unknown as () => void)).toThrow(TypeError);
    expect(currentNetns()).toBe(outer);
  });
});
