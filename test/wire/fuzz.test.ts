/**
 * "Parsing never throws": every view's check, and every getter after it, on
 * arbitrary bytes and on damaged real packets, the way a stack's receive path
 * would run them (IP, then the upper layer, then the packet quoted in an ICMP
 * error). Each result must be OK or one of its protocol's declared reasons.
 */
import fc from "fast-check";
import { describe, it } from "vitest";
import {
  type Checked,
  Icmpv4Packet,
  type Icmpv4Reason,
  Icmpv6Packet,
  type Icmpv6Reason,
  IpProtocol,
  Ipv4Packet,
  type Ipv4Reason,
  Ipv6Packet,
  type Ipv6Reason,
  OK,
  TcpPacket,
  type TcpReason,
  UdpPacket,
  type UdpReason,
} from "../../src/stack/wire/index.js";
import * as captured from "./fixtures/captured.js";
import { addr4, addr6, mutate, mutation } from "./support.js";

const reasons = {
  ipv4: { truncated: 1, "bad-version": 1, "bad-header-length": 1, "bad-checksum": 1, "bad-total-length": 1, "bad-options": 1, "bad-fragment": 1 } satisfies Record<Ipv4Reason, 1>,
  ipv6: { truncated: 1, "bad-version": 1, "bad-extension-length": 1, "misplaced-hop-by-hop": 1, "bad-options": 1, "bad-fragment": 1 } satisfies Record<Ipv6Reason, 1>,
  icmpv4: { truncated: 1, "bad-checksum": 1, "bad-invoking-packet": 1 } satisfies Record<Icmpv4Reason, 1>,
  icmpv6: { truncated: 1, "bad-checksum": 1, "bad-invoking-packet": 1 } satisfies Record<Icmpv6Reason, 1>,
  udp: { truncated: 1, "bad-length": 1, "missing-checksum": 1, "bad-checksum": 1 } satisfies Record<UdpReason, 1>,
  tcp: { truncated: 1, "bad-header-length": 1, "bad-checksum": 1, "bad-options": 1 } satisfies Record<TcpReason, 1>,
};

/** Throws unless `r` is OK or a declared reason. */
function expectResult(r: Checked<string>, allowed: Record<string, 1>): boolean {
  if (r !== OK && !(r.ok === false && Object.hasOwn(allowed, r.reason))) throw new Error(`unexpected result ${JSON.stringify(r)}`);
  return r.ok;
}

/** Throws unless every getter read so far gave a number (never `undefined` on short buffers). */
function expectNumbers(): void {
  if (!Number.isFinite(sink)) throw new Error("a getter returned a non-number");
}

const ip4 = new Ipv4Packet();
const ip6 = new Ipv6Packet();
const quoted4 = new Ipv4Packet();
const quoted6 = new Ipv6Packet();
const icmp4 = new Icmpv4Packet();
const icmp6 = new Icmpv6Packet();
const udp = new UdpPacket();
const tcp = new TcpPacket();
let sink = 0;

/** Reads every getter of the transport views (results are summed so nothing is optimised away). */
function touchUpper(): void {
  sink += udp.srcPort + udp.dstPort + udp.length + udp.checksum + udp.payload.length;
  sink += tcp.seqNumber + tcp.ackNumber + tcp.headerLength + tcp.flags + tcp.window + tcp.urgentPointer + tcp.options.length;
  sink += tcp.mss + tcp.windowScale + tcp.tsVal + tcp.tsEcr + tcp.sackCount + tcp.payload.length + +tcp.sackPermitted;
  for (let i = 0; i < tcp.sackCount; i++) sink += tcp.sackLeft(i) + tcp.sackRight(i);
  sink += icmp4.type + icmp4.code + icmp4.rest + icmp4.identifier + icmp4.sequence + icmp4.nextHopMtu + icmp4.pointer + icmp4.body.length;
  sink += icmp6.mtu + icmp6.pointer + +icmp6.isError + +icmp4.isError;
}

/** The first 8 bytes after a quoted IP header: where ports live. */
function quotedPorts(b: Uint8Array): void {
  udp.reset(b);
  sink += udp.srcPort + udp.dstPort;
}

