/**
 * An in-process `tsmio run` network without root: a "guest" Stack with the
 * command's addresses (10.0.2.100/24, fd00::100/64, default routes via the
 * gateway) on one end of a Link, the Relay on the other, in one real-clock
 * Poll with the test's own kernel sockets on 127.0.0.1 / ::1. Plus seeded
 * byte streams to check bulk transfers without keeping them in memory.
 */
import { IoError, WOULD_BLOCK } from "../../src/error.js";
import { Events } from "../../src/poll/event.js";
import { Interest } from "../../src/poll/interest.js";
import { Poll } from "../../src/poll/poll.js";
import type { Source } from "../../src/poll/source.js";
import { Token } from "../../src/poll/token.js";
import type { TcpStream } from "../../src/net/network.js";
import { Link } from "../../src/stack/iface/link.js";
import { Stack } from "../../src/stack/stack.js";
import type { TcpConfig } from "../../src/stack/tcp/connection.js";
import { GATEWAY4, GATEWAY6, GUEST_ADDRESSES } from "../../src/relay/network-plan.js";
import { Relay, type RelayOptions } from "../../src/relay/relay.js";

/** The token of every socket the test registers (below the relay's). */
export const MINE = Token(1);
const READ_WRITE = Interest.READABLE.add(Interest.WRITABLE);

/** Options of a {@link RelayWorld}: the relay's (without poll and device), the link's MTU, the guest's TCP. */
export interface WorldOptions extends Omit<RelayOptions, "poll" | "device"> {
  mtu?: number;
  guestTcp?: Partial<TcpConfig>;
}

/** Guest stack + Link + Relay + the test's sockets, in one real-clock Poll. */
export class RelayWorld {
  readonly poll = new Poll();
  readonly events = new Events(1024);
  readonly link: Link;
  readonly guest: Stack;
  readonly relay: Relay;
  private readonly owned: Array<{ close(): void }> = [];

  constructor(options: WorldOptions = {}) {
    const { mtu, guestTcp, ...relay } = options;
    this.link = new Link({ mtu: mtu ?? 1500 });
    this.guest = new Stack({
      poll: this.poll,
      device: this.link.a,
      addresses: GUEST_ADDRESSES,
      routes: [
        { dest: "0.0.0.0/0", via: GATEWAY4 },
        { dest: "::/0", via: GATEWAY6 },
      ],
      tcp: guestTcp,
    });
    try {
      this.relay = new Relay({ ...relay, poll: this.poll, device: this.link.b });
    } catch (e) {
      this.guest.close();
      throw e;
    }
  }

  /** Registers a test-side socket (guest or host) under {@link MINE}; it is closed with the world. */
  own<T extends Source & { close(): void }>(s: T): T {
    this.poll.registry().register(s, MINE, READ_WRITE);
    this.owned.push(s);
    return s;
  }

  /** One poll (at most `timeoutMs`), its events handed to the relay. */
  turn(timeoutMs = 2): void {
    this.poll.poll(this.events, timeoutMs);
    // the test's own sockets are looked at after every turn anyway
    for (const e of this.events) this.relay.handle(e);
  }

  /**
   * Turns the poll, running `step` after each turn, until it returns true;
   * throws naming `what` after `ms` of wall time or 2,000,000 turns.
   */
  until(what: string, step: () => boolean, ms = 10_000): void {
    const end = Date.now() + ms;
    for (let i = 0; i < 2_000_000; i++) {
      if (step()) return;
      if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
      this.turn();
    }
    throw new Error(`too many turns: ${what}`);
  }

  /** Turns the poll for `ms` of wall time, running `step` after each turn. */
  idle(ms: number, step: () => void = () => {}): void {
    const end = Date.now() + ms;
    for (let i = 0; i < 1_000_000 && Date.now() < end; i++) {
      this.turn(Math.max(1, Math.min(5, end - Date.now())));
      step();
    }
  }

