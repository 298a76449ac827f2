/**
 * The Node adapters (toDuplex, connect, serve, connections) on kernel
 * sockets over loopback and on virtual sockets (two Stacks over a Link,
 * driven by a real-time Poll): streaming, backpressure, half-close, errors,
 * destroy and reset, idle timeouts, net.Server.
 */
import { createHash } from "node:crypto";
import { once } from "node:events";
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { kernelWorld, virtualWorld, type World } from "./worlds.js";
import {
  Link,
  Poll,
  SimClock,
  Stack,
  TcpSocket,
  connect,
  connections,
  serve,
  toDuplex,
  type TcpListener,
} from "../../src/index.js";
import { PollDriver } from "../../src/node/driver.js";

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

const worlds: Array<[string, () => World]> = [
  ["kernel", kernelWorld],
  ["virtual", () => virtualWorld(cleanups)],
];

/** 'close' of each tracked socket (hadError), watched from the start. */
const closes = new WeakMap<TcpSocket, Promise<boolean>>();

/** The `hadError` of `s`'s 'close' event (which may have passed already). */
function closed(s: TcpSocket): Promise<boolean> {
  const p = closes.get(s);
  if (p === undefined) throw new Error("not tracked");
  return p;
}

/** Destroys `s` when the test ends. */
function track<T extends TcpSocket | net.Server | { close(): void }>(s: T): T {
  if (s instanceof TcpSocket) closes.set(s, new Promise((resolve) => s.once("close", resolve)));
  cleanups.push(() => {
    if (s instanceof TcpSocket) s.destroy();
    else s.close();
  });
  return s;
}

/** A listener and the first connection to it, both ends as TcpSockets. */
async function pair(w: World, options: { allowHalfOpen?: boolean } = {}): Promise<[TcpSocket, TcpSocket]> {
  const listener = w.server.tcpBind(w.addr());
  const conns = track(connections(listener, options));
  const client = track(connect(w.client, w.addr(listener.localAddr().port), options));
  const accepted = await conns.next();
  if (accepted.done) throw new Error("listener ended");
  const server = track(accepted.value);
  if (client.connecting) await once(client, "connect");
  return [client, server];
}

/** Everything `s` yields until 'end'. */
async function readAll(s: TcpSocket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  s.on("data", (c: Buffer) => chunks.push(c));
  await once(s, "end");
  return Buffer.concat(chunks);
}

/** `n` deterministic bytes. */
function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** The error `s` emits. */
async function errorOf(s: TcpSocket): Promise<NodeJS.ErrnoException> {
  const [e] = (await once(s, "error")) as [NodeJS.ErrnoException];
  return e;
}

/** A port on which nothing listens. */
function closedPort(w: World): number {
  const l = w.server.tcpBind(w.addr());
  const port = l.localAddr().port;
  l.close();
  return port;
}

