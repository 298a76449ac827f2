/**
 * The wiring of a {@link Sim}: which node (host, switch, router) each Link end
 * belongs to, who owns which address, the next hop from any node towards any
 * host (shortest path over the links, computed on demand), the rules between
 * pairs of hosts (partitioned, held), tracers and counters.
 * @internal
 */
import type { SimClock } from "../poll/clock.js";
import type { Link, LinkEnd } from "../stack/iface/link.js";
import type { Cidr } from "../stack/iface/cidr.js";

/** One end of a Link as seen from the node it is plugged into. */
export interface Port {
  readonly end: LinkEnd;
  readonly link: Link;
  /** the node at the other end */
  readonly peer: SimNode;
}

/** A host, a switch or a router: something Links plug into. */
export interface SimNode {
  readonly kind: "host" | "switch" | "router";
  readonly name: string;
  readonly ports: Port[];
}

/** What the Sim itself did with packets (the Links count their own losses). */
export interface SimStats {
  /** Packets hosts put on the wire. */
  sent: number;
  /** Packets handed to a host's stack. */
  delivered: number;
  /** Packets switches passed on. */
  forwarded: number;
  /** Packets waiting in holds right now. */
  held: number;
  /**
   * Packets the Sim dropped, by reason: `"partition"`, `"crashed"` (sent to
   * or by a crashed host), `"no-route"` (no host owns the destination, or no
   * path leads there), `"malformed"` (not an IP packet).
   */
  dropped: Record<string, number>;
}

/**
 * Sees a packet a host of a Sim puts on the wire (`dropped` undefined), and
 * again if the network drops it (`dropped` says why: a Link's `"loss"`,
 * `"queue"`, `"mtu"`, `"down"`, or the Sim's `"partition"`, `"no-route"`,
 * `"ttl"`, ...; `from` is then the node where it was dropped or that put it
 * on the dropping link). The bytes are valid during the call only: copy
 * them to keep them. The time is virtual, in ms. See `sim.trace`.
 */
export type SimTraceFn = (packet: Uint8Array, timeMs: number, from: string, dropped?: string) => void;

/** How traffic between two hosts is treated. */
export type PairRule = "partition" | "hold";

/** Map key of an address. */
function keyOf(bytes: Uint8Array): string {
  let key = "";
  for (let i = 0; i < bytes.length; i++) key += String.fromCharCode(bytes[i]!);
  return key;
}

export class Fabric {
  /** Changes of this count tell the run loop that packets moved. */
  moved = 0;
  readonly tracers = new Set<SimTraceFn>();
  private readonly counts = { sent: 0, delivered: 0, forwarded: 0, held: 0 };
  private readonly dropped = new Map<string, number>();
  private readonly owners = new Map<string, SimNode>();
  private readonly rules = new Map<string, PairRule>();
  private readonly hops = new Map<SimNode, Map<SimNode, Port>>();

  constructor(readonly clock: SimClock) {}

  /**
   * Records `addresses` as owned by `host` (with `dryRun`, only checks);
   * throws a TypeError if another host has one of them.
   */
  claim(host: SimNode, addresses: Cidr[], dryRun = false): void {
    for (const a of addresses) {
      const other = this.owners.get(keyOf(a.bytes));
      if (other !== undefined && other !== host) throw new TypeError(`address ${a.ip} already belongs to host "${other.name}"`);
    }
    if (!dryRun) for (const a of addresses) this.owners.set(keyOf(a.bytes), host);
  }

  /** Plugs `link` between `x` (its end a) and `y` (its end b). */
  connect(x: SimNode, y: SimNode, link: Link): void {
    x.ports.push({ end: link.a, link, peer: y });
    y.ports.push({ end: link.b, link, peer: x });
    this.hops.clear();
  }

  /** The host owning the source (`"src"`) or destination address of `packet`: null if nobody does, undefined if it is no IP packet. */
  ownerOf(packet: Uint8Array, which: "src" | "dst"): SimNode | null | undefined {
    const version = packet.length > 0 ? packet[0]! >> 4 : 0;
    let at: number;
    let len: number;
    if (version === 4 && packet.length >= 20) [at, len] = [which === "src" ? 12 : 16, 4];
    else if (version === 6 && packet.length >= 40) [at, len] = [which === "src" ? 8 : 24, 16];
    else return undefined;
    return this.owners.get(keyOf(packet.subarray(at, at + len))) ?? null;
  }

