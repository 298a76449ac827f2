/**
 * `Sim`: a whole network of userspace stacks in virtual time, seeded and
 * reproducible: hosts, switches, routers, impaired links, partitions, holds, crashes,
 * a pcap of everything sent, and a loop that runs async code in virtual time.
 */
import { IoError } from "../error.js";
import { PollDriver } from "../node/driver.js";
import { SimClock } from "../poll/clock.js";
import type { Event } from "../poll/event.js";
import { Interest } from "../poll/interest.js";
import { Poll } from "../poll/poll.js";
import { selectorOf } from "../poll/registry.js";
import type { Selector } from "../poll/selector.js";
import type { Source } from "../poll/source.js";
import type { Token } from "../poll/token.js";
import { Random } from "../random.js";
import { parseCidr } from "../stack/iface/cidr.js";
import { seedOf } from "../stack/iface/check.js";
import { Link, type LinkOptions } from "../stack/iface/link.js";
import type { RouteConfig } from "../stack/iface/routes.js";
import { Stack } from "../stack/stack.js";
import { Fabric, type SimNode, type SimStats, type SimTraceFn } from "./fabric.js";
import { type HostStackOptions, HostNic, HostNode } from "./host.js";
import { SimCapture } from "./pcap.js";
import { type SimRunOptions, runInVirtualTime } from "./run.js";
import { SimRouter } from "./router.js";
import { SimSwitch } from "./switch.js";
import { type SimTimeout, TimerQueue } from "./timers.js";

/** Options of a {@link Sim}. */
export interface SimOptions {
  /** Seed of all randomness in the Sim (any safe integer, default 0). */
  seed?: number;
}

/**
 * Options of `sim.host(name, options)`: the host's addresses and any other
 * {@link StackOptions} (tcp settings, routes, ...) except the ones the Sim
 * provides (`poll`, `clock`, `device`, `seed`).
 */
export type SimHostOptions = HostStackOptions;

/** Options of `sim.link(x, y, options)`: those of a {@link Link}, except its seed, which the Sim derives. */
export type SimLinkOptions = Omit<LinkOptions, "seed">;

/** A host of a Sim: its Stack (any incarnation) or its name. */
export type SimHostRef = Stack | string;

/** A node of a Sim: a host's Stack, a {@link SimSwitch}, a {@link SimRouter}, or a name. */
export type SimNodeRef = Stack | SimSwitch | SimRouter | string;

/** Options of `sim.router(name, options)`. */
export interface SimRouterOptions {
  /** The router's addresses (at least one): the first of each family is the source of its ICMP messages. */
  addresses: string[];
}

/** The readiness `sim.ready` resolved with (a copy of the event's flags). */
export interface Readiness {
  readable: boolean;
  writable: boolean;
  error: boolean;
  readClosed: boolean;
  writeClosed: boolean;
  priority: boolean;
}

/** Keys of {@link StackOptions} the Sim sets itself. */
const SIM_OWNED = ["poll", "clock", "device", "seed"] as const;

/**
 * A simulated network in virtual time.
 *
 * - **Hosts** (`sim.host`) are {@link Stack}s on one Poll over a
 *   {@link SimClock} ({@link Sim.poll}, {@link Sim.clock}). Each gets, besides
 *   its connected prefixes and any `routes` given, an on-link default route
 *   per address family it has: every destination is handed to the host's
 *   interface, and the Sim delivers it to the host owning that address,
 *   wherever it is (no subnet has to match). A packet to an address no host
 *   owns is dropped (counted as `"no-route"`): a connect there times out.
 * - **Links** (`sim.link`) join two nodes (hosts, switches, routers), e.g. a host and a
 *   switch, with every impairment of a {@link Link}. **Switches**
 *   (`sim.switch`) let any number of hosts share a network: packets go along
 *   the shortest path of links (ties: links made first), through switches
 *   only (a host never forwards). A host's MTU is the smallest of its links'.
 * - **Seeds**: every Link's seed derives from the Sim's seed and the names of
 *   its two ends; every Stack's from the Sim's seed, the host's name and its
 *   incarnation (restart count). The same seed and the same code give the
 *   same packets at the same virtual times, byte for byte.
 * - **Faults** between two hosts, wherever their traffic flows, both
 *   directions: {@link Sim.partition} / {@link Sim.repair},
 *   {@link Sim.hold} / {@link Sim.release}, and {@link Sim.crash} /
 *   {@link Sim.restart} of one host.
 * - **Capture**: {@link Sim.pcap} writes every packet any host sends;
 *   {@link Sim.trace} shows each one to a function.
 *
 * @example
 * const sim = new Sim({ seed: 1 });
 * const a = sim.host("a", { addresses: ["10.0.0.1/24"] });
 * const b = sim.host("b", { addresses: ["10.0.0.2/24"] });
 * sim.link(a, b, { delayMs: 50, loss: 0.2, bandwidthBps: 10e6, mtu: 1500 });
 * await sim.run(async () => {
 *   const l = b.tcpBind("10.0.0.2:80");
 *   const s = a.tcpConnect("10.0.0.2:80");
 *   await sim.ready(s, Interest.WRITABLE);   // connected (or failed: s.takeError())
 * });
 */
