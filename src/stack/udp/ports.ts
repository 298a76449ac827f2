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
    let bound = addr;
    if (addr.port === 0) {
      const span = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
      const start = this.random.int(span);
      let found = false;
      for (let i = 0; i < span; i++) {
        const port = EPHEMERAL_LOW + ((start + i) % span);
        if (!this.clashes(addr, port)) {
          bound = withPort(port);
          found = true;
          break;
        }
      }
      if (!found) throw new IoError("EADDRINUSE", "no free ephemeral port", "bind");
    } else if (this.clashes(addr, addr.port)) {
      throw new IoError("EADDRINUSE", undefined, "bind");
    }
    return bound;
  }

  /** Binds `sock` to an address from {@link claim}. */
  insert(sock: VirtualUdpSocket, bound: SocketAddr): void {
    const list = this.byPort.get(bound.port) ?? [];
    list.push({ sock, addr: bound });
    this.byPort.set(bound.port, list);
  }

  private clashes(addr: SocketAddr, port: number): boolean {
    const list = this.byPort.get(port);
    if (!list) return false;
    const ip = addr.ipBytes();
    return list.some((b) => {
      const other = b.addr.ipBytes();
      return other.length === ip.length && (isUnspecified(ip) || isUnspecified(other) || sameIp(ip, other));
    });
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
