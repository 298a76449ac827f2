/**
 * Bulk TCP between kernel tools (socat, nc) and virtual streams of a Stack on
 * tsmio0: 50 MB each way, compared by sha256.
 */
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { expect, it } from "vitest";
import { netnsSuite, runChild } from "../support/netns.js";
import { peersWorld, scratchDir, seededBytes, sha256, sinkServer, sourceServer, STACK4, STACK6, hostPort } from "./peers.js";

const SIZE = 50_000_000;

netnsSuite("bulk TCP with kernel tools through tsmio0", () => {
  const w = peersWorld();

  it("socat sends 50 MB to a virtual stream, which reads them byte-exact (kernel → stack)", async () => {
    const tmp = scratchDir();
    try {
      const data = seededBytes(SIZE, 11);
      const file = tmp.file("up.bin");
      writeFileSync(file, data);
      const sink = sinkServer(w, w.stack.tcpBind(hostPort(STACK4, 5001)));
      const r = await w.whileChild(runChild("socat", ["-u", `FILE:${file}`, `TCP:${STACK4}:5001`], 40_000), 40_000);
      expect(r.code, r.stderr).toBe(0);
      await w.until(() => sink.digest !== null, 10_000, () => `sink read ${sink.bytes} bytes`);
      expect(sink.bytes).toBe(SIZE);
      expect(sink.digest).toBe(sha256(data));
    } finally {
      tmp.remove();
    }
  });

  it("a virtual stream sends 50 MB to socat, which writes them byte-exact to a file (stack → kernel)", async () => {
    const tmp = scratchDir();
    try {
      const data = seededBytes(SIZE, 12);
      const out = tmp.file("down.bin");
      const source = sourceServer(w, w.stack.tcpBind(hostPort(STACK4, 5002)), data);
      const r = await w.whileChild(runChild("socat", ["-u", `TCP:${STACK4}:5002`, `CREATE:${out}`], 40_000), 40_000);
      expect(r.code, r.stderr).toBe(0);
      await w.until(() => source.done, 10_000, () => `source sent ${source.sent}`);
      expect(statSync(out).size).toBe(SIZE);
      expect(sha256(readFileSync(out))).toBe(sha256(data));
      expect(source.received).toBe(0);
    } finally {
      tmp.remove();
    }
  });

  it("nc sends 50 MB to a virtual stream over IPv6, byte-exact (kernel → stack)", async () => {
    const tmp = scratchDir();
    try {
      const data = seededBytes(SIZE, 13);
      const file = tmp.file("up6.bin");
      writeFileSync(file, data);
      const sink = sinkServer(w, w.stack.tcpBind(hostPort(STACK6, 5003)));
      const r = await w.whileChild(runChild("sh", ["-c", `exec nc -N ${STACK6} 5003 < "$0"`, file], 40_000), 40_000);
      expect(r.code, r.stderr).toBe(0);
      await w.until(() => sink.digest !== null, 10_000, () => `sink read ${sink.bytes} bytes`);
      expect(sink.bytes).toBe(SIZE);
      expect(sink.digest).toBe(sha256(data));
      expect(sink.peer).toMatch(/^\[fd07::1\]:\d+$/);
    } finally {
      tmp.remove();
    }
  });

  it("a virtual stream sends 50 MB to nc over IPv6, which pipes them to sha256sum (stack → kernel)", async () => {
    const data = seededBytes(SIZE, 14);
    const source = sourceServer(w, w.stack.tcpBind(hostPort(STACK6, 5004)), data);
    const r = await w.whileChild(runChild("bash", ["-c", `set -o pipefail; nc -d ${STACK6} 5004 | sha256sum`], 40_000), 40_000);
    expect(r.code, r.stderr).toBe(0);
    await w.until(() => source.done, 10_000, () => `source sent ${source.sent}`);
    expect(source.sent).toBe(SIZE);
    expect(r.stdout.split(" ")[0]).toBe(sha256(data));
  });
});
