/**
 * Transparent forwarding: what a Stack does with traffic nobody in it
 * listens for, when it is the far end of a whole network (the relay of
 * `tsmio run`, like slirp4netns and gVisor's TCP and UDP forwarders). With
 * {@link StackForwarding} set, the Stack takes datagrams to any unicast
 * address, offers each SYN and datagram that finds no listener or bound
 * socket to the handlers, and answers from the address the peer asked for
 * (Linux IP_TRANSPARENT with TPROXY).
 */
import type { SocketAddr } from "../net/socket-addr.js";
import type { VirtualTcpStream } from "./tcp/socket.js";

/** The handlers of a forwarding Stack (see {@link StackOptions.forward}). */
export interface StackForwarding {
  /**
   * A SYN that found no connection and no listener. The peer's
   * retransmitted SYNs are absorbed while the request is pending: decide
   * once, now or later, with {@link TcpForwardRequest.accept} or
   * {@link TcpForwardRequest.refuse}.
   */
  tcp?(request: TcpForwardRequest): void;
  /**
   * A UDP datagram that found no bound socket: `payload` is a view valid
   * only during the call. Return false to refuse it (the sender gets ICMP
   * port unreachable, as for a closed port).
   */
  udp?(payload: Uint8Array, from: SocketAddr, to: SocketAddr): boolean;
}

/** A connection attempt offered to {@link StackForwarding.tcp}. */
export interface TcpForwardRequest {
  /** Where the SYN was going: the address the connection answers from. */
  readonly local: SocketAddr;
  /** Who sent it. */
  readonly remote: SocketAddr;
  /**
   * Answers the SYN with a SYN-ACK, from {@link local}, with the options the
   * SYN asked for. The stream is connecting (like one from `tcpConnect`):
   * writable once the handshake completes.
   */
  accept(): VirtualTcpStream;
  /**
   * Turns the attempt down: `"reset"` (default) answers with a RST, so the
   * peer's connect fails with ECONNREFUSED; `"unreachable"` with ICMP host
   * unreachable (EHOSTUNREACH), `"prohibited"` with ICMP administratively
   * prohibited (also EHOSTUNREACH on Linux).
   */
  refuse(how?: "reset" | "unreachable" | "prohibited"): void;
}

/** How many SYNs may wait for a forwarding decision at once; more are dropped (the peer retries). */
export const MAX_PENDING_FORWARDS = 4096;
