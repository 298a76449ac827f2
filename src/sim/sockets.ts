/**
 * Raw virtual sockets inside `sim.run`, awaited through `sim.ready`: connect,
 * accept, write all, read to the end. Used by the labs and the Sim's tests.
 * @internal
 */
import { WOULD_BLOCK } from "../error.js";
import { Interest } from "../poll/interest.js";
import type { Stack } from "../stack/stack.js";
import type { VirtualTcpListener } from "../stack/tcp/listener.js";
import type { VirtualTcpStream } from "../stack/tcp/socket.js";
import type { Sim } from "./sim.js";

/** Connects `from` to `to` and waits for the handshake; throws its error. */
export async function connect(sim: Sim, from: Stack, to: string): Promise<VirtualTcpStream> {
  const s = from.tcpConnect(to);
  await sim.ready(s, Interest.WRITABLE);
  const err = s.takeError();
  if (err !== null) throw err;
  return s;
}

/** The next connection on `l`. */
export async function accept(sim: Sim, l: VirtualTcpListener): Promise<VirtualTcpStream> {
  for (let i = 0; i < 1000; i++) {
    const r = l.accept();
    if (r !== WOULD_BLOCK) return r[0];
    await sim.ready(l);
  }
  throw new Error("accept: too many wake-ups");
}

/** Writes all of `data` to `s`, waiting for room as needed. */
export async function writeAll(sim: Sim, s: VirtualTcpStream, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const n = s.write(data.subarray(off));
    if (n === WOULD_BLOCK) await sim.ready(s, Interest.WRITABLE);
    else off += n;
  }
}

/** Reads `s` to its end; returns the bytes. */
export async function readToEnd(sim: Sim, s: VirtualTcpStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = s.read(buf);
    if (n === WOULD_BLOCK) await sim.ready(s);
    else if (n === 0) return Buffer.concat(chunks);
    else chunks.push(Buffer.from(buf.subarray(0, n)));
  }
}
