/**
 * tsmio: mio for TypeScript. One {@link Poll} over kernel sockets, TUN devices
 * and the virtual sockets of a userspace TCP/IP stack.
 * @packageDocumentation
 */
export { Poll, type PollOptions } from "./poll/poll.js";
export type { Registry } from "./poll/registry.js";
export { Token } from "./poll/token.js";
export { Interest } from "./poll/interest.js";
export { Events, type Event } from "./poll/event.js";
export { Waker } from "./poll/waker.js";
export type { Source } from "./poll/source.js";
export { WOULD_BLOCK, IoError, type WouldBlock } from "./error.js";
export { SocketAddr, type SocketAddrLike, type Family } from "./net/socket-addr.js";
export type { Network } from "./net/network.js";
export { kernel, TcpListener, TcpStream, UdpSocket } from "./net/kernel.js";
export type { KernelUdpSocket } from "./net/udp.js";
export { UnixListener, UnixStream, UnixDatagram } from "./net/unix.js";
export { UnixSocketAddr, type UnixSocketAddrLike } from "./net/sockaddr.js";
export { pipe, Sender, Receiver } from "./net/pipe.js";
export { SourceFd } from "./net/source-fd.js";
export { SimClock, realClock, type Clock } from "./poll/clock.js";
export { Stack, type StackOptions, type TcpStateEvent, type TcpRetransmitEvent } from "./stack/stack.js";
export type { TcpConfig, TcpState, TcpStats } from "./stack/tcp/connection.js";
export type { TcpKeepalive } from "./net/keepalive.js";
export type { StackStats } from "./stack/stats.js";
export type { Device } from "./stack/iface/device.js";
export type { RouteConfig } from "./stack/iface/routes.js";
export { Link, Loopback, PcapTap, FaultInjector, Tracer, type LinkOptions, type LinkImpairments } from "./stack/iface/index.js";
export { TunDevice, type TunOptions, type TunConfig, inNetns, enterFreshNetns, runInNetns } from "./tun/index.js";
export { toDuplex, connect, TcpSocket, type TcpSocketOptions, type TcpSocketReadyState } from "./node/socket.js";
export { serve, connections, Connections, type Serving } from "./node/serve.js";
export type { AdapterOptions } from "./node/poll-of.js";
export { PollDriver } from "./node/driver.js";
export {
  Sim,
  SimSwitch,
  SimRouter,
  type SimRouterOptions,
  SimCapture,
  SimTimeout,
  type SimOptions,
  type SimHostOptions,
  type SimLinkOptions,
  type SimHostRef,
  type SimNodeRef,
  type SimStats,
  type SimTraceFn,
  type Readiness,
  type SimRunOptions,
} from "./sim/index.js";
