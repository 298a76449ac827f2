/**
 * A TUN device: a network interface of the kernel whose IP packets this
 * process reads and writes through a descriptor. The kernel's side of the
 * interface is configured over rtnetlink ({@link TunDevice.configure}); the
 * process's side is usually a {@link Stack}, which makes the device its
 * `Device`. Open TUN devices only inside a network namespace made for the
 * purpose (see {@link inNetns}).
 */
import { IoError } from "../error.js";
import { closeFd, ownFd } from "../fd.js";
import { C, errno as E, sys } from "../native.js";
import { parseIp } from "../net/socket-addr.js";
import { parseCidr } from "../stack/iface/cidr.js";
import type { Device } from "../stack/iface/device.js";
import type { RouteConfig } from "../stack/iface/routes.js";
import { SegmentJoiner } from "./segment-joiner.js";

/** Options for {@link TunDevice}. */
export interface TunOptions {
  /**
   * The interface name, at most 15 bytes; `"tsmio%d"` lets the kernel number
   * it. Default: the kernel's choice (`tun0`, `tun1`, ...).
   */
  name?: string;
  /** The MTU to give the interface, 68..65535. Default: the kernel's, 1500. */
  mtu?: number;
  /** The clone device to open. Default: `/dev/net/tun`. */
  path?: string;
  /**
   * Offloads (default true): TCP crosses the interface in segments of up to
   * 64 KiB, whatever the MTU, as between Linux and a NIC with TSO and GRO.
   * The kernel hands over what its TCP sends without cutting it to the MTU
   * (TSO) and leaves the checksums of its packets to the device, which
   * computes them; the Stack receives those large segments as they are, as
   * Linux's TCP receives what GRO merged. Consecutive TCP segments the Stack
   * sends are joined and handed to the kernel in one write, which its TCP
   * takes as one segment. Far fewer packets for the same bytes. `false`:
   * one MTU-sized packet per read and per write.
   */
  offload?: boolean;
}

/** The kernel's side of a TUN interface, for {@link TunDevice.configure}. */
export interface TunConfig {
  /** Addresses with prefix for the kernel's side: `["10.7.0.1/24", "fd07::1/64"]`. */
  addresses?: string[];
  /** Bring the interface up (true) or down (false); unchanged when absent. */
  up?: boolean;
  /** A new MTU, 68..65535 (also the device's {@link TunDevice.mtu}). */
  mtu?: number;
  /** Routes through this interface: `{ dest: "10.9.0.0/16", via: "10.7.0.2" }`. */
  routes?: RouteConfig[];
}

const DEFAULT_PATH = "/dev/net/tun";
const DEFAULT_MTU = 1500;
const MIN_MTU = 68;
const MAX_MTU = 65535;
/** Bytes of the batch buffer to aim for; without offloads the slot count is kept within MIN_SLOTS..MAX_SLOTS. */
const BATCH_BYTES = 1 << 20;
const MIN_SLOTS = 8;
const MAX_SLOTS = 64;
/** With offloads: packets read in one native call at most (packed into BATCH_BYTES, each up to 64 KiB). */
const MAX_BATCH = 256;
/**
 * Packets {@link TunDevice.receive} hands out before it reports none, even if
 * more wait: a flood cannot hold one poll forever. The descriptor stays
 * readable, so a Poll driving the device runs it again at once.
 */
const MAX_BURST = 4096;
const EAGAIN = E.EAGAIN!;
/** How long {@link TunDevice.configure} waits for IPv6 addresses to become usable. */
const ADDRESS_WAIT_MS = 2000;
const pause = new Int32Array(new SharedArrayBuffer(4));
/** The descriptor {@link TunDevice.fromFd} hands to the constructor instead of opening one. */
let adopting: { fd: number; name: string } | null = null;

