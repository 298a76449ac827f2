/**
 * The UDP port table: binding (EADDRINUSE on a clash, ephemeral ports from
 * Linux's default range 32768–60999 picked with the stack's seeded
 * randomness) and demultiplexing arriving datagrams to the best socket.
 */
import { IoError } from "../../error.js";
import type { SocketAddr } from "../../net/socket-addr.js";
import type { Random } from "../../random.js";
import { isUnspecified, sameIp } from "../iface/cidr.js";
import type { VirtualUdpSocket } from "./socket.js";

const EPHEMERAL_LOW = 32768;
const EPHEMERAL_HIGH = 60999;
/** Random ports tried before scanning the whole range. */
const RANDOM_PROBES = 64;

interface Bound {
  sock: VirtualUdpSocket;
  addr: SocketAddr;
}

export class UdpPorts {
  private readonly byPort = new Map<number, Bound[]>();

  constructor(private readonly random: Random) {}

  /**
   * The address a bind to `addr` gets (port 0: a free ephemeral port);
   * throws `EADDRINUSE` on a clash. {@link insert} then takes it.
   */
  claim(addr: SocketAddr, withPort: (port: number) => SocketAddr): SocketAddr {
    const ip = addr.ipBytes();
    if (addr.port !== 0) {
      if (this.clashes(ip, addr.port)) throw new IoError("EADDRINUSE", undefined, "bind");
      return addr;
    }
    const span = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
    // random probes first: a scan from a random start alone piles used ports into
    // runs that later binds walk through (quadratic as the range fills up)
    for (let i = 0; i < RANDOM_PROBES; i++) {
      const port = EPHEMERAL_LOW + this.random.int(span);
      if (!this.clashes(ip, port)) return withPort(port);
    }
    const start = this.random.int(span);
    for (let i = 0; i < span; i++) {
      const port = EPHEMERAL_LOW + ((start + i) % span);
      if (!this.clashes(ip, port)) return withPort(port);
    }
    throw new IoError("EADDRINUSE", "no free ephemeral port", "bind");
  }

  /** Binds `sock` to an address from {@link claim}. */
  insert(sock: VirtualUdpSocket, bound: SocketAddr): void {
    const list = this.byPort.get(bound.port) ?? [];
    list.push({ sock, addr: bound });
    this.byPort.set(bound.port, list);
  }

  private clashes(ip: Uint8Array, port: number): boolean {
    const list = this.byPort.get(port);
    if (list === undefined) return false;
    for (const b of list) {
      const other = b.addr.ipBytes();
      if (other.length === ip.length && (isUnspecified(ip) || isUnspecified(other) || sameIp(ip, other))) return true;
    }
    return false;
  }

  /** Moves `sock`'s entry to a new local address (after connect picked one). */
  rebind(sock: VirtualUdpSocket, addr: SocketAddr): void {
    const b = this.byPort.get(addr.port)?.find((e) => e.sock === sock);
    if (b) b.addr = addr;
  }

  unbind(sock: VirtualUdpSocket, port: number): void {
    const list = this.byPort.get(port);
    if (!list) return;
    const rest = list.filter((b) => b.sock !== sock);
    if (rest.length) this.byPort.set(port, rest);
    else this.byPort.delete(port);
  }

  /**
   * The socket for a datagram to `dst`:`dstPort` from `src`:`srcPort`: a
   * connected socket matching the sender first, then one bound to the exact
   * address, then a wildcard. Connected sockets never take other senders.
   */
  lookup(dst: Uint8Array, dstPort: number, src: Uint8Array, srcPort: number): VirtualUdpSocket | null {
    const list = this.byPort.get(dstPort);
    if (!list) return null;
    let best: VirtualUdpSocket | null = null;
    let bestScore = -1;
    for (const b of list) {
      const local = b.addr.ipBytes();
      if (local.length !== dst.length) continue;
      let score: number;
      if (sameIp(local, dst)) score = 2;
      else if (isUnspecified(local)) score = 1;
      else continue;
      const peer = b.sock.connectedTo();
      if (peer !== null) {
        if (peer.port !== srcPort || !sameIp(peer.ipBytes(), src)) continue;
        score += 4;
      }
      if (score > bestScore) {
        best = b.sock;
        bestScore = score;
      }
    }
    return best;
  }

  /** The socket bound to `local`:`port` and connected to `peer`:`peerPort` (for ICMP errors). */
  findConnected(local: Uint8Array, port: number, peer: Uint8Array, peerPort: number): VirtualUdpSocket | null {
    const s = this.lookup(local, port, peer, peerPort);
    return s !== null && s.connectedTo() !== null ? s : null;
  }
}
