/**
 * The sandbox launcher of `tsmio run`: a command in a network namespace of
 * its own whose only way out is a TUN interface, the other end of which this
 * process holds (as slirp4netns does with a tap device). The namespace's
 * traffic reaches this process as IP packets on the TUN descriptor, which a
 * {@link TunDevice} made with {@link TunDevice.fromFd} hands to a Stack.
 *
 * The namespace is made by `unshare(1)`: `unshare --net` as root, `unshare
 * --user --map-root-user --net` otherwise (an unprivileged user namespace,
 * in which the helper is root). No `--fork`: without a PID namespace the
 * helper can be the process `unshare` execs, so its pid is the spawned one
 * and signals reach it directly. The helper
 * (src/relay/sandbox-child.ts, `dist/sandbox-child.js` when built) sets the
 * namespace up and sends the TUN descriptor back over a Unix socket
 * (SCM_RIGHTS); the command starts when {@link Sandbox.start} says so. The
 * namespace ends with its last process.
 */
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";
import { IoError } from "../error.js";
import { C, errno as E, sys } from "../native.js";
import { SourceFd } from "../net/source-fd.js";
import { Events } from "../poll/event.js";
import { Interest } from "../poll/interest.js";
import { Poll } from "../poll/poll.js";
import { Token } from "../poll/token.js";
import type { RouteConfig } from "../stack/iface/routes.js";
import { GO, type SandboxChildConfig } from "./sandbox-config.js";

/** Options for {@link startSandbox}. */
export interface SandboxOptions {
  /** The command to run in the namespace, and its arguments. */
  command: string;
  args: string[];
  /** The interface's MTU, 68..65535. Default 1500. */
  mtu?: number;
  /** The TUN interface's name in the namespace. Default `tsmio0`. */
  name?: string;
  /**
   * Whether the TUN device is opened with offloads (see
   * {@link TunOptions.offload}); the parent's {@link TunDevice.fromFd} must
   * say the same. Default false.
   */
  offload?: boolean;
  /** The namespace's addresses. Default `["10.0.2.100/24", "fd00::100/64"]`. */
  addresses?: string[];
  /** Its routes. Default: the default routes via `10.0.2.2` and `fd00::2`. */
  routes?: RouteConfig[];
  /** The command's environment. Default: this process's. */
  env?: Record<string, string | undefined>;
  /** The command's working directory. Default: this process's. */
  cwd?: string;
  /** How long the helper may take to hand over the TUN descriptor. Default 10 s. */
  setupTimeoutMs?: number;
}

/** A running sandbox (see {@link startSandbox}). */
export interface Sandbox {
  /**
   * The TUN descriptor (close-on-exec, non-blocking), owned by the caller:
   * wrap it with `TunDevice.fromFd(sandbox.tunFd, sandbox)`, whose close()
   * closes it.
   */
  readonly tunFd: number;
  /** The interface's name inside the namespace, its MTU, and whether it has offloads. */
  readonly name: string;
  readonly mtu: number;
  readonly offload: boolean;
  /** The helper's pid: the first process of the namespace, the command's parent. */
  readonly pid: number;
  /** Lets the command start; call once the TUN descriptor is being served. */
  start(): void;
  /** The command's exit status (128 + signal number when a signal ended it); the helper's, if it failed first. */
  wait(): Promise<number>;
  /** Sends `signal` to the helper, which passes INT, TERM, HUP and QUIT on to the command. No-op once ended. */
  kill(signal?: NodeJS.Signals): void;
}

const DEFAULT_ADDRESSES = ["10.0.2.100/24", "fd00::100/64"];
const DEFAULT_ROUTES: RouteConfig[] = [
  { dest: "0.0.0.0/0", via: "10.0.2.2" },
  { dest: "::/0", via: "fd00::2" },
];
const EAGAIN = E.EAGAIN!;
const HELLO_MAX = 512;

/** The helper's program and the node options it needs (the TypeScript loader when run from source). */
function helperArgv(): string[] {
  const here = import.meta.url;
  if (here.endsWith(".ts")) {
    return ["--import", fileURLToPath(new URL("../../scripts/ts-loader.mjs", here)), fileURLToPath(new URL("./sandbox-child.ts", here))];
  }
  // the built bundles (dist/index.js, dist/cli.js) sit beside dist/sandbox-child.js
  return [fileURLToPath(new URL("./sandbox-child.js", here))];
}

/**
 * Starts `options.command` in a new network namespace whose interface
 * `tsmio0` (10.0.2.100/24, fd00::100/64, default routes via 10.0.2.2 and
 * fd00::2 unless told otherwise) is a TUN device held by this process.
 * Resolves once the TUN descriptor has arrived; the command waits for
 * {@link Sandbox.start}. Rejects with {@link IoError} when the helper fails
 * first (its reason is on stderr) or takes longer than `setupTimeoutMs`.
 */
