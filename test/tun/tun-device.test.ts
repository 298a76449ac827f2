/**
 * TunDevice on its own: opening, configuring the kernel's side over
 * rtnetlink (checked with `ip -j`), moving raw packets both ways, errors,
 * and closing. Runs in a fresh network namespace (test/support/netns.ts).
 */
import { execFileSync } from "node:child_process";
import { afterEach, expect, it } from "vitest";
import { IoError, TunDevice, UdpSocket, WOULD_BLOCK, type SocketAddr } from "../../src/index.js";
import type { Device } from "../../src/stack/iface/device.js";
import { IpProtocol } from "../../src/stack/wire/index.js";
import { parse, pattern, same, udpOf, udpPacket } from "../stack/helpers.js";
import { fdFlags } from "../support/fdinfo.js";
import { ipJson, netnsSuite, type IpAddrEntry } from "../support/netns.js";

const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;

/** Things a test opened, closed after it (newest first). */
const open: Array<{ close(): void }> = [];
function own<T extends { close(): void }>(x: T): T {
  open.push(x);
  return x;
}
afterEach(() => {
  for (const x of open.splice(0).reverse()) x.close();
});

function link(name: string): IpAddrEntry | undefined {
  return ipJson<IpAddrEntry[]>("addr", "show").find((l) => l.ifname === name);
}

/** The next datagram on `sock`, waiting up to 1 s for the kernel to deliver it. */
function recvSoon(sock: UdpSocket, buf: Uint8Array): [number, SocketAddr] | typeof WOULD_BLOCK {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const end = Date.now() + 1000;
  for (;;) {
    const r = sock.recvFrom(buf);
    if (r !== WOULD_BLOCK || Date.now() > end) return r;
    Atomics.wait(pause, 0, 0, 1);
  }
}

/** Catches the IoError `fn` throws. */
function ioError(fn: () => unknown): IoError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(IoError);
    return e as IoError;
  }
  throw new Error("expected an IoError");
}

