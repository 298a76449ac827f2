/**
 * `tsmio run`: the command in a sandbox ({@link startSandbox}) whose TUN
 * device the {@link Relay} serves, until the command ends. Signals INT,
 * TERM, HUP and QUIT go on to the command; the exit status is the
 * command's. At the end every socket, the stack and the TUN descriptor are
 * closed (the namespace ends with its last process and last descriptor).
 */
import { IoError } from "../error.js";
import { Events } from "../poll/event.js";
import { Poll } from "../poll/poll.js";
import { Token } from "../poll/token.js";
import { Waker } from "../poll/waker.js";
import { formatFlows } from "../relay/flow-record.js";
import { DNS4 } from "../relay/network-plan.js";
import { Relay } from "../relay/relay.js";
import { hostNameservers } from "../relay/resolv-conf.js";
import { startSandbox } from "../relay/sandbox.js";
import { PcapTap } from "../stack/iface/index.js";
import { TunDevice } from "../tun/tun-device.js";
import type { RunOptions } from "./run-options.js";

const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"] as const;
/** Busy rounds of the relay before it lets Node's event loop turn (child exit, signals). */
const BUSY_ROUNDS = 64;
/**
 * After the command ended, how long the relay may go on passing on what its
 * connections' stack already acknowledged to the command (ms), and how often
 * it looks whether that is done.
 */
const DRAIN_MS = 10_000;
const DRAIN_STEP_MS = 50;
/** The relay's TCP buffers: large, as the host's kernel sockets have. */
const RELAY_TCP_BUFFER = 1 << 22;

/** Runs `options.command` in a sandbox; resolves with its exit status. Setup failures reject with {@link IoError}. */
export async function runCommand(options: RunOptions, log: (line: string) => void): Promise<number> {
  const dns = options.dns !== null ? [options.dns] : hostNameservers();
  const sandbox = await startSandbox({
    command: options.command,
    args: options.args,
    mtu: options.mtu,
    offload: true,
    resolvConf: `nameserver ${DNS4}\n`,
  });
  const poll = new Poll();
  const tun = TunDevice.fromFd(sandbox.tunFd, sandbox);
  let tap: PcapTap | null = null;
  let relay: Relay;
  try {
    if (options.pcap !== null) tap = new PcapTap(tun, options.pcap);
    relay = new Relay({
      poll,
      device: tap ?? tun,
      hostLoopback: options.hostLoopback,
      outbound: options.outbound,
      dns,
      publish: options.publish,
      tcp: { sendBuffer: RELAY_TCP_BUFFER, recvBuffer: RELAY_TCP_BUFFER },
    });
  } catch (e) {
    sandbox.kill("SIGKILL");
    await sandbox.wait();
    tap?.close();
    tun.close();
    poll.close();
    if (e instanceof Error && !(e instanceof IoError)) throw new IoError("EINVAL", e.message);
    throw e;
  }
  const waker = new Waker(poll.registry(), Token(0));
  let status: number | null = null;
  void sandbox.wait().then((s) => {
    status = s;
    waker.wake();
  });
  const forward = (signal: NodeJS.Signals): void => sandbox.kill(signal);
  for (const s of FORWARDED_SIGNALS) process.on(s, forward);
  try {
    sandbox.start();
    await serve(poll, relay, tun, () => status !== null, null);
    // what the command sent and the stack acknowledged is still on its way to the host: the
    // namespace's kernel keeps its closed sockets' data and FINs coming; pass them on, for a while
    const until = Date.now() + DRAIN_MS;
    await serve(poll, relay, tun, () => relay.drained() || Date.now() >= until, DRAIN_STEP_MS);
  } finally {
    for (const s of FORWARDED_SIGNALS) process.off(s, forward);
    relay.close();
    tun.flush();
    tap?.close();
    tun.close();
    poll.close();
  }
  if (options.stats) {
    const { records, omitted } = relay.flows();
    log(`flows: ${formatFlows(records).trimEnd()}${omitted > 0 ? `\n  (${omitted} older flows not listed)` : ""}`);
  }
  return status ?? 1;
}

/**
 * The relay's loop: wait (letting Node's event loop run: child exit,
 * signals) until something is ready, at most `maxWaitMs` (null: as long as
 * nothing is due), then handle events and poll again without waiting while
 * there are more, letting the event loop turn every {@link BUSY_ROUNDS}
 * rounds, until `done`.
 */
async function serve(poll: Poll, relay: Relay, tun: TunDevice, done: () => boolean, maxWaitMs: number | null): Promise<void> {
  const events = new Events(1024);
  while (!done()) {
    const due = relay.tick();
    await poll.pollAsync(events, maxWaitMs === null ? due : Math.min(due ?? maxWaitMs, maxWaitMs));
    for (let rounds = 1; !events.isEmpty(); rounds++) {
      for (const e of events) relay.handle(e);
      tun.flush();
      if (rounds % BUSY_ROUNDS === 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (done()) return;
        relay.tick();
      }
      poll.poll(events, 0);
    }
    tun.flush();
  }
}