export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const config: SandboxChildConfig = {
    command: options.command,
    args: options.args,
    env: Object.fromEntries(
      Object.entries(options.env ?? process.env).filter((e): e is [string, string] => e[1] !== undefined),
    ),
    cwd: options.cwd ?? process.cwd(),
    name: options.name ?? "tsmio0",
    mtu: options.mtu ?? 1500,
    offload: options.offload ?? false,
    addresses: options.addresses ?? DEFAULT_ADDRESSES,
    routes: options.routes ?? DEFAULT_ROUTES,
  };
  const pair = new Int32Array(2);
  const r = sys.socketpair(C.AF_UNIX, C.SOCK_STREAM, pair);
  if (r < 0) throw IoError.fromErrno(-r, "socketpair");
  const [control, childEnd] = [pair[0]!, pair[1]!];
  const unshare = process.getuid?.() === 0 ? ["--net"] : ["--user", "--map-root-user", "--net"];
  const child = spawn("unshare", [...unshare, process.execPath, ...helperArgv(), JSON.stringify(config)], {
    // the helper's descriptor 3 (CONTROL_FD)
    stdio: ["inherit", "inherit", "inherit", childEnd],
  });
  sys.close(childEnd);
  let status: number | null = null;
  const exited = new Promise<number>((resolve) => {
    const end = (s: number): void => {
      status ??= s;
      resolve(status);
    };
    child.on("error", (e) => {
      process.stderr.write(`tsmio sandbox: unshare: ${e.message}\n`);
      end(127);
    });
    child.on("exit", (code, signal) => end(code ?? 128 + (signal !== null ? (constants.signals[signal] ?? 0) : 0)));
  });
  let tunFd: number;
  let name: string;
  try {
    [tunFd, name] = await receiveTun(control, () => status !== null, options.setupTimeoutMs ?? 10_000);
  } catch (e) {
    sys.close(control);
    if (status === null) child.kill("SIGKILL");
    await exited;
    throw e;
  }
  // the control socket stays open while the helper runs: its end tells the helper this process is gone
  const done = exited.then((s) => {
    sys.close(control);
    return s;
  });
  const pid = child.pid!;
  return {
    tunFd,
    name,
    mtu: config.mtu,
    offload: config.offload,
    pid,
    start(): void {
      if (status !== null) return;
      const w = sys.send(control, Uint8Array.of(GO), C.MSG_NOSIGNAL);
      // EPIPE: the helper ended meanwhile, which wait() reports
      if (w < 0 && w !== -E.EPIPE!) throw IoError.fromErrno(-w, "send");
    },
    wait: () => done,
    kill(signal: NodeJS.Signals = "SIGTERM"): void {
      if (status === null) child.kill(signal);
    },
  };
}

/**
 * Waits (without blocking the event loop) for the helper's message: the TUN
 * descriptor and `{ name }`. Fails when the helper ends first or `timeoutMs` passes.
 */
async function receiveTun(control: number, ended: () => boolean, timeoutMs: number): Promise<[number, string]> {
  const poll = new Poll();
  const events = new Events(4);
  const data = new Uint8Array(HELLO_MAX);
  const fds = new Int32Array(1);
  const deadline = Date.now() + timeoutMs;
  try {
    poll.registry().register(SourceFd(control), Token(0), Interest.READABLE);
    for (;;) {
      const n = sys.recvFds(control, data, fds);
      if (n > 0 && fds[0]! >= 0) {
        const fd = fds[0]!;
        try {
          const hello = JSON.parse(Buffer.from(data.subarray(0, n)).toString()) as { name?: unknown };
          if (typeof hello.name === "string") return [fd, hello.name];
        } catch {
          // reported below
        }
        sys.close(fd);
        throw new IoError("EPROTO", "the sandbox helper sent a malformed message with the TUN descriptor", "recvmsg");
      }
      if (n > 0) throw new IoError("EPROTO", "the sandbox helper sent no TUN descriptor", "recvmsg");
      if (n === 0 || ended()) throw new IoError("ECHILD", "the sandbox helper exited before handing over the TUN descriptor", "recvmsg");
      if (n !== -EAGAIN) throw IoError.fromErrno(-n, "recvmsg");
      const left = deadline - Date.now();
      if (left <= 0) throw new IoError("ETIMEDOUT", `the sandbox helper sent no TUN descriptor within ${timeoutMs} ms`, "recvmsg");
      await poll.pollAsync(events, Math.min(left, 100));
    }
  } finally {
    poll.close();
  }
}
