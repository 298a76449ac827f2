/**
 * Accepting connections from a {@link TcpListener}, kernel or virtual, as
 * Node sockets: {@link serve} feeds a Node `net.Server` / `http.Server`;
 * {@link connections} is an async iterable of them.
 */
import type { Server } from "node:net";
import { IoError, WOULD_BLOCK } from "../error.js";
import type { TcpListener, TcpStream } from "../net/network.js";
import { Interest } from "../poll/interest.js";
import type { Token } from "../poll/token.js";
import { PollDriver } from "./driver.js";
import { pollOf, type AdapterOptions } from "./poll-of.js";
import { TcpSocket, type TcpSocketOptions } from "./socket.js";

/** What {@link serve} returns. */
export interface Serving {
  /** Stops accepting and closes the listener (connections already accepted stay). Idempotent. */
  close(): void;
  /** Whether serving has stopped. */
  readonly closed: boolean;
}

/** The settings Node's `net.Server` keeps for the sockets it accepts (http.Server sets them). */
interface ServerSettings {
  allowHalfOpen?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
}

/**
 * Feeds `server` (a `net.Server` or `http.Server`, which need not listen)
 * from `listener`: each accepted stream becomes a {@link TcpSocket} (with
 * `socket.server` set, and the server's `allowHalfOpen`, `noDelay` and
 * `keepAlive` settings applied as net.Server does) and is emitted as the
 * server's 'connection' event. Accepting is edge-triggered (until
 * `WOULD_BLOCK` on each readiness). A failing `accept` (e.g. `EMFILE`) is the
 * server's 'error' event, as with net.Server. Serving stops, and the
 * listener is closed, on `close()` or when the server emits 'close'
 * (`server.close()`). `server.maxConnections` and `server.getConnections`
 * do not count these connections.
 */
export function serve(server: Server, listener: TcpListener, options?: AdapterOptions): Serving {
  const settings = server as unknown as ServerSettings;
  const socketOptions: TcpSocketOptions = { ...options, allowHalfOpen: settings.allowHalfOpen === true };
  const acceptor = new Acceptor(listener, options, () => drain());
  const drain = (): void => {
    for (;;) {
      let stream: TcpStream | null;
      try {
        stream = acceptor.accept();
      } catch (e) {
        server.emit("error", e);
        return;
      }
      if (stream === null) return;
      const socket = new TcpSocket(stream, socketOptions);
      socket.server = server;
      if (settings.noDelay === true) socket.setNoDelay(true);
      if (settings.keepAlive === true) socket.setKeepAlive(true);
      server.emit("connection", socket);
    }
  };
  const close = (): void => acceptor.close();
  server.once("close", close);
  return {
    close() {
      server.removeListener("close", close);
      acceptor.close();
    },
    get closed() {
      return acceptor.closed;
    },
  };
}

/**
 * The connections `listener` accepts, as {@link TcpSocket}s, in an async
 * iterable: `for await (const socket of connections(listener)) ...`. A
 * connection is accepted only when the consumer asks for the next one, so an
 * idle consumer leaves them in the listener's backlog. The iteration ends
 * when `close()` is called (or the loop is left with `break`/`return`),
 * which closes the listener; a failing `accept` ends it with that error.
 * A listener closed directly is noticed at its next readiness event only.
 */
export function connections(listener: TcpListener, options?: TcpSocketOptions): Connections {
  return new Connections(listener, options);
}

/** The async iterable of {@link connections}. */
export class Connections implements AsyncIterableIterator<TcpSocket> {
  private readonly acceptor: Acceptor;
  private waiting: { resolve: (r: IteratorResult<TcpSocket>) => void; reject: (e: unknown) => void } | null = null;
  private readonly options: TcpSocketOptions;

  /** @internal use {@link connections} */
  constructor(listener: TcpListener, options: TcpSocketOptions = {}) {
    this.options = options;
    this.acceptor = new Acceptor(listener, options, () => this.offer());
  }

  /** The next connection; waits until one is accepted. */
  next(): Promise<IteratorResult<TcpSocket>> {
    if (this.waiting !== null) return Promise.reject(new Error("next() called while a previous next() is pending"));
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.offer();
    });
  }

  /** Ends the iteration and closes the listener. */
  return(): Promise<IteratorResult<TcpSocket>> {
    this.close();
    return Promise.resolve({ done: true, value: undefined });
  }

  /** Ends the iteration (a pending `next()` resolves done) and closes the listener. */
  close(): void {
    this.acceptor.close();
    this.offer();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Hands an accepted connection (or the end) to a waiting `next()`. */
  private offer(): void {
    const w = this.waiting;
    if (w === null) return;
    let stream: TcpStream | null;
    try {
      stream = this.acceptor.accept();
    } catch (e) {
      this.waiting = null;
      this.acceptor.close();
      w.reject(e);
      return;
    }
    if (stream !== null) {
      this.waiting = null;
      w.resolve({ done: false, value: new TcpSocket(stream, this.options) });
    } else if (this.acceptor.closed) {
      this.waiting = null;
      w.resolve({ done: true, value: undefined });
    }
  }
}

/** A listener watched with its Poll: `accept` one at a time, `onReady` on readiness. */
class Acceptor {
  closed = false;
  private readonly driver: PollDriver;
  private readonly token: Token;

  constructor(
    private readonly listener: TcpListener,
    options: AdapterOptions | undefined,
    onReady: () => void,
  ) {
    this.driver = PollDriver.for(pollOf(listener, options));
    this.token = this.driver.watch(listener, Interest.READABLE, onReady);
  }

  /** The next accepted stream; null on WOULD_BLOCK or once closed (a listener closed elsewhere closes this). */
  accept(): TcpStream | null {
    if (this.closed) return null;
    let r;
    try {
      r = this.listener.accept();
    } catch (e) {
      if (e instanceof IoError && e.code === "EBADF") {
        this.close();
        return null;
      }
      throw e;
    }
    return r === WOULD_BLOCK ? null : r[0];
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.driver.unwatch(this.token);
    this.listener.close();
  }
}