  /** Closes the test's sockets, the relay and the guest stack. */
  close(): void {
    for (const s of this.owned) s.close();
    this.relay.close();
    this.guest.close();
  }
}

/** The errno name `f` throws (an IoError), or null when it does not throw. */
export function errnoOf(f: () => unknown): string | null {
  try {
    f();
  } catch (e) {
    if (e instanceof IoError) return e.code;
    throw e;
  }
  return null;
}

/** The bytes `s` has now (copied), and whether its stream ended; throws its error. */
export function readNow(s: TcpStream): { bytes: Uint8Array; eof: boolean } {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  for (let i = 0; i < 10_000; i++) {
    const n = s.read(buf);
    if (n === WOULD_BLOCK) return { bytes: concat(parts), eof: false };
    if (n === 0) return { bytes: concat(parts), eof: true };
    parts.push(buf.slice(0, n));
  }
  throw new Error("readNow: too much");
}

/** `parts` as one plain Uint8Array (not a Buffer, so that it compares equal to one). */
export function concat(parts: Uint8Array[]): Uint8Array {
  const b = Buffer.concat(parts);
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

// ---- seeded byte streams -----------------------------------------------------

/** The pattern repeats every PERIOD bytes (a prime, so it never lines up with buffer sizes). */
const PERIOD = 65521;
/** The most one write or read moves. */
const CHUNK = 256 * 1024;

/** PERIOD seeded bytes repeated to PERIOD + CHUNK bytes: any window of CHUNK starts at offset % PERIOD. */
function patternTable(seed: number): Uint8Array {
  const t = new Uint8Array(PERIOD + CHUNK);
  let x = (seed * 0x9e3779b1) >>> 0 || 1;
  for (let i = 0; i < PERIOD; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    t[i] = x & 0xff;
  }
  for (let i = PERIOD; i < t.length; i++) t[i] = t[i - PERIOD]!;
  return t;
}

/** Writes `total` seeded bytes to a stream as it takes them. */
export class PatternWriter {
  private readonly table: Uint8Array;
  /** bytes the stream took */
  written = 0;
  /** the last write returned WOULD_BLOCK */
  blocked = false;

  constructor(
    seed: number,
    readonly total: number,
  ) {
    this.table = patternTable(seed);
  }

  get done(): boolean {
    return this.written === this.total;
  }

  /** Writes until the stream takes no more (or all is written); bounded per call. */
  pushTo(s: TcpStream): void {
    this.blocked = false;
    for (let i = 0; i < 64 && !this.done; i++) {
      const at = this.written % PERIOD;
      const n = s.write(this.table.subarray(at, at + Math.min(CHUNK, this.total - this.written)));
      if (n === WOULD_BLOCK) {
        this.blocked = true;
        return;
      }
      this.written += n;
    }
  }
}

/** Reads a stream and checks it against the seeded bytes of a {@link PatternWriter}. */
export class PatternReader {
  private readonly table: Uint8Array;
  private readonly buf = new Uint8Array(CHUNK);
  /** bytes read so far, and whether the stream ended */
  read = 0;
  eof = false;
  /** offset of the first byte that differed, or -1 */
  firstMismatch = -1;

  constructor(seed: number) {
    this.table = patternTable(seed);
  }

  /** Reads what `s` has (bounded per call); throws its error (ECONNRESET...). */
  pullFrom(s: TcpStream): void {
    for (let i = 0; i < 64 && !this.eof; i++) {
      const n = s.read(this.buf);
      if (n === WOULD_BLOCK) return;
      if (n === 0) {
        this.eof = true;
        return;
      }
      const at = this.read % PERIOD;
      if (this.firstMismatch < 0 && Buffer.compare(this.buf.subarray(0, n), this.table.subarray(at, at + n)) !== 0) {
        let k = 0;
        while (this.buf[k] === this.table[at + k]) k++;
        this.firstMismatch = this.read + k;
      }
      this.read += n;
    }
  }
}
