/**
 * The native addon (native/*.c): the one narrow interface between tsmio and the
 * operating system. Syscall wrappers return `>= 0` on success and `-errno` on
 * failure; {@link check} turns failures into {@link IoError}.
 * @internal
 */
import { createRequire } from "node:module";

/** Descriptor, or a negative errno. */
type Ret = number;

export interface NativeBinding {
  errnoName(errno: number): string;
  strerror(errno: number): string;
  readonly errno: Readonly<Record<string, number>>;

  epollCreate(): Ret;
  epollCtl(epfd: number, op: number, fd: number, events: number, token: number): Ret;
  epollWait(epfd: number, out: Float64Array, first: number, maxEvents: number, timeoutMs: number): Ret;
  eventfdCreate(): Ret;
  eventfdWrite(fd: number): Ret;
  eventfdRead(fd: number): Ret;

  socket(domain: number, type: number, protocol: number): Ret;
  socketpair(domain: number, type: number, out: Int32Array): Ret;
  pipe(out: Int32Array): Ret;
  bind(fd: number, addr: Uint8Array): Ret;
  connect(fd: number, addr: Uint8Array): Ret;
  listen(fd: number, backlog: number): Ret;
  accept(fd: number, addrOut: Uint8Array): Ret;
  getsockname(fd: number, addrOut: Uint8Array): Ret;
  getpeername(fd: number, addrOut: Uint8Array): Ret;
  shutdown(fd: number, how: number): Ret;
  close(fd: number): Ret;
  getsockopt(fd: number, level: number, name: number): Ret;
  setsockopt(fd: number, level: number, name: number, value: number): Ret;
  setLinger(fd: number, on: number, seconds: number): Ret;
  /** setsockopt with a struct value (ip_mreq, ipv6_mreq) given as bytes */
  setsockoptBytes(fd: number, level: number, name: number, value: Uint8Array): Ret;

  read(fd: number, buf: Uint8Array): Ret;
  write(fd: number, buf: Uint8Array): Ret;
  recv(fd: number, buf: Uint8Array, flags: number): Ret;
  send(fd: number, buf: Uint8Array, flags: number): Ret;
  recvfrom(fd: number, buf: Uint8Array, flags: number, addrOut: Uint8Array): Ret;
  sendto(fd: number, buf: Uint8Array, flags: number, addr: Uint8Array): Ret;
  readv(fd: number, bufs: readonly Uint8Array[]): Ret;
  writev(fd: number, bufs: readonly Uint8Array[]): Ret;
  sendv(fd: number, bufs: readonly Uint8Array[]): Ret;

  /**
   * Opens a TUN interface (IFF_TUN | IFF_NO_PI) named `name` ("" = kernel's choice); the actual name goes to `nameOut`.
   * `offload` 1: with a virtio-net header per packet, checksum offload and TSO (read with tunReadOffload, write with tunWriteOffload, tunWriteJoined).
   */
  tunOpen(path: string, name: string, nameOut: Uint8Array, offload: number): Ret;
  /** Reads packets until EAGAIN or `max`: packet i at `buf[i * slotSize]`, its length in `lens[i]`; the count. */
  tunReadBatch(fd: number, buf: Uint8Array, slotSize: number, lens: Int32Array, max: number): Ret;
  /**
   * tunReadBatch with offloads: packets packed into `buf` (packet i at `offsets[i]`, `lens[i]` bytes; TSO segments
   * of the kernel whole, up to 64 KiB), checksums the kernel left to the reader completed (`verified[i]` 1 when
   * packet i's TCP/UDP checksum is known good); reads while TUN_MAX_OFFLOAD_PACKET bytes are left.
   */
  tunReadOffload(fd: number, buf: Uint8Array, offsets: Int32Array, lens: Int32Array, verified: Uint8Array, max: number): Ret;
  /** Writes one packet behind an empty virtio-net header; bytes of the packet written. */
  tunWriteOffload(fd: number, packet: Uint8Array): Ret;
  /**
   * Writes `count` (<= TUN_MAX_JOIN) consecutive TCP segments of one connection (packet i of `staging` ends at
   * `ends[i]`, `gsoSize` payload bytes each) joined into one GSO packet where their checksums are good; 0 or the first -errno.
   */
  tunWriteJoined(fd: number, staging: Uint8Array, ends: Int32Array, count: number, gsoSize: number): Ret;

