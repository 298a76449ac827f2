/**
 * The platform of a web page, where there is no operating system: the same
 * shape as the native addon ({@link NativeBinding}), with Linux's constants
 * and errno numbers and messages, and every system call failing with
 * `ENOSYS`. The playground's bundle uses it in place of `native.ts` (see
 * scripts/build.mjs), so the userspace stack, Poll on a SimClock and Sim run
 * in a browser; test/playground/native-shell.test.ts checks every value
 * against the addon.
 * @internal
 */
import type { ConstantName, NativeBinding } from "./native.js";

/** errno numbers and their strerror texts, as on Linux (x86-64 and arm64 agree). */
const ERRNO: ReadonlyArray<readonly [string, number, string]> = [
  ["EPERM", 1, "Operation not permitted"],
  ["ENOENT", 2, "No such file or directory"],
  ["ESRCH", 3, "No such process"],
  ["EINTR", 4, "Interrupted system call"],
  ["EIO", 5, "Input/output error"],
  ["ENXIO", 6, "No such device or address"],
  ["E2BIG", 7, "Argument list too long"],
  ["EBADF", 9, "Bad file descriptor"],
  ["ECHILD", 10, "No child processes"],
  ["EAGAIN", 11, "Resource temporarily unavailable"],
  ["ENOMEM", 12, "Cannot allocate memory"],
  ["EACCES", 13, "Permission denied"],
  ["EFAULT", 14, "Bad address"],
  ["ENOTBLK", 15, "Block device required"],
  ["EBUSY", 16, "Device or resource busy"],
  ["EEXIST", 17, "File exists"],
  ["EXDEV", 18, "Invalid cross-device link"],
  ["ENODEV", 19, "No such device"],
  ["ENOTDIR", 20, "Not a directory"],
  ["EISDIR", 21, "Is a directory"],
  ["EINVAL", 22, "Invalid argument"],
  ["ENFILE", 23, "Too many open files in system"],
  ["EMFILE", 24, "Too many open files"],
  ["ENOTTY", 25, "Inappropriate ioctl for device"],
  ["ETXTBSY", 26, "Text file busy"],
  ["ENOSPC", 28, "No space left on device"],
  ["ESPIPE", 29, "Illegal seek"],
  ["EROFS", 30, "Read-only file system"],
  ["EMLINK", 31, "Too many links"],
  ["EPIPE", 32, "Broken pipe"],
  ["EDOM", 33, "Numerical argument out of domain"],
  ["ERANGE", 34, "Numerical result out of range"],
  ["ENAMETOOLONG", 36, "File name too long"],
  ["ENOSYS", 38, "Function not implemented"],
  ["ENOTEMPTY", 39, "Directory not empty"],
  ["ELOOP", 40, "Too many levels of symbolic links"],
  ["ENODATA", 61, "No data available"],
  ["EPROTO", 71, "Protocol error"],
  ["EOVERFLOW", 75, "Value too large for defined data type"],
  ["EBADFD", 77, "File descriptor in bad state"],
  ["ENOTSOCK", 88, "Socket operation on non-socket"],
  ["EDESTADDRREQ", 89, "Destination address required"],
  ["EMSGSIZE", 90, "Message too long"],
  ["EPROTOTYPE", 91, "Protocol wrong type for socket"],
  ["ENOPROTOOPT", 92, "Protocol not available"],
  ["EPROTONOSUPPORT", 93, "Protocol not supported"],
  ["ESOCKTNOSUPPORT", 94, "Socket type not supported"],
  ["EOPNOTSUPP", 95, "Operation not supported"],
  ["EPFNOSUPPORT", 96, "Protocol family not supported"],
  ["EAFNOSUPPORT", 97, "Address family not supported by protocol"],
  ["EADDRINUSE", 98, "Address already in use"],
  ["EADDRNOTAVAIL", 99, "Cannot assign requested address"],
  ["ENETDOWN", 100, "Network is down"],
  ["ENETUNREACH", 101, "Network is unreachable"],
  ["ENETRESET", 102, "Network dropped connection on reset"],
  ["ECONNABORTED", 103, "Software caused connection abort"],
  ["ECONNRESET", 104, "Connection reset by peer"],
  ["ENOBUFS", 105, "No buffer space available"],
  ["EISCONN", 106, "Transport endpoint is already connected"],
  ["ENOTCONN", 107, "Transport endpoint is not connected"],
  ["ESHUTDOWN", 108, "Cannot send after transport endpoint shutdown"],
  ["ETIMEDOUT", 110, "Connection timed out"],
  ["ECONNREFUSED", 111, "Connection refused"],
  ["EHOSTDOWN", 112, "Host is down"],
  ["EHOSTUNREACH", 113, "No route to host"],
  ["EALREADY", 114, "Operation already in progress"],
  ["EINPROGRESS", 115, "Operation now in progress"],
  ["ECANCELED", 125, "Operation canceled"],
];

