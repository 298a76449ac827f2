/**
 * The sandbox helper: runs as pid 1 of new PID, network and mount
 * namespaces (started by {@link startSandbox} through `unshare`, with /proc
 * remounted for the new PID namespace), with its control socket to the
 * parent as descriptor 3 and a {@link SandboxChildConfig} in its
 * environment ({@link CONFIG_ENV}). It brings `lo` up, creates and configures the TUN interface,
 * puts the configured resolv.conf in place if there is one, hands the TUN
 * descriptor to the parent, and once the parent writes the go byte runs the
 * command. Signal messages from the parent go on to the command (before it
 * runs they end the helper, with 128 + the signal number); signals sent to
 * the helper itself are not passed on (as pid 1 of its namespace it has no
 * handlers, so the kernel drops all but SIGKILL and SIGSTOP). It exits with
 * the command's status (128 + the signal number when the command was killed
 * by one). When the parent goes away (end of the control socket) it kills
 * the command and exits.
 *
 * Being pid 1, its end is the end of every process in the namespace: the
 * kernel kills what the command left running.
 * @internal
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { writeFileSync, writeSync } from "node:fs";
import { Socket } from "node:net";
import { constants } from "node:os";
import { sys } from "../native.js";
import { TunDevice } from "../tun/tun-device.js";
import { CONFIG_ENV, CONTROL_FD, GO, SIGNAL, STDERR_FD, type SandboxChildConfig } from "./sandbox-config.js";

/** Where a tmpfs holds the resolv.conf while it is bind-mounted (covered for a moment, in this mount namespace only). */
const SCRATCH = "/tmp";
const RESOLV_CONF = "/etc/resolv.conf";

/** The shell's convention for a command ended by signal `name`. */
function signalStatus(name: NodeJS.Signals): number {
  return 128 + (constants.signals[name] ?? 0);
}

function fail(message: string): never {
  process.stderr.write(`tsmio sandbox: ${message}\n`);
  process.exit(125);
}

/** Runs mount(8) or umount(8) (without writing /etc/mtab); throws with its complaint when it fails. */
function mountTool(tool: "mount" | "umount", args: string[]): void {
  try {
    execFileSync(tool, ["-n", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`${tool} ${args.join(" ")}: ${stderr || (e as Error).message}`);
  }
}

/**
 * Bind-mounts a file holding `content` over /etc/resolv.conf (over the file
 * it links to, if it is a symbolic link). The file lives on a tmpfs mounted
 * over /tmp just long enough to write it: once /tmp is unmounted, the bind
 * mount is the tmpfs's only use, so nothing is left anywhere when the mount
 * namespace ends.
 */
function mountResolvConf(content: string): void {
  mountTool("mount", ["-t", "tmpfs", "-o", "size=64k,mode=0755", "tsmio", SCRATCH]);
  const file = `${SCRATCH}/resolv.conf`;
  try {
    writeFileSync(file, content, { mode: 0o644 });
    mountTool("mount", ["--bind", file, RESOLV_CONF]);
  } finally {
    mountTool("umount", [SCRATCH]);
  }
}

/** lo up, the TUN interface configured, resolv.conf in place; the TUN descriptor sent to the parent. */
function setUp(config: SandboxChildConfig): void {
  const lo = sys.nlLinkSet("lo", 1, -1);
  if (lo < 0) fail(`bringing lo up: ${sys.strerror(-lo)}`);
  if (config.resolvConf !== null) mountResolvConf(config.resolvConf);
  const tun = new TunDevice({ name: config.name, mtu: config.mtu, offload: config.offload });
  try {
    tun.configure({ addresses: config.addresses, up: true, routes: config.routes });
    const hello = Buffer.from(JSON.stringify({ name: tun.name }));
    const sent = sys.sendFds(CONTROL_FD, Int32Array.of(tun.fd!), hello);
    if (sent < 0) fail(`sending the TUN descriptor: ${sys.strerror(-sent)}`);
  } finally {
    // the parent holds its own reference now; the interface lives while it does
    tun.close();
  }
}

/** The signal's name for its number, if it has one. */
function signalName(num: number): NodeJS.Signals | undefined {
  return (Object.keys(constants.signals) as NodeJS.Signals[]).find((name) => constants.signals[name] === num);
}

function main(): void {
  const json = process.env[CONFIG_ENV];
  if (json === undefined) fail(`no ${CONFIG_ENV} in the environment (this program is started by tsmio)`);
  delete process.env[CONFIG_ENV];
  const config = JSON.parse(json) as SandboxChildConfig;
  try {
    setUp(config);
  } catch (e) {
    fail((e as Error).message);
  }
  let command: ChildProcess | null = null;
  const run = (): void => {
    command = spawn(config.command, config.args, { stdio: [0, 1, STDERR_FD], env: config.env, cwd: config.cwd });
    command.on("error", (e: NodeJS.ErrnoException) => {
      writeSync(STDERR_FD, `tsmio: ${config.command}: ${e.message}\n`);
      process.exit(e.code === "ENOENT" ? 127 : 126);
    });
    command.on("exit", (code, signal) => {
      process.exit(code ?? signalStatus(signal ?? "SIGKILL"));
    });
    // PID 1 of the namespace adopts its orphans: collect them as they end (libuv collects the command)
    const pid = command.pid ?? -1;
    process.on("SIGCHLD", () => sys.reapOrphans(pid));
  };
  const deliver = (num: number): void => {
    const name = signalName(num);
    if (name === undefined) fail(`unknown signal number ${num}`);
    if (command === null) process.exit(signalStatus(name));
    command.kill(name);
  };
  const control = new Socket({ fd: CONTROL_FD, readable: true, writable: false });
  control.on("error", () => control.destroy());
  control.on("close", () => {
    // the parent is gone: nobody relays this namespace's traffic any more
    command?.kill("SIGKILL");
    process.exit(signalStatus("SIGKILL"));
  });
  // a signal message may arrive split across reads
  let signalNext = false;
  control.on("data", (chunk: Buffer) => {
    for (const byte of chunk) {
      if (signalNext) {
        signalNext = false;
        deliver(byte);
      } else if (byte === SIGNAL) {
        signalNext = true;
      } else if (byte === GO && command === null) {
        run();
      } else {
        fail(`unexpected control byte ${byte}`);
      }
    }
  });
}

main();