/** A stack's receive path over `bytes`, plus every upper-layer check on the raw bytes. */
function receive(bytes: Uint8Array, src4: Uint8Array, dst4: Uint8Array, src6: Uint8Array, dst6: Uint8Array): void {
  if (expectResult(ip4.reset(bytes).check(), reasons.ipv4)) {
    const { src, dst } = ip4;
    const data = ip4.payload;
    sink += ip4.ttl + ip4.identification + ip4.fragmentOffset + ip4.options.length + ip4.dscp + ip4.ecn;
    if (!ip4.isFragment) {
      if (ip4.protocol === IpProtocol.Udp) expectResult(udp.reset(data).check(src, dst), reasons.udp);
      if (ip4.protocol === IpProtocol.Tcp) expectResult(tcp.reset(data).check(src, dst), reasons.tcp);
      if (ip4.protocol === IpProtocol.Icmp && expectResult(icmp4.reset(data).check(), reasons.icmpv4) && icmp4.isError) {
        if (expectResult(quoted4.reset(icmp4.body).checkQuoted(), reasons.ipv4)) quotedPorts(quoted4.payload);
      }
    }
  }
  if (expectResult(ip6.reset(bytes).check(), reasons.ipv6)) {
    const { src, dst } = ip6;
    const data = ip6.upperPayload;
    sink += ip6.trafficClass + ip6.flowLabel + ip6.fragmentOffset + ip6.fragmentIdentification + ip6.fragmentLinkOffset + +ip6.moreFragments;
    if (ip6.fragmentHeaderOffset < 0) {
      if (ip6.upperProtocol === IpProtocol.Udp) expectResult(udp.reset(data).check(src, dst), reasons.udp);
      if (ip6.upperProtocol === IpProtocol.Tcp) expectResult(tcp.reset(data).check(src, dst), reasons.tcp);
      if (ip6.upperProtocol === IpProtocol.Icmpv6 && expectResult(icmp6.reset(data).check(src, dst), reasons.icmpv6) && icmp6.isError) {
        if (expectResult(quoted6.reset(icmp6.body).checkQuoted(), reasons.ipv6)) quotedPorts(quoted6.upperPayload);
      }
    }
  }
  expectResult(quoted4.reset(bytes).checkQuoted(), reasons.ipv4);
  expectResult(quoted6.reset(bytes).checkQuoted(), reasons.ipv6);
  // The same bytes taken as an upper-layer message, with random addresses.
  expectResult(udp.reset(bytes).check(src4, dst4), reasons.udp);
  expectResult(udp.check(src6, dst6), reasons.udp);
  expectResult(tcp.reset(bytes).check(src4, dst4), reasons.tcp);
  expectResult(tcp.check(src6, dst6), reasons.tcp);
  expectResult(icmp4.reset(bytes).check(), reasons.icmpv4);
  expectResult(icmp6.reset(bytes).check(src6, dst6), reasons.icmpv6);
  touchUpper();
  expectNumbers();
}

/** Rewrites every checksum a receiver would check, so damage reaches past them. */
function refill(b: Uint8Array): Uint8Array {
  const v = b[0] >>> 4;
  if (v === 4) {
    ip4.reset(b).fillChecksum();
    const data = ip4.payload;
    if (ip4.protocol === IpProtocol.Udp && data.length >= 8) udp.reset(data).fillChecksum(ip4.src, ip4.dst);
    if (ip4.protocol === IpProtocol.Tcp && data.length >= 20) tcp.reset(data).fillChecksum(ip4.src, ip4.dst);
    if (ip4.protocol === IpProtocol.Icmp && data.length >= 8) icmp4.reset(data).fillChecksum();
  } else if (v === 6 && ip6.reset(b).check().ok) {
    const data = ip6.upperPayload;
    if (ip6.upperProtocol === IpProtocol.Udp && data.length >= 8) udp.reset(data).fillChecksum(ip6.src, ip6.dst);
    if (ip6.upperProtocol === IpProtocol.Tcp && data.length >= 20) tcp.reset(data).fillChecksum(ip6.src, ip6.dst);
    if (ip6.upperProtocol === IpProtocol.Icmpv6 && data.length >= 8) icmp6.reset(data).fillChecksum(ip6.src, ip6.dst);
  }
  return b;
}

const packets = Object.values(captured).filter((v): v is Uint8Array => v instanceof Uint8Array);
const addrs = fc.tuple(addr4, addr4, addr6, addr6);

/** Arbitrary bytes, and arbitrary bytes behind a plausible IPv4 or IPv6 first byte. */
const noise = fc.oneof(
  fc.uint8Array({ maxLength: 120 }),
  fc.tuple(fc.constantFrom(0x45, 0x46, 0x4f, 0x60), fc.uint8Array({ maxLength: 120 })).map(([first, rest]) => Uint8Array.of(first, ...rest)),
);

describe("parsing never throws", () => {
  it("on arbitrary bytes", () => {
    fc.assert(
      fc.property(noise, addrs, (bytes, [s4, d4, s6, d6]) => receive(bytes, s4, d4, s6, d6)),
      { numRuns: 30_000 },
    );
  });

  it("on captured packets with bytes overwritten, flipped, cut or appended", () => {
    fc.assert(
      fc.property(fc.constantFrom(...packets), fc.array(mutation, { minLength: 1, maxLength: 4 }), addrs, (p, ms, [s4, d4, s6, d6]) =>
        receive(mutate(p, ms), s4, d4, s6, d6),
      ),
      { numRuns: 30_000 },
    );
  });

  it("on damaged packets whose checksums were then made valid again", () => {
    fc.assert(
      fc.property(fc.constantFrom(...packets), fc.array(mutation, { minLength: 1, maxLength: 3 }), addrs, (p, ms, [s4, d4, s6, d6]) =>
        receive(refill(mutate(p, ms)), s4, d4, s6, d6),
      ),
      { numRuns: 20_000 },
    );
  });
});