/** Integer constants, as on Linux. */
const CONSTANTS: Readonly<Record<ConstantName | "ADDR_BUF_LEN" | "MAX_IOV", number>> = {
  EPOLL_CTL_ADD: 1,
  EPOLL_CTL_MOD: 3,
  EPOLL_CTL_DEL: 2,
  EPOLLIN: 1,
  EPOLLOUT: 4,
  EPOLLPRI: 2,
  EPOLLERR: 8,
  EPOLLHUP: 16,
  EPOLLRDHUP: 8192,
  EPOLLET: -2147483648,
  ADDR_BUF_LEN: 132,
  AF_INET: 2,
  AF_INET6: 10,
  AF_UNIX: 1,
  SOCK_STREAM: 1,
  SOCK_DGRAM: 2,
  SOCK_SEQPACKET: 5,
  SOL_SOCKET: 1,
  SO_ERROR: 4,
  SO_REUSEADDR: 2,
  SO_BROADCAST: 6,
  SO_TYPE: 3,
  SO_RCVBUF: 8,
  SO_SNDBUF: 7,
  SO_KEEPALIVE: 9,
  SO_LINGER: 13,
  IPPROTO_IP: 0,
  IPPROTO_IPV6: 41,
  IPPROTO_TCP: 6,
  IPPROTO_UDP: 17,
  IP_TTL: 2,
  IPV6_UNICAST_HOPS: 16,
  IPV6_V6ONLY: 26,
  TCP_NODELAY: 1,
  TCP_KEEPIDLE: 4,
  TCP_KEEPINTVL: 5,
  TCP_KEEPCNT: 6,
  SHUT_RD: 0,
  SHUT_WR: 1,
  SHUT_RDWR: 2,
  MSG_PEEK: 2,
  MSG_OOB: 1,
  MSG_TRUNC: 32,
  MSG_DONTWAIT: 64,
  MSG_NOSIGNAL: 16384,
  MSG_WAITALL: 256,
  SOMAXCONN: 4096,
  IP_MULTICAST_TTL: 33,
  IP_MULTICAST_LOOP: 34,
  IP_ADD_MEMBERSHIP: 35,
  IP_DROP_MEMBERSHIP: 36,
  IPV6_MULTICAST_LOOP: 19,
  IPV6_ADD_MEMBERSHIP: 20,
  IPV6_DROP_MEMBERSHIP: 21,
  MAX_IOV: 1024,
  TUN_MAX_JOIN: 64,
  TUN_MAX_OFFLOAD_PACKET: 65600,
  IFNAMSIZ: 16,
  IFA_F_NODAD: 2,
  RTN_LOCAL: 2,
};

const ENOSYS = ERRNO.find(([name]) => name === "ENOSYS")![1];
const names = new Map(ERRNO.map(([name, n]) => [n, name]));
const texts = new Map(ERRNO.map(([, n, text]) => [n, text]));

/** The system calls of the addon: here each one fails with ENOSYS. */
const SYSCALLS = [
  "epollCreate",
  "epollCtl",
  "epollWait",
  "eventfdCreate",
  "eventfdWrite",
  "eventfdRead",
  "socket",
  "socketpair",
  "pipe",
  "bind",
  "connect",
  "listen",
  "accept",
  "getsockname",
  "getpeername",
  "shutdown",
  "close",
  "getsockopt",
  "setsockopt",
  "setLinger",
  "setsockoptBytes",
  "read",
  "write",
  "recv",
  "send",
  "recvfrom",
  "sendto",
  "readv",
  "writev",
  "sendv",
  "tunOpen",
  "tunReadBatch",
  "tunReadOffload",
  "tunWriteOffload",
  "tunWriteJoined",
  "nlLinkSet",
  "nlAddrAdd",
  "nlRouteAdd",
  "nlRouteType",
  "netnsOpen",
  "netnsUnshare",
  "netnsEnter",
  "sendFds",
  "recvFds",
  "reapOrphans",
] as const;

function noSystem(): number {
  return -ENOSYS;
}

function noWatcher(): never {
  throw new Error("a web page has no epoll descriptor to watch");
}

/** The page's binding. */
export const sys: NativeBinding = {
  ...CONSTANTS,
  ...Object.fromEntries(SYSCALLS.map((name) => [name, noSystem])),
  errno: Object.fromEntries(ERRNO.map(([name, n]) => [name, n])),
  errnoName: (n: number) => names.get(n) ?? `E${n}`,
  strerror: (n: number) => texts.get(n) ?? `Unknown error ${n}`,
  watchCreate: noWatcher,
  watchStart: noWatcher,
  watchStop: noWatcher,
  watchClose: noWatcher,
} as unknown as NativeBinding;

/** Platform constants by their C names. */
export const C = sys as unknown as Readonly<Record<ConstantName, number>>;

/** errno values by name. */
export const errno = sys.errno;