  /** The port of `from` on a shortest path to `to` (through switches and routers only), or null. */
  nextHop(from: SimNode, to: SimNode): Port | null {
    let table = this.hops.get(from);
    if (table === undefined) this.hops.set(from, (table = this.paths(from)));
    return table.get(to) ?? null;
  }

  /** Breadth first from `from`, links in creation order; hosts do not pass traffic on. */
  private paths(from: SimNode): Map<SimNode, Port> {
    const first = new Map<SimNode, Port>();
    const queue: SimNode[] = [];
    const reach = (node: SimNode, via: Port): void => {
      if (node === from || first.has(node)) return;
      first.set(node, via);
      if (node.kind !== "host") queue.push(node);
    };
    for (const p of from.ports) reach(p.peer, p);
    for (let i = 0; i < queue.length; i++) {
      const n = queue[i]!;
      const via = first.get(n)!;
      for (const p of n.ports) reach(p.peer, via);
    }
    return first;
  }

  /** The rule between hosts `a` and `b` (either direction), if any. */
  rule(a: SimNode, b: SimNode): PairRule | undefined {
    return this.rules.get(pairKey(a, b));
  }

  /** Sets (or with undefined, clears) the rule between `a` and `b`. */
  setRule(a: SimNode, b: SimNode, rule: PairRule | undefined): void {
    if (rule === undefined) this.rules.delete(pairKey(a, b));
    else this.rules.set(pairKey(a, b), rule);
  }

  /** Told the error of a tracer that threw (the tracer is removed first). */
  onTraceError: (error: unknown) => void = () => {};

  /**
   * Shows `packet`, sent by `from` (or, with `dropped`, dropped there), to
   * every tracer at the current virtual time. A tracer that throws is removed and its error handed to
   * {@link onTraceError}, so the stack that was sending is never left half-way.
   */
  record(packet: Uint8Array, from: SimNode, dropped?: string): void {
    if (this.tracers.size === 0) return;
    const now = this.clock.now();
    for (const t of this.tracers) {
      try {
        t(packet, now, from.name, dropped);
      } catch (err) {
        this.tracers.delete(t);
        this.onTraceError(err);
      }
    }
  }

  count(what: "sent" | "delivered" | "forwarded" | "held", n = 1): void {
    this.counts[what] += n;
    this.moved++;
  }

  /** Drops `packet` at node `at`: counted under `reason` and shown to the tracers. */
  discard(packet: Uint8Array, at: SimNode, reason: string): void {
    this.drop(reason);
    this.record(packet, at, reason);
  }

  drop(reason: string, n = 1): void {
    if (n > 0) this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + n);
  }

  stats(): SimStats {
    const dropped: Record<string, number> = {};
    for (const [k, v] of [...this.dropped].sort(([a], [b]) => (a < b ? -1 : 1))) dropped[k] = v;
    return { ...this.counts, dropped };
  }
}

/** The key of an unordered pair of nodes (names are unique in a Sim). */
function pairKey(a: SimNode, b: SimNode): string {
  return a.name < b.name ? `${a.name}\u0000${b.name}` : `${b.name}\u0000${a.name}`;
}

/** The port whose next packet has arrived earliest (at or before `now`), or null; ties go to the first port. */
export function earliestDue(ports: readonly Port[], now: number): Port | null {
  let best: Port | null = null;
  let bestAt = Infinity;
  for (const p of ports) {
    const at = p.end.pollAt();
    if (at !== null && at <= now && at < bestAt) [best, bestAt] = [p, at];
  }
  return best;
}

/** The earliest arrival pending on any of `ports`, or null. */
export function nextArrival(ports: readonly Port[]): number | null {
  let next: number | null = null;
  for (const p of ports) {
    const at = p.end.pollAt();
    if (at !== null && (next === null || at < next)) next = at;
  }
  return next;
}
