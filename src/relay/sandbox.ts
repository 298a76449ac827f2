/**
 * The sandbox launcher of `tsmio run`: a command in a network namespace of
 * its own whose only way out is a TUN interface, the other end of which this
 * process holds (as slirp4netns does with a tap device). The namespace's
 * traffic reaches this process as IP packets on the TUN descriptor, which a
 * {@link TunDevice} made with {@link TunDevice.fromFd} hands to a Stack.
 *
 * The namespaces are made by `unshare(1)`: `unshare --net --mount --pid
 * --fork --kill-child --mount-proc` as root, with `--user --map-root-user`
 * in front otherwise (an unprivileged user namespace, in which the helper is
 * root). The helper (src/relay/sandbox-child.ts, `dist/sandbox-child.js`
 * when built) is the child `unshare` forks: pid 1 of the new PID namespace,
 * whose end the kernel makes the end of every process in it. It sets the
 * namespaces up and sends the TUN descriptor back over a Unix socket
 * (SCM_RIGHTS); the command starts when {@link Sandbox.start} says so.
 *
 * Nothing outlives the sandbox: the helper kills the command and exits when
 * this process goes away (the control socket ends); `--kill-child` gives the
 * helper SIGKILL when `unshare` dies; the helper's death kills the rest. The
 * network namespace then lives only as long as the TUN descriptor, whose
 * close removes the interface. `unshare --fork` blocks SIGINT and SIGTERM,
 * so signals for the command travel over the control socket instead (see
 * {@link Sandbox.kill}).
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
import { CONFIG_ENV, GO, SIGNAL, type SandboxChildConfig } from "./sandbox-config.js";

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
  /**
   * The content of /etc/resolv.conf as the command sees it: a file
   * bind-mounted over the host's in the sandbox's mount namespace (the
   * host's file is not touched). Default: the host's file as it is.
   */
  resolvConf?: string;
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
  /**
   * The pid of the `unshare` process this process spawned: it is in the
   * sandbox's network and mount namespaces (not its PID namespace), its one
   * child is the helper (pid 1 of the sandbox's PID namespace, the command's
   * parent), and it exits with the helper's status. It blocks SIGINT and
   * SIGTERM: signal the command with {@link Sandbox.kill}.
   */
  readonly pid: number;
  /** Lets the command start; call once the TUN descriptor is being served. Later calls do nothing. */
  start(): void;
  /**
   * The command's exit status (128 + signal number when a signal ended it);
   * the helper's, if it failed first (125: setup failed, 126/127: the
   * command could not be run); 137 after `kill("SIGKILL")`. If the helper
   * itself is killed by a signal, what `unshare` reports (util-linux 2.38
   * exits with 1).
   */
  wait(): Promise<number>;
  /**
   * Sends `signal` to the command (as a message to the helper; before
   * {@link Sandbox.start} the helper exits with 128 + its number instead).
   * SIGKILL instead kills the whole sandbox at once: `unshare`, whose death
   * kills the helper, whose death kills every process of the namespace.
   * No-op once ended; throws TypeError for a signal name Node does not know.
   */
  kill(signal?: NodeJS.Signals): void;
}

const DEFAULT_ADDRESSES = ["10.0.2.100/24", "fd00::100/64"];
const DEFAULT_ROUTES: RouteConfig[] = [
  { dest: "0.0.0.0/0", via: "10.0.2.2" },
  { dest: "::/0", via: "fd00::2" },
];
const EAGAIN = E.EAGAIN!;
const HELLO_MAX = 512;
/** The namespaces and how `unshare` holds them (after `--user --map-root-user` when not root). */
const UNSHARE = ["--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc"];

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
    resolvConf: options.resolvConf ?? null,
  };
  const pair = new Int32Array(2);
  const r = sys.socketpair(C.AF_UNIX, C.SOCK_STREAM, pair);
  if (r < 0) throw IoError.fromErrno(-r, "socketpair");
  const [control, childEnd] = [pair[0]!, pair[1]!];
  const unshare = process.getuid?.() === 0 ? UNSHARE : ["--user", "--map-root-user", ...UNSHARE];
  const child = spawn("unshare", [...unshare, "--", process.execPath, ...helperArgv()], {
    // (the command's environment is in there: an environment, unlike arguments, is only for its owner to read)
    env: { ...process.env, [CONFIG_ENV]: JSON.stringify(config) },
    // the helper's descriptor 3 (CONTROL_FD; unshare holds a copy too, until it exits), and
    // this process's stderr as its 4 (STDERR_FD), for the command: its own 2 is a pipe
    // whose words during the setup become the error
    stdio: ["inherit", "inherit", "pipe", childEnd, 2],
  });
  sys.close(childEnd);
  let setupLog = "";
  let setUp = false;
  const stderrEnded = new Promise<void>((resolve) => child.stderr!.on("close", resolve));
  child.stderr!.on("data", (d: Buffer) => {
    if (setUp) process.stderr.write(d);
    else if (setupLog.length < 8192) setupLog += d.toString();
  });
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
    await Promise.race([stderrEnded, new Promise((resolve) => setTimeout(resolve, 1000))]);
    const reason = setupLog.trim().split("\n").pop()?.replace(/^tsmio sandbox: /, "");
    if (e instanceof IoError && reason) throw new IoError(e.code, `cannot set up the sandbox: ${reason}`);
    throw e;
  }
  setUp = true;
  if (setupLog !== "") process.stderr.write(setupLog);
  // the control socket stays open while the helper runs: its end tells the helper this process is gone
  const done = exited.then((s) => {
    sys.close(control);
    return s;
  });
  const pid = child.pid!;
  /** Writes to the helper; EPIPE (it ended meanwhile, which wait() reports) is no error. */
  const tell = (message: Uint8Array): void => {
    const w = sys.send(control, message, C.MSG_NOSIGNAL);
    if (w < 0 && w !== -E.EPIPE!) throw IoError.fromErrno(-w, "send");
  };
  let started = false;
  return {
    tunFd,
    name,
    mtu: config.mtu,
    offload: config.offload,
    pid,
    start(): void {
      if (status !== null || started) return;
      started = true;
      tell(Uint8Array.of(GO));
    },
    wait: () => done,
    kill(signal: NodeJS.Signals = "SIGTERM"): void {
      const num = constants.signals[signal];
      if (num === undefined) throw new TypeError(`unknown signal ${String(signal)}`);
      if (status !== null) return;
      if (signal === "SIGKILL") child.kill(signal);
      else tell(Uint8Array.of(SIGNAL, num));
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
