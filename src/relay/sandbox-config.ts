/**
 * What the sandbox launcher ({@link startSandbox}) tells the helper process
 * it starts inside the new network namespace (src/relay/sandbox-child.ts):
 * one JSON argument, and the control socket as descriptor 3.
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
}

/** The descriptor the control socket has in the helper. */
export const CONTROL_FD = 3;

/** The byte the parent writes to let the command start. */
export const GO = 0x67;
