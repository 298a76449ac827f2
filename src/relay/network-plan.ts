/**
 * The addresses of a `tsmio run` sandbox, the same as slirp4netns's: the
 * command's interface is 10.0.2.100/24 and fd00::100/64; the relay's stack
 * answers as the gateway (10.0.2.2, fd00::2) and the DNS forwarder
 * (10.0.2.3, fd00::3).
 */
import { parseIp } from "../net/socket-addr.js";

/** The command's addresses, with their prefixes. */
export const GUEST_ADDRESSES = ["10.0.2.100/24", "fd00::100/64"];
/** The command's addresses. */
export const GUEST4 = "10.0.2.100";
export const GUEST6 = "fd00::100";
/** The gateway: the command's default routes lead here. */
export const GATEWAY4 = "10.0.2.2";
export const GATEWAY6 = "fd00::2";
/** The DNS forwarder. */
export const DNS4 = "10.0.2.3";
export const DNS6 = "fd00::3";
/** The relay stack's addresses. */
export const RELAY_ADDRESSES = [`${GATEWAY4}/24`, `${DNS4}/24`, `${GATEWAY6}/64`, `${DNS6}/64`];

/** The bytes of an address literal of this plan. */
export function planIp(s: string): Uint8Array {
  const b = parseIp(s);
  if (b === null) throw new Error(`bad address in the network plan: ${s}`);
  return b;
}