export class Sim {
  /** The seed everything in the Sim derives from. */
  readonly seed: number;
  /** Virtual time, in ms from 0. */
  readonly clock: SimClock;
  /** The Poll every host's Stack is driven by (on {@link Sim.clock}). */
  readonly poll: Poll;
  private readonly selector: Selector;
  private readonly fabric: Fabric;
  private readonly hosts = new Map<string, HostNode>();
  /** the switches and routers */
  private readonly forwarders = new Map<string, SimSwitch | SimRouter>();
  private readonly stacks = new WeakMap<object, HostNode>();
  private readonly timers = new TimerQueue();
  private readonly captures = new Set<SimCapture>();
  private running = false;
  /** the error of a tracer that threw during a run, for the run to reject with */
  private traceFailure: { error: unknown } | null = null;
  private closed = false;

  /** Throws a TypeError for a seed that is not a safe integer. */
  constructor(options: SimOptions = {}) {
    if (options === null || typeof options !== "object") throw new TypeError("Sim options must be an object like { seed: 1 }");
    this.seed = seedOf(options.seed);
    this.clock = new SimClock();
    this.poll = new Poll({ clock: this.clock });
    this.selector = selectorOf(this.poll.registry());
    this.fabric = new Fabric(this.clock);
    this.fabric.onTraceError = (error) => {
      if (this.running) this.traceFailure ??= { error };
      else
        queueMicrotask(() => {
          throw error;
        });
    };
  }

  // ---- building the network ---------------------------------------------

  /**
   * Adds a host named `name` (unique among hosts and switches) with
   * `options.addresses` (at least one, none owned by another host) and
   * returns its Stack. Throws a TypeError on bad arguments.
   */
  host(name: string, options: SimHostOptions): Stack {
    this.live();
    this.checkName(name);
    if (options === null || typeof options !== "object") throw new TypeError(`sim.host("${name}", options): options must be an object with addresses`);
    for (const k of SIM_OWNED) {
      if (k in options) throw new TypeError(`sim.host: option "${k}" is set by the Sim${k === "seed" ? " (derived from the Sim's seed)" : ""}`);
    }
    if (!Array.isArray(options.addresses) || options.addresses.length === 0) {
      throw new TypeError(`sim.host("${name}"): addresses must be a non-empty array like ["10.0.0.1/24"]`);
    }
    const cidrs = options.addresses.map(parseCidr);
    const host = new HostNode(name, cidrs, { ...options, routes: withDefaultRoutes(options.routes, cidrs) }, this.fabric);
    this.fabric.claim(host, cidrs, true);
    this.boot(host);
    this.fabric.claim(host, cidrs);
    this.hosts.set(name, host);
    return host.stack;
  }

  /** Adds a switch named `name` (unique among the Sim's nodes), for `sim.link`. */
  switch(name: string): SimSwitch {
    this.live();
    this.checkName(name);
    return this.addForwarder(new SimSwitch(name, this.fabric));
  }

