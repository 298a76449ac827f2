/**
 * The socket interfaces every backend implements: the kernel (`kernel`) and
 * the userspace stack (`Stack`). Non-blocking results are values
 * ({@link WOULD_BLOCK}); failures throw `IoError` with the kernel's errno name.
 */
import type { IoError, WouldBlock } from "../error.js";
import type { Source } from "../poll/source.js";
import type { TcpKeepalive } from "./keepalive.js";
import type { SocketAddr, SocketAddrLike } from "./socket-addr.js";

/** A TCP socket listening for connections. */
export interface TcpListener extends Source {
  /** The next pending connection and its peer address, or `WOULD_BLOCK`. */
  accept(): [TcpStream, SocketAddr] | WouldBlock;
  localAddr(): SocketAddr;
  /** Sets the IP TTL (IPv6: hop limit) of accepted connections' packets. */
  setTtl(ttl: number): void;
  ttl(): number;
  /** Takes and clears the pending socket error, or null. */
  takeError(): IoError | null;
  /** Closes the socket and removes it from every poll. */
  close(): void;
}

/** A TCP connection. Connecting is non-blocking: wait for WRITABLE, then `takeError()` and `peerAddr()`. */
export interface TcpStream extends Source {
  /** Reads into `buf`: bytes read, 0 at end of stream, or `WOULD_BLOCK`. */
  read(buf: Uint8Array): number | WouldBlock;
  /** Writes from `buf`: bytes written (maybe fewer), or `WOULD_BLOCK`. */
  write(buf: Uint8Array): number | WouldBlock;
  readv(bufs: Uint8Array[]): number | WouldBlock;
  writev(bufs: Uint8Array[]): number | WouldBlock;
  /** Like `read`, but leaves the bytes in the socket. */
  peek(buf: Uint8Array): number | WouldBlock;
  shutdown(how: "read" | "write" | "both"): void;
  /** The peer's address; throws `ENOTCONN` while connecting or after a failed connect. */
  peerAddr(): SocketAddr;
  localAddr(): SocketAddr;
  setNoDelay(noDelay: boolean): void;
  noDelay(): boolean;
  /**
   * Turns keepalive on, with the settings given (the others keep their
   * defaults: Linux's 7200 s idle, 75 s interval, 9 probes), or off with
   * `null`. Off by default, as on Linux. The kernel counts whole seconds.
   */
  setKeepalive(keepalive: Partial<TcpKeepalive> | null): void;
  /** The keepalive settings, or null when keepalive is off. */
  keepalive(): TcpKeepalive | null;
  /**
   * SO_LINGER: with `0`, `close()` aborts the connection with a RST instead
   * of a FIN (how a relay passes a reset on); `null` (the default) restores
   * the graceful close. A positive time makes a kernel socket's close wait
   * for its data to be sent; a virtual socket's close never blocks.
   */
  setLinger(seconds: number | null): void;
  setTtl(ttl: number): void;
  ttl(): number;
  takeError(): IoError | null;
  close(): void;
}

/** A UDP socket. */
export interface UdpSocket extends Source {
  sendTo(buf: Uint8Array, addr: SocketAddrLike): number | WouldBlock;
  /** Receives one datagram (truncated to `buf`): its length and sender, or `WOULD_BLOCK`. */
  recvFrom(buf: Uint8Array): [number, SocketAddr] | WouldBlock;
  peekFrom(buf: Uint8Array): [number, SocketAddr] | WouldBlock;
  /** Sets the default peer for `send`/`recv` and filters received datagrams to it. */
  connect(addr: SocketAddrLike): void;
  send(buf: Uint8Array): number | WouldBlock;
  recv(buf: Uint8Array): number | WouldBlock;
  peek(buf: Uint8Array): number | WouldBlock;
  localAddr(): SocketAddr;
  peerAddr(): SocketAddr;
  setBroadcast(on: boolean): void;
  broadcast(): boolean;
  setTtl(ttl: number): void;
  ttl(): number;
  takeError(): IoError | null;
  close(): void;
}

/** A place to open sockets: the kernel, or a userspace `Stack`. */
export interface Network {
  /** Binds and listens; port 0 picks a free port. */
  tcpBind(addr: SocketAddrLike): TcpListener;
  /** Starts a non-blocking connect. */
  tcpConnect(addr: SocketAddrLike): TcpStream;
  udpBind(addr: SocketAddrLike): UdpSocket;
}
