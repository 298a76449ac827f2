/**
 * Raw virtual sockets inside `sim.run`, awaited through `sim.ready`: the
 * helpers the Sim suites share.
 */
import { Interest, WOULD_BLOCK, type Sim, type Stack } from "../../src/index.js";
import type { VirtualTcpListener } from "../../src/stack/tcp/listener.js";
import type { VirtualTcpStream } from "../../src/stack/tcp/socket.js";


export async function connect(sim: Sim, from: Stack, to: string): Promise<VirtualTcpStream> {
  const s = from.tcpConnect(to);
  await sim.ready(s, Interest.WRITABLE);
  const err = s.takeError();
  if (err !== null) throw err;
  return s;
}

export async function accept(sim: Sim, l: VirtualTcpListener): Promise<VirtualTcpStream> {
  for (let i = 0; i < 1000; i++) {
    const r = l.accept();
    if (r !== WOULD_BLOCK) return r[0];
    await sim.ready(l);
  }
  throw new Error("accept: too many wake-ups");
}

export async function writeAll(sim: Sim, s: VirtualTcpStream, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const n = s.write(data.subarray(off));
    if (n === WOULD_BLOCK) await sim.ready(s, Interest.WRITABLE);
    else off += n;
  }
}

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