  /**
   * Adds a router named `name` (unique among the Sim's nodes) with
   * `options.addresses`, for `sim.link`: it passes packets on like a switch,
   * but decrements their TTL / hop limit and answers, from its own address,
   * with ICMP Time Exceeded when it runs out (traceroute), and with
   * Fragmentation Needed / Packet Too Big when a packet does not fit the
   * next link (IPv4 without DF is fragmented instead): the hosts' stacks,
   * which send TCP and UDP with DF as Linux does, learn the path MTU from
   * it. UDP to its own addresses gets Port Unreachable.
   */
  router(name: string, options: SimRouterOptions): SimRouter {
    this.live();
    this.checkName(name);
    if (options === null || typeof options !== "object" || !Array.isArray(options.addresses) || options.addresses.length === 0) {
      throw new TypeError(`sim.router("${name}"): options must be { addresses: ["10.0.1.254/24", ...] } with at least one address`);
    }
    const cidrs = options.addresses.map(parseCidr);
    const router = new SimRouter(name, cidrs, this.fabric);
    this.fabric.claim(router, cidrs);
    return this.addForwarder(router);
  }

  /**
   * Joins `x` and `y` (hosts, switches or routers) with a new {@link Link} and returns
   * it (`link.a` is `x`'s end; its `stats()` count what the link lost).
   * Throws a TypeError for an unknown node, a node linked to itself, a pair
   * already linked, or an out-of-range option.
   */
  link(x: SimNodeRef, y: SimNodeRef, options: SimLinkOptions = {}): Link {
    this.live();
    const nx = this.nodeOf(x, "sim.link");
    const ny = this.nodeOf(y, "sim.link");
    if (nx === ny) throw new TypeError(`sim.link: cannot link "${nx.name}" to itself`);
    if (nx.ports.some((p) => p.peer === ny)) throw new TypeError(`sim.link: "${nx.name}" and "${ny.name}" are already linked`);
    if (options === null || typeof options !== "object") throw new TypeError("sim.link: options must be an object");
    if ("seed" in options) throw new TypeError("sim.link: option \"seed\" is set by the Sim (derived from the Sim's seed)");
    const link = new Link({ ...options, seed: this.derive(`link:${nx.name}|${ny.name}`) });
    link.onDrop((packet, reason, end) => this.fabric.record(packet, end === link.a ? nx : ny, reason));
    link.a.attach(this.clock);
    link.b.attach(this.clock);
    this.fabric.connect(nx, ny, link);
    return link;
  }

  // ---- faults -------------------------------------------------------------

  /**
   * Cuts all traffic between hosts `a` and `b`, both ways, wherever it flows:
   * a packet between them is dropped if the pair is partitioned when it is
   * sent or when it arrives (so what was in flight is lost too, unless
   * repaired before it lands). Packets held between them are dropped.
   */
  partition(a: SimHostRef, b: SimHostRef): void {
    const [ha, hb] = this.pair(a, b, "sim.partition");
    this.fabric.setRule(ha, hb, "partition");
    ha.dropHeld(hb, "partition");
    hb.dropHeld(ha, "partition");
  }

  /** Ends a partition between `a` and `b` (no-op if there is none). */
  repair(a: SimHostRef, b: SimHostRef): void {
    const [ha, hb] = this.pair(a, b, "sim.repair");
    if (this.fabric.rule(ha, hb) === "partition") this.fabric.setRule(ha, hb, undefined);
  }

  /**
   * Holds traffic between hosts `a` and `b`, both ways: packets that arrive
   * at either of them from the other (after their links' delays and
   * impairments) are queued, in order, instead of being delivered, until
   * {@link Sim.release}. Replaces a partition between them.
   */
  hold(a: SimHostRef, b: SimHostRef): void {
    const [ha, hb] = this.pair(a, b, "sim.hold");
    this.fabric.setRule(ha, hb, "hold");
  }

  /**
   * Ends a hold between `a` and `b` (no-op if there is none): what was held
   * is delivered at the current virtual time, in the order it arrived, ahead
   * of anything arriving later.
   */
  release(a: SimHostRef, b: SimHostRef): void {
    const [ha, hb] = this.pair(a, b, "sim.release");
    if (this.fabric.rule(ha, hb) !== "hold") return;
    this.fabric.setRule(ha, hb, undefined);
    ha.release(hb);
    hb.release(ha);
  }

  /**
   * Crashes a host: its Stack is closed without a word on the wire (no RST,
   * no FIN), its sockets are dead for good (they never become ready again),
   * and nothing reaches it until {@link Sim.restart}: packets held for it are
   * dropped, packets arriving meanwhile are lost. Packets it sent before the
   * crash are still delivered. No-op if it is already down.
   */
  crash(host: SimHostRef): void {
    const h = this.hostOf(host, "sim.crash");
    if (h.crashed) return;
    h.crashed = true;
    h.nic.alive = false;
    h.stack.close();
    h.discardQueued();
  }