  /** rtnetlink: link up (1) / down (0) / unchanged (-1) and MTU (-1 unchanged). */
  nlLinkSet(name: string, up: number, mtu: number): Ret;
  /** rtnetlink: adds `ip`/`prefix` (4 or 16 address bytes) to interface `name`; `flags`: IFA_F_*. */
  nlAddrAdd(name: string, ip: Uint8Array, prefix: number, flags: number): Ret;
  /** rtnetlink: adds a route to `dest`/`prefix` via `gateway` (empty: none) out of `name` ("" for none). */
  nlRouteAdd(dest: Uint8Array, prefix: number, gateway: Uint8Array, name: string): Ret;
  /** rtnetlink: the type of the route the kernel would use for `ip` (RTN_LOCAL, ...), like `ip route get`. */
  nlRouteType(ip: Uint8Array): Ret;

  /** An fd for the calling thread's network namespace. */
  netnsOpen(): Ret;
  /** Moves the calling thread into a new network namespace. */
  netnsUnshare(): Ret;
  /** Moves the calling thread into the network namespace `fd` refers to. */
  netnsEnter(fd: number): Ret;

  /** sendmsg on Unix socket `sock`: `data` (at least 1 byte) with the descriptors `fds` (1..253) as SCM_RIGHTS; bytes sent. */
  sendFds(sock: number, fds: Int32Array, data: Uint8Array): Ret;
  /**
   * recvmsg on Unix socket `sock` into `data`; descriptors that came with the bytes go to `fdsOut` in order
   * (close-on-exec), unused slots -1 (ones beyond its length are discarded). Bytes read, 0 at end of stream.
   */
  recvFds(sock: number, data: Uint8Array, fdsOut: Int32Array): Ret;
  /** Collects every exited child but `keepPid` (a PID 1 reaping orphans): how many, or -errno. */
  reapOrphans(keepPid: number): Ret;

  watchCreate(epfd: number, callback: () => void): unknown;
  watchStart(watcher: unknown): Ret;
  watchStop(watcher: unknown): Ret;
  watchClose(watcher: unknown): void;

  readonly ADDR_BUF_LEN: number;
  readonly MAX_IOV: number;
  readonly [constant: string]: unknown;
}

/** Integer constants of the platform, named as in C (AF_INET, EPOLLIN, ...). */
export type ConstantName =
  | "EPOLL_CTL_ADD" | "EPOLL_CTL_MOD" | "EPOLL_CTL_DEL"
  | "EPOLLIN" | "EPOLLOUT" | "EPOLLPRI" | "EPOLLERR" | "EPOLLHUP" | "EPOLLRDHUP" | "EPOLLET"
  | "AF_INET" | "AF_INET6" | "AF_UNIX" | "SOCK_STREAM" | "SOCK_DGRAM" | "SOCK_SEQPACKET"
  | "SOL_SOCKET" | "SO_ERROR" | "SO_REUSEADDR" | "SO_BROADCAST" | "SO_TYPE" | "SO_RCVBUF"
  | "SO_SNDBUF" | "SO_KEEPALIVE" | "SO_LINGER" | "IPPROTO_IP" | "IPPROTO_IPV6" | "IPPROTO_TCP"
  | "IPPROTO_UDP" | "IP_TTL" | "IPV6_UNICAST_HOPS" | "IPV6_V6ONLY" | "TCP_NODELAY" | "TCP_KEEPIDLE" | "TCP_KEEPINTVL" | "TCP_KEEPCNT"
  | "SHUT_RD" | "SHUT_WR" | "SHUT_RDWR" | "MSG_PEEK" | "MSG_OOB" | "MSG_TRUNC"
  | "MSG_DONTWAIT" | "MSG_NOSIGNAL" | "MSG_WAITALL" | "SOMAXCONN"
  | "IP_MULTICAST_TTL" | "IP_MULTICAST_LOOP" | "IP_ADD_MEMBERSHIP" | "IP_DROP_MEMBERSHIP"
  | "IPV6_MULTICAST_LOOP" | "IPV6_ADD_MEMBERSHIP" | "IPV6_DROP_MEMBERSHIP"
  | "IFNAMSIZ" | "IFA_F_NODAD" | "RTN_LOCAL" | "TUN_MAX_OFFLOAD_PACKET" | "TUN_MAX_JOIN";

const loadAddon = createRequire(import.meta.url);

/** The loaded addon. */
export const sys: NativeBinding = loadAddon("../build/Release/tsmio.node") as NativeBinding;

/** Platform constants by their C names (AF_INET, EPOLLIN, ...). */
export const C = sys as unknown as Readonly<Record<ConstantName, number>>;

/** errno values by name (EAGAIN, EINPROGRESS, ...). */
export const errno = sys.errno;