netnsSuite("TunDevice", () => {
  it("opens a named TUN interface with an MTU and configures addresses and state over rtnetlink", () => {
    const tun = own(new TunDevice({ name: "tsmio0", mtu: 1400 }));
    expect(tun.name).toBe("tsmio0");
    expect(tun.mtu).toBe(1400);
    expect(tun.fd).toBeTypeOf("number");
    const flags = fdFlags(tun.fd!);
    expect(flags & O_NONBLOCK, "O_NONBLOCK").toBe(O_NONBLOCK);
    expect(flags & O_CLOEXEC, "O_CLOEXEC").toBe(O_CLOEXEC);
    expect((tun as Device).checksumsVerified, "TUN traffic is always verified").toBeFalsy();

    const before = link("tsmio0")!;
    expect(before.mtu).toBe(1400);
    expect(before.flags).not.toContain("UP");

    tun.configure({ addresses: ["10.7.0.1/24", "fd07::1/64"], up: true });
    const after = link("tsmio0")!;
    expect(after.flags).toContain("UP");
    expect(after.flags).toContain("POINTOPOINT");
    const addrs = after.addr_info.map((a) => `${a.local}/${a.prefixlen}`);
    expect(addrs).toContain("10.7.0.1/24");
    expect(addrs).toContain("fd07::1/64");

    tun.configure({ mtu: 9000 });
    expect(tun.mtu).toBe(9000);
    expect(link("tsmio0")!.mtu).toBe(9000);
    tun.configure({ up: false });
    expect(link("tsmio0")!.flags).not.toContain("UP");
  });

  it("adds routes through the interface, with and without a gateway", () => {
    const tun = own(new TunDevice({ name: "tsmio0" }));
    tun.configure({
      addresses: ["10.7.0.1/24", "fd07::1/64"],
      up: true,
      routes: [{ dest: "10.9.0.0/16", via: "10.7.0.2" }, { dest: "10.10.0.0/16" }, { dest: "fd09::/64", via: "fd07::2" }],
    });
    const r4 = ipJson<Array<{ dst: string; gateway?: string; dev: string }>>("-4", "route", "show");
    expect(r4).toContainEqual(expect.objectContaining({ dst: "10.9.0.0/16", gateway: "10.7.0.2", dev: "tsmio0" }));
    expect(r4).toContainEqual(expect.objectContaining({ dst: "10.10.0.0/16", dev: "tsmio0" }));
    const r6 = ipJson<Array<{ dst: string; gateway?: string; dev: string }>>("-6", "route", "show");
    expect(r6).toContainEqual(expect.objectContaining({ dst: "fd09::/64", gateway: "fd07::2", dev: "tsmio0" }));
  });

  it("lets the kernel name the interface", () => {
    const a = own(new TunDevice());
    const b = own(new TunDevice({ name: "tsm%d" }));
    expect(a.name).toMatch(/^tun\d+$/);
    expect(b.name).toMatch(/^tsm\d+$/);
    expect(link(a.name)).toBeDefined();
    expect(link(b.name)).toBeDefined();
  });

  it("closing the device removes the interface", () => {
    const tun = new TunDevice({ name: "tsmio0" });
    tun.configure({ addresses: ["10.7.0.1/24"], up: true });
    expect(link("tsmio0")).toBeDefined();
    tun.close();
    expect(link("tsmio0")).toBeUndefined();
    expect(tun.fd).toBeUndefined();
    tun.close(); // idempotent
    expect(tun.receive()).toBeNull();
    expect(ioError(() => tun.configure({ up: true })).code).toBe("EBADF");
    // the name is free again
    own(new TunDevice({ name: "tsmio0" }));
  });

  it("reports a missing clone device with ENOENT and a clear message", () => {
    const e = ioError(() => new TunDevice({ path: "/nonexistent/tun" }));
    expect(e.code).toBe("ENOENT");
    expect(e.message).toContain("/nonexistent/tun is missing");
  });

  it("reports a name in use (EBUSY), refused names and bad options", () => {
    own(new TunDevice({ name: "tsmio0" }));
    const busy = ioError(() => new TunDevice({ name: "tsmio0" }));
    expect(busy.code).toBe("EBUSY");
    expect(busy.message).toContain("tsmio0");
    expect(ioError(() => new TunDevice({ name: "a b" })).code).toBe("EINVAL");
    expect(() => new TunDevice({ name: "x".repeat(16) })).toThrow(TypeError);
    expect(() => new TunDevice({ mtu: 40 })).toThrow(TypeError);
    expect(() => new TunDevice({ mtu: 1500.5 })).toThrow(TypeError);
  });

  it("reports rtnetlink errors with the kernel's errno", () => {
    const tun = own(new TunDevice({ name: "tsmio0" }));
    tun.configure({ addresses: ["10.7.0.1/24"] });
    const dup = ioError(() => tun.configure({ addresses: ["10.7.0.1/24"] }));
    expect(dup.code).toBe("EEXIST");
    expect(dup.message).toContain("adding address 10.7.0.1/24 to tsmio0");
    expect(() => tun.configure({ addresses: ["10.7.0.1/33"] })).toThrow(TypeError);
    // a gateway is only reachable once the interface is up
    const unreachable = ioError(() => tun.configure({ routes: [{ dest: "10.9.0.0/16", via: "10.7.0.2" }] }));
    expect(unreachable.code).toBe("ENETUNREACH");
  });

  it("receives what the kernel routes into the interface, in batches, in order", () => {
    const tun = own(new TunDevice({ name: "tsmio0" }));
    tun.configure({ addresses: ["10.7.0.1/24"], up: true });
    while (tun.receive() !== null); // IPv6 chatter from bringing the link up, if any
    const sock = own(UdpSocket.bind("10.7.0.1:0"));
    const port = sock.localAddr().port;
    const count = 200; // several batch reads (64 slots of 1500 bytes)
    for (let i = 0; i < count; i++) expect(sock.sendTo(pattern(100 + i, i), `10.7.0.2:${4000 + i}`)).toBe(100 + i);
    const got: Array<{ dst: string; port: number; data: Uint8Array }> = [];
    for (let pkt = tun.receive(); pkt !== null && got.length < 1000; pkt = tun.receive()) {
      const s = parse(pkt);
      if (s.protocol !== IpProtocol.Udp) continue;
      expect(s.src).toBe("10.7.0.1");
      const u = udpOf(s);
      expect(u.srcPort).toBe(port);
      got.push({ dst: s.dst, port: u.dstPort, data: u.payload.slice() });
    }
    expect(got.length).toBe(count);
    got.forEach((g, i) => {
      expect(g.dst).toBe("10.7.0.2");
      expect(g.port).toBe(4000 + i);
      expect(same(g.data, pattern(100 + i, i)), `datagram ${i}`).toBe(true);
    });
    expect(tun.receive()).toBeNull();
    expect(tun.takeError()).toBeNull();
  });

  it("transmits packets to the kernel, one per write (IPv4 and IPv6)", () => {
    const tun = own(new TunDevice({ name: "tsmio0" }));
    tun.configure({ addresses: ["10.7.0.1/24", "fd07::1/64"], up: true });
    const s4 = own(UdpSocket.bind("10.7.0.1:0"));
    const s6 = own(UdpSocket.bind("[fd07::1]:0"));
    for (let i = 0; i < 10; i++) {
      tun.transmit(udpPacket("10.7.0.2", "10.7.0.1", 5000, s4.localAddr().port, pattern(50, i)));
      tun.transmit(udpPacket("fd07::2", "fd07::1", 5000, s6.localAddr().port, pattern(60, i)));
    }
    const buf = new Uint8Array(2048);
    for (const [sock, len, from] of [
      [s4, 50, "10.7.0.2:5000"],
      [s6, 60, "[fd07::2]:5000"],
    ] as const) {
      for (let i = 0; i < 10; i++) {
        const r = recvSoon(sock, buf);
        expect(r, `datagram ${i} to ${sock.localAddr().toString()}`).not.toBe(WOULD_BLOCK);
        const [n, addr] = r as [number, SocketAddr];
        expect(n).toBe(len);
        expect(addr.toString()).toBe(from);
        expect(same(buf.subarray(0, n), pattern(len, i))).toBe(true);
      }
      expect(sock.recvFrom(buf)).toBe(WOULD_BLOCK);
    }
    expect(tun.takeError()).toBeNull();
  });

  it("an IPv6 address is usable as soon as configure returns", () => {
    // the kernel installs an IPv6 address's local route a moment after the link
    // comes up; configure waits for it (without, ~1 in 5 of these were dropped)
    for (let trial = 0; trial < 20; trial++) {
      const tun = new TunDevice({ name: "tsmio0" });
      try {
        tun.configure({ addresses: ["fd07::1/64"], up: true });
        const sock = UdpSocket.bind("[fd07::1]:0");
        try {
          tun.transmit(udpPacket("fd07::2", "fd07::1", 5000, sock.localAddr().port, pattern(20, trial)));
          expect(recvSoon(sock, new Uint8Array(64)), `trial ${trial}`).not.toBe(WOULD_BLOCK);
        } finally {
          sock.close();
        }
      } finally {
        tun.close();
      }
    }
  });

  it("drops what it cannot send while the interface is down, and says so once", () => {
    const tun = own(new TunDevice({ name: "tsmio0" }));
    tun.transmit(udpPacket("10.7.0.2", "10.7.0.1", 5000, 5001, pattern(10)));
    tun.transmit(udpPacket("10.7.0.2", "10.7.0.1", 5000, 5001, pattern(10)));
    expect(tun.takeError()?.code).toBe("EIO");
    expect(tun.takeError()).toBeNull();
  });

  it("stops reading once the interface is deleted underneath it", () => {
    const tun = own(new TunDevice({ name: "tsmio0" }));
    tun.configure({ addresses: ["10.7.0.1/24"], up: true });
    execFileSync("ip", ["link", "del", "tsmio0"]);
    expect(tun.receive()).toBeNull();
    expect(tun.takeError()?.syscall).toBe("read");
  });
});
