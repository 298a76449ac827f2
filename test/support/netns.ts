/**
 * Scaffolding for suites that need a private network namespace (TUN devices,
 * real peers): `netnsSuite(name, fn)` is a `describe` whose tests run in a
 * fresh namespace entered in `beforeAll` and left in `afterAll`, so nothing
 * they configure or send can reach the host's network.
 *
 * Without the privileges (root / CAP_NET_ADMIN) or without /dev/net/tun the
 * suite is skipped with one line saying why; when `CI` is set it fails
 * instead, so CI cannot silently run without these tests.
 */
import { execFileSync, spawn, type SpawnOptions } from "node:child_process";
import { readlinkSync } from "node:fs";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { enterFreshNetns, TunDevice } from "../../src/index.js";

/** The addresses the TUN suites use: the kernel's side of the interface and the Stack's. */
export const KERNEL4 = "10.7.0.1";
export const KERNEL6 = "fd07::1";
export const STACK4 = "10.7.0.2";
export const STACK6 = "fd07::2";

let probed: string | null | undefined;

/**
 * Why namespace + TUN tests cannot run here, or null when they can: tries
 * what the suites do (a fresh namespace, a TUN device in it) and undoes it.
 */
export function netnsUnavailable(): string | null {
  if (probed !== undefined) return probed;
  probed = null;
  let restore: (() => void) | null = null;
  try {
    restore = enterFreshNetns();
    new TunDevice().close();
  } catch (e) {
    probed = `needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) and /dev/net/tun: ${(e as Error).message}`;
  } finally {
    restore?.();
  }
  return probed;
}

/** The calling thread's network namespace, e.g. `net:[4026531840]`. */
export function currentNetns(): string {
  return readlinkSync("/proc/thread-self/ns/net");
}

/**
 * A `describe` whose tests run inside a fresh network namespace of their own
 * (loopback up). Skipped, with one line of explanation, where namespaces or
 * TUN devices are unavailable; failing instead when `process.env.CI` is set.
 */
export function netnsSuite(name: string, fn: () => void): void {
  const why = netnsUnavailable();
  if (why !== null && !process.env.CI) {
    console.warn(`[tsmio] skipping "${name}": ${why}`);
    describe.skip(name, fn);
    return;
  }
  describe(name, () => {
    let restore: (() => void) | null = null;
    beforeAll(() => {
      if (why !== null) throw new Error(`${why} (CI is set, so these tests must run)`);
      const host = currentNetns();
      restore = enterFreshNetns();
      // safety: never configure interfaces in the namespace we started in
      expect(currentNetns(), "entered a fresh network namespace").not.toBe(host);
    });
    afterAll(() => {
      restore?.();
    });
    fn();
  });
}

/** `ip -j ARGS` run in the current namespace, parsed (reading state only). */
export function ipJson<T = unknown>(...args: string[]): T {
  return JSON.parse(execFileSync("ip", ["-j", ...args], { encoding: "utf8" })) as T;
}

/** One interface as `ip -j addr` shows it (the fields the tests read). */
export interface IpAddrEntry {
  ifname: string;
  mtu: number;
  flags: string[];
  operstate: string;
  addr_info: Array<{ family: "inet" | "inet6"; local: string; prefixlen: number }>;
}

/** The result of a child process run by {@link runChild}. */
export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Starts `cmd` (in the current namespace) and returns its completion as a
 * promise; the test keeps polling its Poll meanwhile, so that the stack can
 * answer the child. The child is killed after `timeoutMs`.
 */
export function runChild(cmd: string, args: string[], timeoutMs = 10_000, options: SpawnOptions = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