/**
 * A TUN interface (`IFF_TUN | IFF_NO_PI`: every packet is a bare IPv4 or IPv6
 * packet) as a {@link Device}. Opening needs CAP_NET_ADMIN. Closing the
 * device removes the interface.
 *
 * Received packets are read in batches: when its buffer is empty,
 * {@link TunDevice.receive} drains the descriptor (up to one buffer of
 * packets) in one native call. A Stack made with a Poll wakes that Poll when
 * the descriptor turns readable.
 *
 * With offloads (the default, see {@link TunOptions.offload}) TCP segments
 * of up to 64 KiB cross the interface both ways: the kernel's arrive whole,
 * their checksums computed by the native reader ({@link TunDevice.checksumsVerified}
 * tells the Stack which packets need no second check), and TCP segments the
 * Stack sends back to back are held and handed to the kernel joined (see
 * {@link TunDevice.transmit}); other packets carry their own checksums,
 * which the kernel verifies.
 */
export class TunDevice implements Device {
  /** The interface name the kernel gave. */
  readonly name: string;
  private descriptor: number;
  private mtuBytes: number;
  /** the batch buffer: without offloads, one slot of `slot` (the MTU) bytes per packet */
  private slot = 0;
  private buf = new Uint8Array(0);
  private lens = new Int32Array(0);
  private readonly offload: boolean;
  /** offloads: where each packet starts in `buf`, and whether its TCP/UDP checksum is known to be good (1) */
  private offsets = new Int32Array(0);
  private verified = new Uint8Array(0);
  /** whether the packet receive() last returned had its checksum verified */
  private lastVerified = false;
  /** offloads: the TCP segments being joined for one write, and whether a flush is queued */
  private readonly joiner: SegmentJoiner | null;
  private flushQueued = false;
  private readonly flushLater = (): void => {
    this.flushQueued = false;
    this.flush();
  };
  /** packets in the buffer, and the next one to hand out */
  private count = 0;
  private next = 0;
  /** packets handed out since the descriptor last ran dry */
  private burst = 0;
  private error: IoError | null = null;
  /** whether configure brought the interface up (and did not take it down since) */
  private up = false;
  /** IPv6 addresses added that the kernel has not yet been seen to accept as local */
  private pendingV6: Array<{ text: string; bytes: Uint8Array }> = [];
  /** made by fromFd: the interface may live in another namespace, so it is not configured from here */
  private readonly adopted: boolean;

  /**
   * A device around a TUN descriptor opened elsewhere, typically received
   * from another process (the sandbox helper of `tsmio run`, whose interface
   * lives in its own network namespace). Takes ownership of `fd`: close()
   * closes it. `name`, `mtu` (default 1500) and `offload` (default true) must
   * be what the opener used: offload says whether packets carry a virtio-net
   * header (IFF_VNET_HDR), which is fixed when the device is opened.
   * {@link TunDevice.configure} is not available: configure the interface in
   * its namespace.
   */
  static fromFd(fd: number, options: { name: string; mtu?: number; offload?: boolean }): TunDevice {
    if (!Number.isInteger(fd) || fd < 0) throw new TypeError(`fd must be a non-negative integer, got ${String(fd)}`);
    if (options === null || typeof options !== "object" || typeof options.name !== "string") {
      throw new TypeError("TunDevice.fromFd needs { name, mtu?, offload? }");
    }
    if (options.mtu !== undefined) checkMtu(options.mtu);
    adopting = { fd, name: options.name };
    try {
      return new TunDevice({ mtu: options.mtu, offload: options.offload });
    } finally {
      adopting = null;
    }
  }