  /**
   * Boots a host again (crashing it first if it is up) and returns its new
   * Stack: same name, addresses, links and options, a fresh seed derived
   * from the host's name and incarnation, and no sockets. Peers of its old
   * connections get a RST on their next segment (`ECONNRESET`), and connects
   * to a port nobody listens on again are refused (`ECONNREFUSED`). Packets
   * that arrived while it was down are lost; packets still in flight when it
   * restarts reach the new Stack.
   */
  restart(host: SimHostRef): Stack {
    this.live();
    const h = this.hostOf(host, "sim.restart");
    this.crash(h.stack);
    h.discardArrived(this.clock.now());
    this.boot(h);
    return h.stack;
  }

  /** The current Stack of a host (after a restart, the new one). */
  stack(host: SimHostRef): Stack {
    return this.hostOf(host, "sim.stack").stack;
  }

  // ---- time ----------------------------------------------------------------

  /** The current virtual time, in ms. */
  now(): number {
    return this.clock.now();
  }

  /**
   * Calls `callback` when virtual time reaches `now() + ms` (ms >= 0;
   * fractions allowed). Fired by `sim.run` only, in due order (ties in the
   * order they were set). A callback that throws makes the run reject.
   */
  setTimeout(callback: () => void, ms = 0): SimTimeout {
    if (typeof callback !== "function") throw new TypeError("sim.setTimeout: callback must be a function");
    return this.timers.add(this.clock.now() + delayOf("sim.setTimeout", ms), callback);
  }

  /** Cancels a timer from {@link Sim.setTimeout} (idempotent). */
  clearTimeout(timer: SimTimeout): void {
    timer.cancel();
  }

  /** Resolves when virtual time reaches `now() + ms` (inside `sim.run`). */
  sleep(ms: number): Promise<void> {
    const at = this.clock.now() + delayOf("sim.sleep", ms);
    return new Promise((resolve) => this.timers.add(at, resolve));
  }

  /**
   * Resolves at the next readiness of `source` (a virtual socket of one of
   * the hosts) for `interest` (default READABLE): registers it with the
   * Sim's Poll, and deregisters it at the first event. Registration reports
   * readiness the source already has, so `await sim.ready(s)` right after
   * `read` returned WOULD_BLOCK waits for new data. The source must not be
   * registered with the Poll already. Rejects with the registration's error
   * (`EBADF` for a closed socket).
   */
  ready(source: Source, interest: Interest = Interest.READABLE): Promise<Readiness> {
    const driver = PollDriver.for(this.poll);
    return new Promise<Readiness>((resolve) => {
      const token: Token = driver.watch(source, interest, (e) => {
        driver.unwatch(token);
        resolve(readinessOf(e));
      });
    });
  }

