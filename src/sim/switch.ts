/**
 * A switch of a {@link Sim}: a node that several hosts (and other switches)
 * link to, and that passes each packet on towards the host owning its
 * destination address, without touching it (no TTL decrement: there is no
 * link layer in a Sim, so a switch is the whole of layer 2).
 */
import type { Driver } from "../poll/selector.js";
import { type Fabric, type Port, type SimNode, earliestDue, nextArrival } from "./fabric.js";

/** A switch made by `sim.switch(name)`: pass it to `sim.link` like a host. */
export class SimSwitch implements SimNode {
  /** @internal */
  readonly kind = "switch";
  /** @internal */
  readonly ports: Port[] = [];
  /** @internal */
  readonly driver: Driver;

  /** @internal */
  constructor(
    /** The switch's name, unique among the Sim's hosts and switches. */
    readonly name: string,
    fabric: Fabric,
  ) {
    const ports = this.ports;
    const self = this;
    this.driver = {
      poll(now: number): void {
        for (let p = earliestDue(ports, now); p !== null; p = earliestDue(ports, now)) {
          const packet = p.end.receive();
          if (packet === null) return;
          forward(fabric, self, p, packet);
        }
      },
      pollAt: () => nextArrival(ports),
    };
  }

  toString(): string {
    return `SimSwitch(${this.name})`;
  }
}

function forward(fabric: Fabric, from: SimSwitch, ingress: Port, packet: Uint8Array): void {
  const to = fabric.ownerOf(packet, "dst");
  if (to === undefined) return fabric.discard(packet, from, "malformed");
  const port = to === null ? null : fabric.nextHop(from, to);
  if (port === null || port === ingress) return fabric.discard(packet, from, "no-route");
  fabric.count("forwarded");
  port.end.transmit(packet);
}
