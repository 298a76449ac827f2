/**
 * The connections of a TCP layer, found by their four-tuple (RFC 9293
 * §3.3.2: a connection is identified by its pair of sockets) without
 * building a string per segment: a map keyed by the two ports holds the few
 * connections sharing them, whose addresses are then compared; the
 * connection found last is tried first, as bulk transfers hit the same one
 * over and over. A second index by local port answers "is this port taken".
 */
import { sameIp } from "../iface/cidr.js";
import type { TcpConnection } from "./connection.js";

export class ConnectionTable {
  private readonly byPorts = new Map<number, TcpConnection[]>();
  private readonly byLocalPort = new Map<number, TcpConnection[]>();
  private last: TcpConnection | null = null;
  private count = 0;

  /** The number of connections held. */
  get size(): number {
    return this.count;
  }

  /** The connection from `local`:`localPort` to `remote`:`remotePort`, if any. */
  get(local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number): TcpConnection | undefined {
    const last = this.last;
    if (last !== null && last.localPort === localPort && last.remotePort === remotePort && sameIp(last.remote, remote) && sameIp(last.local, local)) {
      return last;
    }
    const list = this.byPorts.get(localPort * 65536 + remotePort);
    if (list === undefined) return undefined;
    for (const c of list) {
      if (sameIp(c.remote, remote) && sameIp(c.local, local)) {
        this.last = c;
        return c;
      }
    }
    return undefined;
  }

  /** Adds `c` (its four-tuple must not be held yet). */
  add(c: TcpConnection): void {
    push(this.byPorts, c.localPort * 65536 + c.remotePort, c);
    push(this.byLocalPort, c.localPort, c);
    this.count++;
  }

  /** Removes `c`; nothing happens if it is not held. */
  delete(c: TcpConnection): void {
    if (!remove(this.byPorts, c.localPort * 65536 + c.remotePort, c)) return;
    remove(this.byLocalPort, c.localPort, c);
    if (this.last === c) this.last = null;
    this.count--;
  }

  /** The connections whose local port is `port`. */
  onLocalPort(port: number): readonly TcpConnection[] {
    return this.byLocalPort.get(port) ?? NONE;
  }

  /** Every connection held. */
  *values(): IterableIterator<TcpConnection> {
    for (const list of this.byPorts.values()) yield* list;
  }
}

const NONE: readonly TcpConnection[] = [];

function push(map: Map<number, TcpConnection[]>, k: number, c: TcpConnection): void {
  const list = map.get(k);
  if (list === undefined) map.set(k, [c]);
  else list.push(c);
}

function remove(map: Map<number, TcpConnection[]>, k: number, c: TcpConnection): boolean {
  const list = map.get(k);
  if (list === undefined) return false;
  const i = list.indexOf(c);
  if (i < 0) return false;
  if (list.length === 1) map.delete(k);
  else list.splice(i, 1);
  return true;
}
