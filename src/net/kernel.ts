/**
 * The kernel as a {@link Network}, and the mio-style constructors
 * `TcpListener.bind`, `TcpStream.connect`, `UdpSocket.bind`.
 */
import { toSocketAddr, type SocketAddrLike } from "./socket-addr.js";
import type {
  Network,
  TcpListener as TcpListenerApi,
  TcpStream as TcpStreamApi,
  UdpSocket as UdpSocketApi,
} from "./network.js";
import { KernelTcpListener, KernelTcpStream } from "./tcp.js";
import { KernelUdpSocket } from "./udp.js";

/** The Linux kernel's sockets. */
export const kernel: Network = {
  tcpBind: (addr) => KernelTcpListener.listen(toSocketAddr(addr)),
  tcpConnect: (addr) => KernelTcpStream.connect(toSocketAddr(addr)),
  udpBind: (addr) => KernelUdpSocket.open(toSocketAddr(addr)),
};

export type TcpListener = TcpListenerApi;
/** Kernel TCP listeners: `TcpListener.bind("127.0.0.1:0")`. */
export const TcpListener = {
  bind: (addr: SocketAddrLike): TcpListener => kernel.tcpBind(addr),
};

export type TcpStream = TcpStreamApi;
/** Kernel TCP connections: `TcpStream.connect("127.0.0.1:80")` (non-blocking). */
export const TcpStream = {
  connect: (addr: SocketAddrLike): TcpStream => kernel.tcpConnect(addr),
};

export type UdpSocket = UdpSocketApi;
/**
 * Kernel UDP sockets: `UdpSocket.bind("127.0.0.1:0")`. The result also has the
 * kernel-only multicast options of {@link KernelUdpSocket}.
 */
export const UdpSocket = {
  bind: (addr: SocketAddrLike): KernelUdpSocket => KernelUdpSocket.open(toSocketAddr(addr)),
};