  /**
   * Opens `path` (default `/dev/net/tun`) and creates the interface. Throws
   * {@link IoError}: `ENOENT` when the clone device is missing, `EPERM` or
   * `EACCES` without CAP_NET_ADMIN, `EBUSY` when the name is taken, `EINVAL`
   * for a name the kernel refuses.
   */
  constructor(options: TunOptions = {}) {
    if (options === null || typeof options !== "object") throw new TypeError("TunDevice options must be an object");
    const name = options.name ?? "";
    const path = options.path ?? DEFAULT_PATH;
    if (typeof name !== "string" || Buffer.byteLength(name) >= C.IFNAMSIZ || name.includes("/")) {
      throw new TypeError(`TUN interface name must be a string of at most ${C.IFNAMSIZ - 1} bytes without "/", got ${JSON.stringify(name)}`);
    }
    if (typeof path !== "string" || path === "") throw new TypeError("TUN clone device path must be a non-empty string");
    if (options.mtu !== undefined) checkMtu(options.mtu);
    if (options.offload !== undefined && typeof options.offload !== "boolean") throw new TypeError("TUN offload must be a boolean");
    this.offload = options.offload ?? true;
    if (this.offload) {
      this.buf = new Uint8Array(Math.max(BATCH_BYTES, C.TUN_MAX_OFFLOAD_PACKET));
      this.offsets = new Int32Array(MAX_BATCH);
      this.lens = new Int32Array(MAX_BATCH);
      this.verified = new Uint8Array(MAX_BATCH);
    }
    this.joiner = this.offload
      ? new SegmentJoiner({ writeOne: (p) => this.writeOne(p), writeJoined: (s, e, n, gso) => this.writeJoined(s, e, n, gso) }, C.TUN_MAX_JOIN)
      : null;
    const adopted = adopting;
    adopting = null;
    this.adopted = adopted !== null;
    if (adopted !== null) {
      this.descriptor = adopted.fd;
      ownFd(this, adopted.fd);
      this.name = adopted.name;
      this.mtuBytes = options.mtu ?? DEFAULT_MTU;
      return;
    }
    const nameOut = new Uint8Array(C.IFNAMSIZ);
    const fd = sys.tunOpen(path, name, nameOut, this.offload ? 1 : 0);
    if (fd < 0) throw openError(-fd, path, name);
    this.descriptor = fd;
    ownFd(this, fd);
    this.name = Buffer.from(nameOut.subarray(0, nameOut.indexOf(0))).toString();
    this.mtuBytes = DEFAULT_MTU;
    if (options.mtu !== undefined && options.mtu !== DEFAULT_MTU) {
      try {
        this.setMtu(options.mtu);
      } catch (e) {
        this.close();
        throw e;
      }
    }
  }

  /** The largest IP packet the interface carries, in bytes. */
  get mtu(): number {
    return this.mtuBytes;
  }

  /**
   * Whether the TCP/UDP checksum of the packet {@link TunDevice.receive}
   * returned last is known to be good, so that a Stack need not sum it
   * again: with offloads, true for the kernel's own packets (their checksum
   * was computed by the device from the kernel's data, or checked by the
   * kernel); false for packets nobody checked, and always false without
   * offloads.
   */
  get checksumsVerified(): boolean {
    return this.lastVerified;
  }

  /** The descriptor; undefined once closed. */
  get fd(): number | undefined {
    return this.descriptor >= 0 ? this.descriptor : undefined;
  }

  /**
   * The next packet the kernel sent through the interface, or null when none
   * waits (also once after a burst of 4096 packets, so a flood cannot hold
   * one poll forever). The bytes stay valid until the next call. With
   * offloads a TCP packet may be longer than the MTU (up to 64 KiB: see
   * {@link TunOptions.offload}). Without, a packet longer than the buffer
   * slot (the interface's MTU was raised behind the device's back) is
   * dropped and reported by {@link TunDevice.takeError} as `EMSGSIZE`; so
   * is a failed read.
   */
  receive(): Uint8Array | null {
    for (;;) {
      if (this.next < this.count) {
        const i = this.next++;
        const len = this.lens[i]!;
        if (this.offload) {
          this.lastVerified = this.verified[i] === 1;
          const at = this.offsets[i]!;
          return this.buf.subarray(at, at + len);
        }
        if (len > this.slot) {
          this.error ??= new IoError("EMSGSIZE", `a ${len}-byte packet exceeded the ${this.slot}-byte buffer slot (MTU changed outside TunDevice?)`, "read");
          continue;
        }
        const at = i * this.slot;
        return this.buf.subarray(at, at + len);
      }
      this.lastVerified = false;
      // the end of a batch: what the Stack sent while it took the batch in goes out now
      this.flush();
      if (this.descriptor < 0 || this.burst >= MAX_BURST) {
        this.burst = 0;
        return null;
      }
      let n: number;
      if (this.offload) {
        n = sys.tunReadOffload(this.descriptor, this.buf, this.offsets, this.lens, this.verified, MAX_BATCH);
      } else {
        if (this.slot !== this.mtuBytes) this.allocate();
        n = sys.tunReadBatch(this.descriptor, this.buf, this.slot, this.lens, this.lens.length);
      }
      this.next = 0;
      this.count = n > 0 ? n : 0;
      if (n <= 0) {
        if (n < 0 && n !== -EAGAIN) this.error ??= IoError.fromErrno(-n, "read");
        this.burst = 0;
        return null;
      }
      this.burst += n;
    }
  }