/** Resolves once `s` has emitted 'finish' (maybe already). */
async function finished(s: TcpSocket): Promise<void> {
  if (!s.writableFinished) await once(s, "finish");
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.each(worlds)("node adapters (%s)", (_name, makeWorld) => {
  it("connects: connecting, 'connect' then 'ready', addresses as net.Socket gives them", async () => {
    const w = makeWorld();
    const listener = w.server.tcpBind(w.addr());
    const port = listener.localAddr().port;
    const conns = track(connections(listener));
    const c = track(connect(w.client, w.addr(port)));
    expect(c.connecting).toBe(true);
    expect(c.pending).toBe(true);
    expect(c.readyState).toBe("opening");
    const order: string[] = [];
    c.on("connect", () => order.push("connect"));
    c.on("ready", () => order.push("ready"));
    // written before the connection exists: sent once it does
    c.write("early ");
    const ready = once(c, "ready");
    const s = track((await conns.next()).value as TcpSocket);
    await ready;
    expect(order).toEqual(["connect", "ready"]);
    expect(c.connecting).toBe(false);
    expect(c.readyState).toBe("open");
    expect(c.remotePort).toBe(port);
    expect(c.remoteAddress).toBe(w.addr().split(":")[0]);
    expect(c.remoteFamily).toBe("IPv4");
    expect(s.remotePort).toBe(c.localPort);
    expect(s.remoteAddress).toBe(c.localAddress);
    expect(s.address()).toEqual({ address: w.addr().split(":")[0], family: "IPv4", port });
    c.end("bird");
    expect((await readAll(s)).toString()).toBe("early bird");
    expect(s.bytesRead).toBe(10);
    expect(c.bytesWritten).toBe(10);
  });

  it("streams 4 MiB both ways at once, bytes intact", async () => {
    const w = makeWorld();
    const [c, s] = await pair(w);
    const up = pattern(4 << 20, 1);
    const down = pattern(4 << 20, 2);
    const gotUp = readAll(s);
    const gotDown = readAll(c);
    c.end(up);
    s.end(down);
    expect((await gotUp).equals(up)).toBe(true);
    expect((await gotDown).equals(down)).toBe(true);
    await Promise.all([closed(c), closed(s)]);
  });

  it("backpressure: write() returns false while the reader pauses, 'drain' only after it resumes, 32 MiB intact", async () => {
    const w = makeWorld();
    const [c, s] = await pair(w);
    s.pause();
    const total = 32 << 20;
    const chunk = 1 << 20;
    const hash = createHash("sha256");
    let written = 0;
    let drained = false;
    c.on("drain", () => (drained = true));
    // write until the writable side says stop
    while (written < total) {
      const b = pattern(chunk, written / chunk + 7);
      hash.update(b);
      written += chunk;
      if (!c.write(b)) break;
    }
    expect(written).toBeLessThan(total);
    expect(c.writableNeedDrain).toBe(true);
    // the reader is paused: the connection fills up and no 'drain' comes
    await sleep(300);
    expect(drained).toBe(false);
    const stalled = c.bytesWritten;
    await sleep(100);
    expect(c.bytesWritten).toBe(stalled);
    expect(s.bytesRead).toBeLessThan(written);
    // the reader resumes: everything arrives
    const received = createHash("sha256");
    let got = 0;
    s.on("data", (b: Buffer) => {
      received.update(b);
      got += b.length;
    });
    s.resume();
    const ended = once(s, "end");
    while (written < total) {
      if (c.writableNeedDrain) await once(c, "drain");
      const b = pattern(chunk, written / chunk + 7);
      hash.update(b);
      written += chunk;
      c.write(b);
    }
    expect(drained).toBe(true);
    c.end();
    await ended;
    expect(got).toBe(total);
    expect(received.digest("hex")).toBe(hash.digest("hex"));
  });

  it("half-close with allowHalfOpen: the client ends first, the server still answers", async () => {
    const w = makeWorld();
    const [c, s] = await pair(w, { allowHalfOpen: true });
    const request = readAll(s);
    c.end("question");
    expect((await request).toString()).toBe("question");
    await finished(c);
    expect(s.writable).toBe(true);
    expect(s.readyState).toBe("writeOnly");
    expect(c.readyState).toBe("readOnly");
    const reply = readAll(c);
    s.write("answer ");
    await sleep(20);
    s.end("in two parts");
    expect((await reply).toString()).toBe("answer in two parts");
    const [cErr, sErr] = await Promise.all([closed(c), closed(s)]);
    expect(cErr).toBe(false);
    expect(sErr).toBe(false);
  });

  it("half-close with allowHalfOpen: the server ends first, the client still sends", async () => {
    const w = makeWorld();
    const [c, s] = await pair(w, { allowHalfOpen: true });
    const greeting = readAll(c);
    s.end("hello");
    expect((await greeting).toString()).toBe("hello");
    expect(c.writable).toBe(true);
    const upload = readAll(s);
    c.end(pattern(100_000, 3));
    expect((await upload).equals(pattern(100_000, 3))).toBe(true);
    await Promise.all([closed(c), closed(s)]);
  });

  it("without allowHalfOpen, the peer's end ends our side after our writes (net.Socket's default)", async () => {
    const w = makeWorld();
    const [c, s] = await pair(w);
    const data = pattern(300_000, 4);
    const got = readAll(c);
    // the server writes, then sees the client's end: it finishes its writes, then ends
    s.write(data);
    s.resume();
    c.end();
    await once(s, "end");
    expect(s.writable).toBe(false);
    await finished(s);
    expect((await got).equals(data)).toBe(true);
    await Promise.all([closed(c), closed(s)]);
  });

  it("ECONNREFUSED when nothing listens", async () => {
    const w = makeWorld();
    const c = track(connect(w.client, w.addr(closedPort(w))));
    let connected = false;
    c.on("connect", () => (connected = true));
    const e = await errorOf(c);
    expect(e.code).toBe("ECONNREFUSED");
    expect(connected).toBe(false);
    const hadError = await closed(c);
    expect(hadError).toBe(true);
    expect(c.destroyed).toBe(true);
    expect(c.readyState).toBe("closed");
  });

  it("ECONNRESET when the peer resets (resetAndDestroy: SO_LINGER 0 and close)", async () => {
    const w = makeWorld();
    const [c, s] = await pair(w);
    c.resume();
    const err = errorOf(c);
    s.resetAndDestroy();
    const hadErrorS = await closed(s);
    expect(hadErrorS).toBe(false);
    const e = await err;
    expect(e.code).toBe("ECONNRESET");
    const hadError = await closed(c);
    expect(hadError).toBe(true);
  });

  it("ECONNRESET when the peer's raw stream closes with linger 0", async () => {
    const w = makeWorld();
    const listener = track(w.server.tcpBind(w.addr()));
    const c = track(connect(w.client, w.addr(listener.localAddr().port)));
    await once(c, "connect");
    const stream = await acceptRaw(listener);
    c.resume();
    const err = errorOf(c);
    stream.setLinger(0);
    stream.close();
    expect((await err).code).toBe("ECONNRESET");
  });

  it("a write after the peer reset fails with EPIPE or ECONNRESET and destroys the socket", async () => {
    const w = makeWorld();
    const [c, s] = await pair(w);
    s.resetAndDestroy();
    await closed(s);
    await sleep(50);
    const err = errorOf(c);
    c.write("late");
    c.write("later");
    expect(["EPIPE", "ECONNRESET"]).toContain((await err).code);
    expect(c.destroyed).toBe(true);
  });

  it("destroy() closes gracefully: the peer sees the end, no error", async () => {
    const w = makeWorld();
    const [c, s] = await pair(w);
    let error: unknown = null;
    s.on("error", (e) => (error = e));
    const got = readAll(s);
    c.write("bye");
    await sleep(50);
    c.destroy();
    const hadError = await closed(c);
    expect(hadError).toBe(false);
    expect((await got).toString()).toBe("bye");
    expect(error).toBe(null);
  });

  it("destroy(err) emits that error and 'close' with hadError", async () => {
    const w = makeWorld();
    const [c] = await pair(w);
    const boom = new Error("boom");
    c.destroy(boom);
    expect(await errorOf(c)).toBe(boom);
    const hadError = await closed(c);
    expect(hadError).toBe(true);
  });

  it("setTimeout: 'timeout' after idleness, not while traffic flows; 0 turns it off", async () => {
    const w = makeWorld();
    const [c, s] = await pair(w);
    s.resume();
    let fired = 0;
    const t0 = performance.now();
    c.setTimeout(150, () => fired++);
    expect(c.timeout).toBe(150);
    // activity every 50 ms for 300 ms: no timeout
    for (let i = 0; i < 6; i++) {
      await sleep(50);
      c.write("x");
    }
    expect(fired).toBe(0);
    await once(c, "timeout");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(300 + 150 - 5);
    expect(c.destroyed).toBe(false);
    c.setTimeout(0);
    expect(c.timeout).toBe(undefined);
  });

  it("feeds a net.Server: 'connection' with echoing sockets; closing the server closes the listener", async () => {
    const w = makeWorld();
    const server = net.createServer((sock) => sock.pipe(sock));
    const listener = w.server.tcpBind(w.addr());
    const port = listener.localAddr().port;
    const serving = serve(server, listener);
    const results = await Promise.all(
      [0, 1, 2, 3, 4].map(async (i) => {
        const c = track(connect(w.client, w.addr(port)));
        const got = readAll(c);
        c.end(pattern(50_000 + i, i));
        return (await got).equals(pattern(50_000 + i, i));
      }),
    );
    expect(results).toEqual([true, true, true, true, true]);
    server.close();
    await once(server, "close");
    expect(serving.closed).toBe(true);
    const c = track(connect(w.client, w.addr(port)));
    expect((await errorOf(c)).code).toBe("ECONNREFUSED");
  });

  it("toDuplex wraps an accepted stream and a connecting one", async () => {
    const w = makeWorld();
    const listener = track(w.server.tcpBind(w.addr()));
    const raw = w.client.tcpConnect(w.addr(listener.localAddr().port));
    const c = track(toDuplex(raw));
    const accepted = await acceptRaw(listener);
    const s = track(toDuplex(accepted));
    expect(s.connecting).toBe(false);
    if (c.connecting) await once(c, "connect");
    const got = readAll(s);
    c.end("wrapped");
    expect((await got).toString()).toBe("wrapped");
  });

  it("empty writes are no-ops (their callbacks run), the bytes around them arrive", async () => {
    const w = makeWorld();
    const [c, s] = await pair(w);
    const got = readAll(s);
    let called = 0;
    c.write(Buffer.alloc(0), () => called++);
    c.write("a");
    c.cork();
    c.write(Buffer.alloc(0));
    c.write("b");
    c.uncork();
    c.end("", () => called++);
    expect((await got).toString()).toBe("ab");
    expect(called).toBe(2);
  });

  it("connections() ends when closed", async () => {
    const w = makeWorld();
    const conns = connections(w.server.tcpBind(w.addr()));
    const pending = conns.next();
    conns.close();
    expect(await pending).toEqual({ done: true, value: undefined });
    const seen: TcpSocket[] = [];
    for await (const s of conns) seen.push(s);
    expect(seen).toEqual([]);
  });
});

/** Accepts one raw stream from `listener`, polling with a short sleep (bounded). */
async function acceptRaw(listener: TcpListener): Promise<import("../../src/index.js").TcpStream> {
  for (let i = 0; i < 500; i++) {
    const r = listener.accept();
    if (typeof r !== "symbol") return r[0];
    await sleep(10);
  }
  throw new Error("nothing to accept");
}

describe("virtual sockets on a SimClock Poll (stepped by hand)", () => {
  /** Steps the driver, letting Node's queues run in between, until `done()` (bounded). */
  async function run(driver: PollDriver, done: () => boolean): Promise<void> {
    for (let i = 0; i < 10_000 && !done(); i++) {
      driver.step(10);
      await new Promise((r) => setImmediate(r));
    }
    if (!done()) throw new Error("did not settle");
  }

  function simWorld(): { clock: SimClock; driver: PollDriver; a: Stack; b: Stack } {
    const clock = new SimClock();
    const poll = new Poll({ clock });
    const link = new Link({ mtu: 1500, delayMs: 20 });
    const a = new Stack({ poll, device: link.a, addresses: ["10.0.0.1/24"] });
    const b = new Stack({ poll, device: link.b, addresses: ["10.0.0.2/24"] });
    cleanups.push(() => {
      a.close();
      b.close();
      poll.close();
    });
    return { clock, driver: PollDriver.for(poll), a, b };
  }

  it("echoes through a net.Server in virtual time", async () => {
    const { clock, driver, a, b } = simWorld();
    const server = net.createServer((sock) => sock.pipe(sock));
    serve(server, b.tcpBind("10.0.0.2:80"));
    cleanups.push(() => server.close());
    const c = track(connect(a, "10.0.0.2:80"));
    const chunks: Buffer[] = [];
    let ended = false;
    c.on("data", (d: Buffer) => chunks.push(d));
    c.on("end", () => (ended = true));
    c.end(pattern(200_000, 9));
    await run(driver, () => ended);
    expect(Buffer.concat(chunks).equals(pattern(200_000, 9))).toBe(true);
    // a handshake and 200 kB over a 20 ms link take at least a few round trips of virtual time
    expect(clock.now()).toBeGreaterThanOrEqual(80);
  });

  it("setTimeout counts virtual time", async () => {
    const { clock, driver, a, b } = simWorld();
    const conns = track(connections(b.tcpBind("10.0.0.2:80")));
    const c = track(connect(a, "10.0.0.2:80"));
    let connected = false;
    c.on("connect", () => (connected = true));
    let accepted = false;
    void conns.next().then((r) => {
      track(r.value as TcpSocket);
      accepted = true;
    });
    await run(driver, () => connected && accepted);
    const start = clock.now();
    let firedAt = -1;
    c.setTimeout(60_000, () => (firedAt = clock.now()));
    await run(driver, () => firedAt >= 0);
    expect(firedAt - start).toBe(60_000);
  });

  it("ECONNREFUSED in virtual time", async () => {
    const { driver, a } = simWorld();
    const c = track(connect(a, "10.0.0.2:81"));
    let code: string | undefined;
    c.on("error", (e: NodeJS.ErrnoException) => (code = e.code));
    await run(driver, () => code !== undefined);
    expect(code).toBe("ECONNREFUSED");
  });
});

describe("argument checks", () => {
  it("a Stack without a Poll cannot be adapted", () => {
    const link = new Link({ mtu: 1500 });
    const clock = new SimClock();
    const a = new Stack({ clock, device: link.a, addresses: ["10.0.0.1/24"] });
    cleanups.push(() => a.close());
    expect(() => connect(a, "10.0.0.2:80")).toThrow(TypeError);
    const l = a.tcpBind("10.0.0.1:80");
    expect(() => serve(net.createServer(), l)).toThrow(/no Poll/);
  });
});
