/** Packet counters of a Stack: in, out, and dropped by reason. */

/** A snapshot of a stack's counters. */
export interface StackStats {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  /** packets dropped, by reason ("ipv4:bad-checksum", "udp:no-socket", ...) */
  dropped: Record<string, number>;
  /** ICMP messages sent, by kind ("echo-reply", "port-unreachable", ...) */
  icmpSent: Record<string, number>;
  /** TCP events worth counting that are not drops ("syn-cookie-sent", "syn-cookie-ok"; Linux's TcpExt counters) */
  tcp: Record<string, number>;
  /** datagrams reassembled from fragments, and fragments sent */
  reassembled: number;
  fragmentsSent: number;
}

export class Counters {
  rxPackets = 0;
  rxBytes = 0;
  txPackets = 0;
  txBytes = 0;
  reassembled = 0;
  fragmentsSent = 0;
  private readonly dropped = new Map<string, number>();
  private readonly icmp = new Map<string, number>();
  private readonly tcp = new Map<string, number>();

  drop(reason: string): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1);
  }

  icmpSent(kind: string): void {
    this.icmp.set(kind, (this.icmp.get(kind) ?? 0) + 1);
  }

  tcpEvent(name: string): void {
    this.tcp.set(name, (this.tcp.get(name) ?? 0) + 1);
  }

  snapshot(): StackStats {
    return {
      rxPackets: this.rxPackets,
      rxBytes: this.rxBytes,
      txPackets: this.txPackets,
      txBytes: this.txBytes,
      dropped: Object.fromEntries(this.dropped),
      icmpSent: Object.fromEntries(this.icmp),
      tcp: Object.fromEntries(this.tcp),
      reassembled: this.reassembled,
      fragmentsSent: this.fragmentsSent,
    };
  }
}