  /**
   * Hands one IP packet to the kernel. A packet the kernel refuses (the
   * interface is down: `EIO`) is dropped, as a network device drops, and
   * reported by {@link TunDevice.takeError}.
   *
   * With offloads, a TCP data segment may wait for the next ones of its
   * connection, to go out joined with them in one write: until
   * {@link TunDevice.receive} has handed out the packets it read in one
   * batch (so while a Stack takes them in), until {@link TunDevice.pollAt} or
   * {@link TunDevice.flush}, and at the latest until the running JavaScript
   * task ends (a queued microtask): before a Poll waits, or Node's event
   * loop moves on. Any other packet sends the held segments first, so the
   * order is kept.
   */
  transmit(packet: Uint8Array): void {
    if (this.descriptor < 0) return;
    const joiner = this.joiner;
    if (joiner === null) return this.writeOne(packet);
    if (joiner.add(packet)) {
      if (!this.flushQueued) {
        this.flushQueued = true;
        queueMicrotask(this.flushLater);
      }
      return;
    }
    joiner.flush();
    this.writeOne(packet);
  }

  /** Sends the TCP segments {@link TunDevice.transmit} holds, if any. */
  flush(): void {
    if (this.joiner?.holding === true) this.joiner.flush();
  }

  /**
   * A TUN device has no timed arrivals (its descriptor says when packets
   * wait): always null. Also sends held segments, since a Poll asks this
   * of every Stack before it waits.
   */
  pollAt(): number | null {
    this.flush();
    return null;
  }

  /** One packet to the kernel. */
  private writeOne(packet: Uint8Array): void {
    if (this.descriptor < 0) return;
    const r = this.offload ? sys.tunWriteOffload(this.descriptor, packet) : sys.write(this.descriptor, packet);
    if (r < 0) this.error ??= IoError.fromErrno(-r, "write");
  }

  /** Segments of one connection to the kernel, joined where their checksums are good. */
  private writeJoined(staging: Uint8Array, ends: Int32Array, count: number, gsoSize: number): void {
    if (this.descriptor < 0) return;
    const r = sys.tunWriteJoined(this.descriptor, staging, ends, count, gsoSize);
    if (r < 0) this.error ??= IoError.fromErrno(-r, "write");
  }

  /** The first read or write failure since the last call, or null. */
  takeError(): IoError | null {
    const e = this.error;
    this.error = null;
    return e;
  }

  /**
   * Configures the kernel's side of the interface over rtnetlink, in this
   * order: MTU, addresses, up/down, routes. IPv6 addresses skip duplicate
   * address detection, and once the interface is up `configure` returns only
   * when the kernel accepts them as local (it installs their routes a moment
   * after the link comes up; until then it drops packets sent to them).
   * Throws {@link IoError} with the kernel's errno (`EEXIST` for an address
   * or route already present; `ETIMEDOUT` if an IPv6 address stays unusable
   * for 2 s).
   */
  configure(config: TunConfig): void {
    this.live();
    if (config === null || typeof config !== "object") throw new TypeError("configure needs an object { addresses, up, mtu, routes }");
    if (this.adopted) throw new IoError("EOPNOTSUPP", `TUN device ${this.name} was made from a descriptor: configure the interface where it was opened`, "rtnetlink");
    if (config.mtu !== undefined) this.setMtu(checkMtu(config.mtu));
    for (const a of config.addresses ?? []) {
      const cidr = parseCidr(a);
      const flags = cidr.family === 6 ? C.IFA_F_NODAD : 0;
      netlink(sys.nlAddrAdd(this.name, cidr.bytes, cidr.prefix, flags), `adding address ${a} to ${this.name}`);
      if (cidr.family === 6) this.pendingV6.push({ text: a, bytes: cidr.bytes });
    }
    if (config.up !== undefined) {
      netlink(sys.nlLinkSet(this.name, config.up ? 1 : 0, -1), `setting ${this.name} ${config.up ? "up" : "down"}`);
      this.up = config.up;
    }
    if (this.up) this.awaitAddresses();
    for (const r of config.routes ?? []) {
      const dest = parseCidr(r.dest);
      let via: Uint8Array = new Uint8Array(0);
      if (r.via !== undefined) {
        const gw = parseIp(r.via);
        if (!gw || gw.length !== dest.bytes.length) throw new TypeError(`invalid gateway ${JSON.stringify(r.via)} for ${r.dest}`);
        via = gw;
      }
      const what = `adding route ${r.dest}${r.via !== undefined ? ` via ${r.via}` : ""} dev ${this.name}`;
      netlink(sys.nlRouteAdd(dest.bytes, dest.prefix, via, this.name), what);
    }
  }

