/**
 * Wire formats of the userspace stack: views over packet bytes and header
 * builders for IPv4, IPv6, ICMPv4, ICMPv6, UDP and TCP, with the Internet
 * checksum. Depends on nothing else in tsmio.
 */
export * from "./checksum.js";
export { type Checked, type Failed, type Ok, OK } from "./result.js";
export { IpProtocol } from "./ip.js";
export * from "./ipv4.js";
export * from "./ipv6.js";
export { IPV6_FRAGMENT_HEADER, type Ipv6FragmentHeader, emitIpv6Fragment, extensionLength, isExtensionHeader } from "./ipv6-ext.js";
export { ICMP_HEADER, type IcmpHeader, IcmpView, echoRest } from "./icmp.js";
export * from "./icmpv4.js";
export * from "./icmpv6.js";
export * from "./udp.js";
export * from "./tcp.js";
export { TCP_MAX_OPTIONS, TcpOptionKind, type TcpOptions, tcpOptionsLength } from "./tcp-options.js";