  /**
   * Runs `fn` in virtual time until the promise it returns settles, and
   * settles the same way. The loop:
   *
   * 1. lets Node take one turn of its event loop (`setImmediate`), so that
   *    everything `fn` set going settles: promise continuations, nextTicks,
   *    immediates, stream callbacks;
   * 2. steps the Poll once without moving time
   *    (`PollDriver.for(sim.poll).step(0)`): stacks and switches move every
   *    packet due now and run due stack timers, and the callbacks watching
   *    sources (`sim.ready`, the Node adapters) run; then fires due sim
   *    timers (`sim.setTimeout`, `sim.sleep`);
   * 3. if that progressed (an event dispatched, a packet sent, forwarded,
   *    delivered or held, a sim timer fired), goes back to 1;
   * 4. after `idleTurns` (default 2) turns in a row without progress, moves
   *    virtual time to the earliest of the next packet arrival, the next
   *    stack timer and the next sim timer, and steps again, repeating while
   *    that runs none of the code's callbacks (packets on their way, stack
   *    timers: nothing Node needs a turn for), then goes back to 1. Time
   *    never moves while anything is runnable, so at a given virtual
   *    instant everything runnable runs before the next one.
   *
   * It rejects with an IoError `EDEADLK` when `fn` has not settled and
   * nothing can ever happen in virtual time (no packet in flight, no timer)
   * for `deadlockMs` of wall time (default 500), and with `ETIME` after
   * `maxWallMs` of wall time in all (default 60 s). Runs cannot nest or
   * overlap: a second `run` while one is going rejects.
   *
   * **User code and virtual time.** Synchronous code and promise chains take
   * no virtual time: `sim.now()` moves only in step 4. Use `sim.sleep` and
   * `sim.setTimeout` for time inside a run. The idle timeouts of the
   * adapters' sockets (`socket.setTimeout`, and so an http server's
   * keep-alive timeout) run in virtual time. Node's own timers
   * (`setTimeout`, `setInterval`, `timers/promises`), its clock (`Date`:
   * an http response's Date header; set `res.sendDate = false` for
   * byte-identical runs) and real I/O stay in wall time: the Sim does not
   * wait for them; while one is
   * pending it keeps advancing virtual time whenever it is otherwise idle
   * (so how far virtual time moves before a Node timer fires depends on
   * wall-clock speed: not reproducible), and if nothing at all is pending in
   * virtual time it waits up to `deadlockMs` for them. Sim timers and the
   * network move only inside `run` (between runs, virtual time stands
   * still). Inside a run, watch sources through `sim.ready`, `PollDriver`
   * or the Node adapters, never by calling `sim.poll.poll` yourself.
   */
  run<T>(fn: () => T | PromiseLike<T>, options: SimRunOptions = {}): Promise<T> {
    if (typeof fn !== "function") return Promise.reject(new TypeError("sim.run expects a function"));
    if (this.closed) return Promise.reject(new IoError("EBADF", "the Sim is closed"));
    if (this.running) {
      return Promise.reject(new Error("sim.run is already running: runs cannot nest or overlap (await the first one)"));
    }
    if (options === null || typeof options !== "object") return Promise.reject(new TypeError("sim.run: options must be an object"));
    this.running = true;
    const driver = PollDriver.for(this.poll);
    const pump = (): { user: number; network: number } => {
      const before = this.fabric.moved;
      driver.step(0);
      const user = driver.takeActivity() + this.timers.fireDue(this.clock.now());
      const failure = this.traceFailure;
      if (failure !== null) {
        this.traceFailure = null;
        throw failure.error;
      }
      return { user, network: this.fabric.moved - before };
    };
    const world = {
      pump,
      nextWakeup: () => Math.min(this.selector.nextDeadline(), this.timers.next()),
      advanceTo: (t: number) => this.clock.advanceTo(t),
      now: () => this.clock.now(),
    };
    return runInVirtualTime(world, fn, options).finally(() => {
      this.running = false;
    });
  }

  // ---- observing -----------------------------------------------------------

  /**
   * Starts writing every packet any host sends to a pcap file at `path`
   * (LINKTYPE_RAW, virtual timestamps): each packet once, as its sender
   * put it on the wire (a capture at the sender's interface: before link
   * impairments, including what a partition then drops). The same seed and
   * code give a byte-identical file. Returns the capture; `close()` it or
   * {@link Sim.close} the Sim.
   */
  pcap(path: string): SimCapture {
    this.live();
    if (typeof path !== "string" || path.length === 0) throw new TypeError("sim.pcap needs a file path");
    const tracer: SimTraceFn = (packet, timeMs, _from, dropped) => {
      if (dropped === undefined) capture.write(packet, timeMs);
    };
    const capture: SimCapture = new SimCapture(path, (c) => {
      this.captures.delete(c);
      this.fabric.tracers.delete(tracer);
    });
    this.captures.add(capture);
    this.fabric.tracers.add(tracer);
    return capture;
  }

  /**
   * Calls `fn(packet, timeMs, from)` for every packet any host (or router)
   * sends, when it sends it (where {@link Sim.pcap} would record it): the
   * bytes, valid only during the call, the virtual time and the sender's
   * name; and `fn(packet, timeMs, at, reason)` when the network drops a
   * packet: a link (`"loss"`, `"queue"`, `"mtu"`, `"down"`; `at` is the node
   * that put it on the link) or the Sim (`"partition"`, `"no-route"`,
   * `"crashed"`, a router's `"ttl"`, ...; `at` is where). Returns
   * a function that stops the tracing. A `fn` that throws is stopped (the
   * send goes on): inside {@link Sim.run} the run rejects with its error;
   * outside (driving `sim.poll` yourself) the error is thrown from a
   * microtask.
   */
  trace(fn: SimTraceFn): () => void {
    this.live();
    if (typeof fn !== "function") throw new TypeError("sim.trace expects a function (packet, timeMs, from) => void");
    const tracer: SimTraceFn = (packet, timeMs, from, dropped) => fn(packet, timeMs, from, dropped);
    this.fabric.tracers.add(tracer);
    return () => {
      this.fabric.tracers.delete(tracer);
    };
  }