  /** Closes the descriptor, which removes the interface. Idempotent. */
  close(): void {
    if (this.descriptor < 0) return;
    this.flush();
    const fd = this.descriptor;
    this.descriptor = -1;
    this.count = this.next = 0;
    closeFd(this, fd);
  }

  /** Waits (bounded) until the kernel routes each pending IPv6 address as local. */
  private awaitAddresses(): void {
    const deadline = Date.now() + ADDRESS_WAIT_MS;
    while (this.pendingV6.length > 0) {
      const { text, bytes } = this.pendingV6[0]!;
      if (sys.nlRouteType(bytes) === C.RTN_LOCAL) {
        this.pendingV6.shift();
        continue;
      }
      if (Date.now() > deadline) {
        throw new IoError("ETIMEDOUT", `address ${text} on ${this.name} not usable after ${ADDRESS_WAIT_MS} ms`, "rtnetlink");
      }
      Atomics.wait(pause, 0, 0, 1);
    }
  }

  private setMtu(mtu: number): void {
    this.live();
    netlink(sys.nlLinkSet(this.name, -1, mtu), `setting the MTU of ${this.name} to ${mtu}`);
    this.mtuBytes = mtu;
  }

  /** (Re)allocates the batch buffer without offloads: slots of one MTU, about BATCH_BYTES in all. */
  private allocate(): void {
    const slots = Math.max(MIN_SLOTS, Math.min(MAX_SLOTS, Math.floor(BATCH_BYTES / this.mtuBytes)));
    this.slot = this.mtuBytes;
    this.buf = new Uint8Array(slots * this.slot);
    this.lens = new Int32Array(slots);
  }

  private live(): void {
    if (this.descriptor < 0) throw new IoError("EBADF", `TUN device ${this.name} is closed`);
  }
}

function checkMtu(mtu: unknown): number {
  if (typeof mtu !== "number" || !Number.isInteger(mtu) || mtu < MIN_MTU || mtu > MAX_MTU) {
    throw new TypeError(`TUN MTU must be an integer in ${MIN_MTU}..${MAX_MTU}, got ${String(mtu)}`);
  }
  return mtu;
}

/** Throws the kernel's answer to an rtnetlink request, unless it is 0. */
function netlink(ret: number, what: string): void {
  if (ret >= 0) return;
  throw new IoError(sys.errnoName(-ret), `${what}: ${sys.strerror(-ret)}`, "rtnetlink");
}

/** Why opening the clone device failed, in words a user can act on. */
function openError(errno: number, path: string, name: string): IoError {
  const code = sys.errnoName(errno);
  const iface = name === "" ? "a TUN interface" : `TUN interface ${JSON.stringify(name)}`;
  switch (code) {
    case "ENOENT":
      return new IoError(code, `${path} is missing: load the tun module (modprobe tun) or give the container the device (--device /dev/net/tun)`, "open");
    case "ENODEV":
    case "ENXIO":
      return new IoError(code, `${path} has no TUN driver behind it: load the tun module (modprobe tun)`, "open");
    case "EPERM":
      return new IoError(code, `creating ${iface} needs CAP_NET_ADMIN: run as root, or inside \`unshare --user --map-root-user --net\``, "open");
    case "EACCES":
      return new IoError(code, `${path} is not accessible: creating ${iface} needs read-write access to it and CAP_NET_ADMIN`, "open");
    case "EBUSY":
      return new IoError(code, `${iface}: the name is taken by another interface`, "open");
    case "EINVAL":
      return new IoError(code, `${iface}: the kernel refused the name or the flags`, "open");
    default:
      return IoError.fromErrno(errno, "open");
  }
}
