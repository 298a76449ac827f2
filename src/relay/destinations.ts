/**
 * Where the relay takes a connection or datagram the command sent: the
 * gateway address is the host's loopback (with `--host-loopback`), the DNS
 * address port 53 is the host's resolver, the sandbox's own subnets lead
 * nowhere, and any other address is itself, if the outbound policy allows.
 */
import { SocketAddr } from "../net/socket-addr.js";
import { prefixMatch, sameIp } from "../stack/iface/cidr.js";
import { DNS4, DNS6, GATEWAY4, GATEWAY6, GUEST4, GUEST6, planIp } from "./network-plan.js";
import type { OutboundPolicy } from "./outbound-policy.js";

/** How the relay maps destinations (see {@link Destinations}). */
export interface DestinationRules {
  /** Whether the gateway addresses reach the host's loopback (127.0.0.1, ::1). */
  hostLoopback: boolean;
  /** The resolvers DNS queries to the DNS address go to (the first is used). */
  dns: readonly string[];
  /** Which other destinations may be reached. */
  outbound: OutboundPolicy;
}

const GW4 = planIp(GATEWAY4);
const GW6 = planIp(GATEWAY6);
const NS4 = planIp(DNS4);
const NS6 = planIp(DNS6);
const NET4 = planIp(GUEST4);
const NET6 = planIp(GUEST6);
const DNS_PORT = 53;

export class Destinations {
  private readonly resolver: string | null;

  constructor(private readonly rules: DestinationRules) {
    this.resolver = rules.dns[0] ?? null;
  }

  /** The host-side address for traffic the command sent to `to`, or null when it is refused. */
  target(to: SocketAddr): SocketAddr | null {
    const ip = to.ipBytes();
    const v4 = ip.length === 4;
    if (sameIp(ip, v4 ? GW4 : GW6)) {
      return this.rules.hostLoopback ? SocketAddr.parse(v4 ? `127.0.0.1:${to.port}` : `[::1]:${to.port}`) : null;
    }
    if (sameIp(ip, v4 ? NS4 : NS6)) {
      if (to.port !== DNS_PORT || this.resolver === null) return null;
      return SocketAddr.parse(this.resolver.includes(":") ? `[${this.resolver}]:${DNS_PORT}` : `${this.resolver}:${DNS_PORT}`);
    }
    // nothing else lives on the sandbox's own subnets
    if (v4 ? prefixMatch(ip, NET4, 24) : prefixMatch(ip, NET6, 64)) return null;
    return this.rules.outbound.allows(ip) ? to : null;
  }
}