  /** What the Sim did with packets (each Link's `stats()` has its own losses). */
  stats(): SimStats {
    return this.fabric.stats();
  }

  /** Closes every capture, every host's Stack and the Poll (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of [...this.captures]) c.close();
    this.fabric.tracers.clear();
    for (const h of this.hosts.values()) h.stack.close();
    for (const s of this.forwarders.values()) this.selector.undrive(s.driver);
    this.poll.close();
  }

  // ---- internals -------------------------------------------------------------

  private live(): void {
    if (this.closed) throw new IoError("EBADF", "the Sim is closed");
  }

  /** A seed for one component, from the Sim's seed and the component's label. */
  private derive(label: string): number {
    return new Random(this.seed, label).u32();
  }

  /** Gives `host` a fresh Stack on a fresh NIC. */
  private boot(host: HostNode): void {
    const nic = new HostNic(host);
    const stack = new Stack({ ...host.options, poll: this.poll, device: nic, seed: this.derive(`host:${host.name}#${host.incarnation}`) });
    host.incarnation++;
    host.nic = nic;
    host.stack = stack;
    host.crashed = false;
    this.stacks.set(stack, host);
  }

  private addForwarder<T extends SimSwitch | SimRouter>(node: T): T {
    this.selector.drive(node.driver);
    this.forwarders.set(node.name, node);
    return node;
  }

  private checkName(name: string): void {
    if (typeof name !== "string" || name.length === 0) throw new TypeError("a Sim node (host, switch, router) needs a non-empty name");
    if (this.hosts.has(name) || this.forwarders.has(name)) throw new TypeError(`the Sim already has a node named "${name}"`);
  }

  private hostOf(ref: SimHostRef, what: string): HostNode {
    const h = typeof ref === "string" ? this.hosts.get(ref) : ref !== null && typeof ref === "object" ? this.stacks.get(ref) : undefined;
    if (h !== undefined) return h;
    if (typeof ref === "string") throw new TypeError(`${what}: unknown host "${ref}"`);
    throw new TypeError(`${what}: expected a host of this Sim (its Stack or name), got ${describe(ref)}`);
  }

  private nodeOf(ref: SimNodeRef, what: string): SimNode {
    if ((ref instanceof SimSwitch || ref instanceof SimRouter) && this.forwarders.get(ref.name) === ref) return ref;
    if (typeof ref === "string" && this.forwarders.has(ref)) return this.forwarders.get(ref)!;
    if (typeof ref === "string" && !this.hosts.has(ref)) throw new TypeError(`${what}: unknown node "${ref}"`);
    return this.hostOf(ref as SimHostRef, what);
  }

  private pair(a: SimHostRef, b: SimHostRef, what: string): [HostNode, HostNode] {
    this.live();
    const ha = this.hostOf(a, what);
    const hb = this.hostOf(b, what);
    if (ha === hb) throw new TypeError(`${what}: needs two different hosts, got "${ha.name}" twice`);
    return [ha, hb];
  }
}

/** `routes` plus an on-link default route for each family among `addresses` (unless one is given). */
function withDefaultRoutes(routes: RouteConfig[] | undefined, addresses: ReturnType<typeof parseCidr>[]): RouteConfig[] {
  if (routes !== undefined && !Array.isArray(routes)) throw new TypeError("routes must be an array of { dest, via? }");
  const out = [...(routes ?? [])];
  const families = new Set(addresses.map((a) => a.family));
  if (families.has(4)) out.push({ dest: "0.0.0.0/0" });
  if (families.has(6)) out.push({ dest: "::/0" });
  return out;
}

function delayOf(what: string, ms: number): number {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) throw new TypeError(`${what}: ms must be a finite number >= 0, got ${String(ms)}`);
  return ms;
}

function readinessOf(e: Event): Readiness {
  return {
    readable: e.isReadable(),
    writable: e.isWritable(),
    error: e.isError(),
    readClosed: e.isReadClosed(),
    writeClosed: e.isWriteClosed(),
    priority: e.isPriority(),
  };
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "object") return (v as object).constructor?.name ?? "an object";
  return typeof v;
}
