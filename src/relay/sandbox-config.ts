/**
 * What the sandbox launcher ({@link startSandbox}) tells the helper process
 * it starts inside the new namespaces (src/relay/sandbox-child.ts): a JSON
 * {@link SandboxChildConfig} in the environment variable {@link CONFIG_ENV}
 * (not an argument: the command's environment would show in everyone's
 * `ps`), and the control socket as descriptor 3.
 *
 * The control socket carries, from the parent to the helper, the go byte
 * ({@link GO}) once, and any number of signal messages ({@link SIGNAL}
 * followed by one byte, the signal's number), before or after it. Its end
 * (the parent is gone) makes the helper kill the command and exit.
 * @internal
 */
import type { RouteConfig } from "../stack/iface/routes.js";

/** The helper's instructions. */
export interface SandboxChildConfig {
  /** The command to run once the parent says go, and its arguments. */
  command: string;
  args: string[];
  /** Environment and working directory of the command. */
  env: Record<string, string>;
  cwd: string;
  /** The TUN interface to create: name, MTU, whether with offloads (virtio-net headers). */
  name: string;
  mtu: number;
  offload: boolean;
  /** The namespace's addresses on the interface, and its routes through it. */
  addresses: string[];
  routes: RouteConfig[];
  /** What the command sees as /etc/resolv.conf (a bind mount in its mount namespace); null: the host's file. */
  resolvConf: string | null;
}

/** The helper's environment variable with its configuration (JSON); the helper removes it. */
export const CONFIG_ENV = "TSMIO_SANDBOX_CONFIG";

/** The descriptor the control socket has in the helper. */
export const CONTROL_FD = 3;

/**
 * The descriptor the command's standard error has in the helper: the
 * parent's own standard error. The helper's descriptor 2 is a pipe the
 * parent reads: what `unshare` or the helper says when the setup fails
 * becomes the parent's error message.
 */
export const STDERR_FD = 4;

/** The byte the parent writes to let the command start. */
export const GO = 0x67;

/** The byte that starts a signal message; the next byte is the signal's number. */
export const SIGNAL = 0x73;
