/**
 * A simulated host: its addresses, its Links, the packets held for it, and
 * the Device its current Stack sends and receives through (one
 * {@link HostNic} per incarnation, so a crashed Stack can no longer send).
 * @internal
 */
import type { Clock } from "../poll/clock.js";
import type { Stack, StackOptions } from "../stack/stack.js";
import type { Cidr } from "../stack/iface/cidr.js";
import type { Device } from "../stack/iface/device.js";
import { type Fabric, type Port, type SimNode, earliestDue, nextArrival } from "./fabric.js";

/** The MTU of a host that has no link yet. */
const DEFAULT_MTU = 1500;

/** A packet waiting to be handed to a host's stack, with its checksum-offload flag. */
interface Pending {
  packet: Uint8Array;
  verified: boolean;
}

/** Options a host's Stack is made with, besides its poll, device and seed. */
export type HostStackOptions = Omit<StackOptions, "poll" | "clock" | "device" | "seed">;

export class HostNode implements SimNode {
  readonly kind = "host";
  readonly ports: Port[] = [];
  /** packets from each peer (by name) held until release, in arrival order */
  readonly held = new Map<string, Pending[]>();
  /** released packets, delivered before anything else */
  readonly ready: Pending[] = [];
  stack!: Stack;
  nic!: HostNic;
  /** how many Stacks this host has had (restarts + 1) */
  incarnation = 0;
  crashed = false;

  constructor(
    readonly name: string,
    readonly addresses: Cidr[],
    readonly options: HostStackOptions,
    readonly fabric: Fabric,
  ) {}

  /** Drops every packet held for this host or released but not yet delivered. */
  discardQueued(): void {
    let n = this.ready.length;
    this.ready.length = 0;
    let held = 0;
    for (const q of this.held.values()) held += q.length;
    this.held.clear();
    n += held;
    this.fabric.count("held", -held);
    this.fabric.drop("crashed", n);
  }

  /** Drops what has arrived on the links (while the host was down). */
  discardArrived(now: number): void {
    for (let p = earliestDue(this.ports, now); p !== null; p = earliestDue(this.ports, now)) {
      const packet = p.end.receive();
      if (packet === null) break;
      this.fabric.discard(packet, this, "crashed");
    }
  }

  /** Drops what is held from `peer`, counted under `reason`. */
  dropHeld(peer: SimNode, reason: string): void {
    const q = this.held.get(peer.name);
    if (q === undefined) return;
    this.held.delete(peer.name);
    this.fabric.count("held", -q.length);
    this.fabric.drop(reason, q.length);
  }

  /** Moves what is held from `peer` to the delivery queue. */
  release(peer: SimNode): void {
    const q = this.held.get(peer.name);
    if (q === undefined) return;
    this.held.delete(peer.name);
    this.fabric.count("held", -q.length);
    this.ready.push(...q);
  }
}

/**
 * The network interface of one incarnation of a host: the Device of its
 * Stack. Sends each packet towards the host owning its destination (over the
 * host's link to it, or to the switch on the shortest path), and receives
 * from all of the host's links, earliest arrival first, applying the
 * partitions and holds between the sender and this host.
 */
export class HostNic implements Device {
  /** false once its host crashed: sends are dropped, nothing is received */
  alive = true;
  /** checksum offload of the last packet received (see {@link Device.checksumsVerified}) */
  checksumsVerified = false;
  private readonly clock: Clock;

  constructor(private readonly host: HostNode) {
    this.clock = host.fabric.clock;
  }

  /** The smallest MTU among the host's links (1500 until it has one). */
  get mtu(): number {
    let mtu = Infinity;
    for (const p of this.host.ports) mtu = Math.min(mtu, p.end.mtu);
    return mtu === Infinity ? DEFAULT_MTU : mtu;
  }

  receive(): Uint8Array | null {
    if (!this.alive) return null;
    const host = this.host;
    const fabric = host.fabric;
    const released = host.ready.shift();
    if (released !== undefined) return this.deliver(released.packet, released.verified);
    const now = this.clock.now();
    for (let port = earliestDue(host.ports, now); port !== null; port = earliestDue(host.ports, now)) {
      const packet = port.end.receive();
      if (packet === null) return null;
      const from = fabric.ownerOf(packet, "src");
      const rule = from ? fabric.rule(from, host) : undefined;
      if (rule === "partition") {
        fabric.discard(packet, host, "partition");
      } else if (rule === "hold") {
        const q = host.held.get(from!.name);
        const pending = { packet: packet.slice(), verified: port.end.checksumsVerified };
        if (q === undefined) host.held.set(from!.name, [pending]);
        else q.push(pending);
        fabric.count("held");
      } else {
        return this.deliver(packet, port.end.checksumsVerified);
      }
    }
    return null;
  }

  transmit(packet: Uint8Array): void {
    const host = this.host;
    const fabric = host.fabric;
    if (!this.alive) return fabric.discard(packet, host, "crashed");
    fabric.record(packet, host);
    fabric.count("sent");
    const to = fabric.ownerOf(packet, "dst");
    if (to === undefined) return fabric.discard(packet, host, "malformed");
    if (to === null || to === host) return fabric.discard(packet, host, "no-route");
    if (fabric.rule(host, to) === "partition") return fabric.discard(packet, host, "partition");
    const port = fabric.nextHop(host, to);
    if (port === null) return fabric.discard(packet, host, "no-route");
    port.end.transmit(packet);
  }

  /** Link ends are attached to the Sim's clock when linked: nothing to do. */
  attach(): void {}

  pollAt(): number | null {
    if (!this.alive) return null;
    if (this.host.ready.length > 0) return this.clock.now();
    return nextArrival(this.host.ports);
  }

  private deliver(packet: Uint8Array, verified: boolean): Uint8Array {
    this.checksumsVerified = verified;
    this.host.fabric.count("delivered");
    return packet;
  }
}
