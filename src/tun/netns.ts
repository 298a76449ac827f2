/**
 * Network namespaces: run code, or a child process, in a fresh namespace of
 * its own (only a loopback interface), where TUN devices and the addresses
 * and routes given to them touch nothing of the host's network.
 *
 * A namespace change applies to the calling thread only, which in Node is the
 * main thread: every socket, TUN device and netlink request tsmio makes is
 * made on it, and every process it spawns starts in its namespace. Node's
 * other threads (the libuv pool: `dns.lookup`, asynchronous `fs`) stay in
 * the original namespace.
 *
 * Entering a fresh namespace needs CAP_SYS_ADMIN (root). A process cannot
 * make a user namespace once it has threads, and Node always has them, so an
 * unprivileged user starts the whole program in one instead:
 * `unshare --user --map-root-user --net node app.js`, or from a program,
 * {@link runInNetns}.
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { IoError } from "../error.js";
import { sys } from "../native.js";

/**
 * Moves the calling (main) thread into a fresh network namespace with its
 * loopback interface up, and returns the function that moves it back (which
 * does nothing the second time). Sockets and devices opened in between stay
 * in the new namespace, and keep it alive, until they are closed. Throws
 * {@link IoError} `EPERM` without CAP_SYS_ADMIN.
 *
 * For test files: call it in `beforeAll` and the returned function in
 * `afterAll`.
 */
export function enterFreshNetns(): () => void {
  const saved = sys.netnsOpen();
  if (saved < 0) throw IoError.fromErrno(-saved, "open /proc/thread-self/ns/net");
  const r = sys.netnsUnshare();
  if (r < 0) {
    sys.close(saved);
    const code = sys.errnoName(-r);
    if (code === "EPERM") {
      throw new IoError(code, "a fresh network namespace needs CAP_SYS_ADMIN: run as root, or inside `unshare --user --map-root-user --net`", "unshare");
    }
    throw IoError.fromErrno(-r, "unshare");
  }
  let restored = false;
  const restore = (): void => {
    if (restored) return;
    restored = true;
    const back = sys.netnsEnter(saved);
    sys.close(saved);
    if (back < 0) throw IoError.fromErrno(-back, "setns");
  };
  const lo = sys.nlLinkSet("lo", 1, -1);
  if (lo < 0) {
    restore();
    throw new IoError(sys.errnoName(-lo), `bringing up lo: ${sys.strerror(-lo)}`, "rtnetlink");
  }
  return restore;
}

/**
 * Runs `fn` in a fresh network namespace (loopback up) and returns its
 * result; the previous namespace is restored afterwards, also when `fn`
 * throws or its promise rejects. While an async `fn` awaits, the main thread
 * (all JavaScript, not just `fn`) stays in the namespace: don't run other
 * networking code concurrently. Needs CAP_SYS_ADMIN (see
 * {@link enterFreshNetns}).
 */
export function inNetns<T>(fn: () => Promise<T>): Promise<T>;
export function inNetns<T>(fn: () => T): T;
export function inNetns<T>(fn: () => T | Promise<T>): T | Promise<T> {
  if (typeof fn !== "function") throw new TypeError("inNetns needs a function");
  const restore = enterFreshNetns();
  let result: T | Promise<T>;
  try {
    result = fn();
  } catch (e) {
    restore();
    throw e;
  }
  if (result instanceof Promise) return result.finally(restore);
  restore();
  return result;
}

/**
 * Spawns `command` in a fresh network namespace of its own. As root, the
 * child starts in a namespace made here, with loopback up. Otherwise it is
 * started through `unshare --user --map-root-user --net` (util-linux): root
 * inside a new user namespace, which lets it create TUN devices in its
 * network namespace (given read-write access to /dev/net/tun), but with
 * loopback down; a child that is a tsmio program can use {@link inNetns}
 * there, which brings loopback up in a namespace of its own.
 */
export function runInNetns(command: string, args: readonly string[] = [], options: SpawnOptions = {}): ChildProcess {
  if (typeof command !== "string" || command === "") throw new TypeError("runInNetns needs a command");
  if (process.geteuid?.() !== 0) {
    return spawn("unshare", ["--user", "--map-root-user", "--net", "--", command, ...args], options);
  }
  const restore = enterFreshNetns();
  try {
    return spawn(command, args, options);
  } finally {
    restore();
  }
}
