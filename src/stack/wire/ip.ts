/**
 * IP protocol numbers (the IPv4 Protocol and IPv6 Next Header fields), from the
 * IANA "Assigned Internet Protocol Numbers" registry.
 */
export const IpProtocol = {
  /** IPv6 Hop-by-Hop Options header (RFC 8200 §4.3). */
  HopByHop: 0,
  Icmp: 1,
  Tcp: 6,
  Udp: 17,
  /** IPv6 Routing header (RFC 8200 §4.4). */
  Ipv6Route: 43,
  /** IPv6 Fragment header (RFC 8200 §4.5). */
  Ipv6Frag: 44,
  /** Encapsulating Security Payload (RFC 4303): what follows is opaque. */
  Esp: 50,
  /** Authentication Header (RFC 4302). */
  Ah: 51,
  Icmpv6: 58,
  /** IPv6 No Next Header (RFC 8200 §4.7). */
  Ipv6NoNxt: 59,
  /** IPv6 Destination Options header (RFC 8200 §4.6). */
  Ipv6Opts: 60,
} as const;
