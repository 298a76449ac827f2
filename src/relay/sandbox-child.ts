/**
 * The sandbox helper: runs as the first process of a new network namespace
 * (started by {@link startSandbox} through `unshare`), with its control
 * socket to the parent as descriptor 3 and a {@link SandboxChildConfig} as
 * its one argument. It brings `lo` up, creates and configures the TUN
 * interface, hands the TUN descriptor to the parent, and once the parent
 * writes the go byte runs the command: signals it receives (INT, TERM, HUP,
 * QUIT) go on to the command, and it exits with the command's status (128 +
 * the signal number when the command was killed by one). When the parent
 * goes away (end of the control socket) it kills the command and exits.
 * @internal
 */
import { spawn, type ChildProcess } from "node:child_process";
import { Socket } from "node:net";
import { constants } from "node:os";
import { sys } from "../native.js";
import { TunDevice } from "../tun/tun-device.js";
import { CONTROL_FD, GO, type SandboxChildConfig } from "./sandbox-config.js";

const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"] as const;

/** The shell's convention for a command ended by signal `name`. */
function signalStatus(name: NodeJS.Signals): number {
  return 128 + (constants.signals[name] ?? 0);
}

function fail(message: string): never {
  process.stderr.write(`tsmio sandbox: ${message}\n`);
  process.exit(125);
}

/** lo up, the TUN interface configured; its descriptor sent to the parent. */
function setUp(config: SandboxChildConfig): void {
  const lo = sys.nlLinkSet("lo", 1, -1);
  if (lo < 0) fail(`bringing lo up: ${sys.strerror(-lo)}`);
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

function main(): void {
  const arg = process.argv[2];
  if (arg === undefined) fail("missing configuration argument (this program is started by tsmio)");
  const config = JSON.parse(arg) as SandboxChildConfig;
  try {
    setUp(config);
  } catch (e) {
    fail((e as Error).message);
  }
  let command: ChildProcess | null = null;
  for (const name of FORWARDED) {
    process.on(name, () => {
      if (command === null) process.exit(signalStatus(name));
      command.kill(name);
    });
  }
  const control = new Socket({ fd: CONTROL_FD, readable: true, writable: false });
  control.on("error", () => control.destroy());
  control.on("close", () => {
    // the parent is gone: nobody relays this namespace's traffic any more
    command?.kill("SIGKILL");
    process.exit(signalStatus("SIGKILL"));
  });
  control.once("data", (chunk: Buffer) => {
    if (chunk[0] !== GO) fail(`unexpected control byte ${chunk[0]}`);
    command = spawn(config.command, config.args, { stdio: "inherit", env: config.env, cwd: config.cwd });
    command.on("error", (e: NodeJS.ErrnoException) => {
      process.stderr.write(`tsmio sandbox: ${config.command}: ${e.message}\n`);
      process.exit(e.code === "ENOENT" ? 127 : 126);
    });
    command.on("exit", (code, signal) => {
      process.exit(code ?? signalStatus(signal ?? "SIGKILL"));
    });
  });
}

main();
