/**
 * The routing table: longest-prefix match over connected prefixes (from the
 * interface's addresses) and configured routes, with an optional gateway.
 */
import { parseIp } from "../../net/socket-addr.js";
import { parseCidr, prefixMatch, type Cidr } from "./cidr.js";

/** A route: packets for `dest` go out the interface, to `via` if given. */
export interface Route {
  readonly dest: Cidr;
  /** next hop; absent for directly connected prefixes */
  readonly via: Uint8Array | null;
}

/** A route as configuration: `{ dest: "0.0.0.0/0", via: "10.0.0.254" }`. */
export interface RouteConfig {
  dest: string;
  via?: string;
}

export class RouteTable {
  private readonly routes: Route[] = [];
  /** Changes whenever a route is added (so that lookups can be cached). */
  version = 0;

  /** Adds a route; throws `TypeError` on bad input. */
  add(config: RouteConfig): void {
    const dest = parseCidr(config.dest);
    let via: Uint8Array | null = null;
    if (config.via !== undefined) {
      via = parseIp(config.via);
      if (!via || via.length !== dest.bytes.length) {
        throw new TypeError(`invalid gateway ${JSON.stringify(config.via)} for ${config.dest}`);
      }
    }
    this.routes.push({ dest, via });
    this.version++;
  }

  /** Adds the connected prefix of an interface address. */
  addConnected(addr: Cidr): void {
    this.routes.push({ dest: addr, via: null });
    this.version++;
  }

  /** The most specific route to `dst`, or null (network unreachable). */
  lookup(dst: Uint8Array): Route | null {
    let best: Route | null = null;
    for (const r of this.routes) {
      if (r.dest.bytes.length !== dst.length || !prefixMatch(dst, r.dest.bytes, r.dest.prefix)) continue;
      if (best === null || r.dest.prefix > best.dest.prefix) best = r;
    }
    return best;
  }
}
