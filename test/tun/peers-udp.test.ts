/**
 * A kernel UDP client (socat) exchanging datagrams with a virtual UdpSocket
 * echo server of a Stack on tsmio0, over IPv4 and IPv6: one datagram per
 * write, each echoed back intact, large ones fragmented both ways.
 */
import { execFileSync, spawn } from "node:child_process";
import { expect, it } from "vitest";
import { Events, Interest, Token, UdpSocket } from "../../src/index.js";
import { netnsSuite } from "../support/netns.js";
import { hostPort, KERNEL4, KERNEL6, peersWorld, seededBytes, STACK4, STACK6, udpEcho } from "./peers.js";

/** Sizes of the datagrams sent: tiny, around the MTU for each family, and fragmented ones. */
const SIZES = [1, 2, 17, 100, 512, 1000, 1232, 1452, 1472, 1473, 3000, 4096];

netnsSuite("socat UDP ↔ a virtual UdpSocket echo server through tsmio0", () => {
  const w = peersWorld();

  for (const [family, stackIp, kernelIp] of [
    [4, STACK4, KERNEL4],
    [6, STACK6, KERNEL6],
  ] as const) {
    it(`every datagram socat sends comes back intact (IPv${family})`, async () => {
      const echo = udpEcho(w, w.stack.udpBind(hostPort(stackIp, 9000)));
      const address = family === 4 ? `UDP4:${stackIp}:9000` : `UDP6:[${stackIp}]:9000`;
      // socat reads its stdin in blocks of up to 8192 bytes, one datagram each
      const child = spawn("socat", ["-b", "8192", "-t", "0.1", "-", address], { stdio: ["pipe", "pipe", "pipe"] });
      let exited: number | null | undefined;
      let stderr = "";
      const chunks: Buffer[] = [];
      let received = 0;
      child.stdout.on("data", (d: Buffer) => {
        chunks.push(d);
        received += d.length;
      });
      child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      child.on("exit", (code) => (exited = code));
      const kill = setTimeout(() => child.kill("SIGKILL"), 20_000);
      try {
        let expected = 0;
        const sent: Uint8Array[] = [];
        for (const [i, size] of SIZES.entries()) {
          const datagram = seededBytes(size, 100 * family + i);
          sent.push(datagram);
          // wait for each echo before the next write, so socat reads each write alone
          await new Promise<void>((resolve, reject) => child.stdin.write(datagram, (e) => (e ? reject(e) : resolve())));
          expected += size;
          await w.until(() => received >= expected || exited !== undefined, 5000, () => `echo of datagram ${i} (${size} bytes): ${received}/${expected} bytes back; ${stderr}`);
          expect(exited, stderr).toBeUndefined();
        }
        child.stdin.end();
        await w.until(() => exited !== undefined, 5000, () => "socat still running after its stdin closed");
        expect(exited, stderr).toBe(0);

        expect(echo.datagrams.map((d) => d.data.length), "one datagram per write, in order").toEqual(SIZES);
        for (const [i, d] of echo.datagrams.entries()) {
          expect(Buffer.compare(d.data, sent[i]!), `datagram ${i} (${SIZES[i]} bytes) intact at the server`).toBe(0);
          expect(d.from.startsWith(family === 4 ? `${kernelIp}:` : `[${kernelIp}]:`)).toBe(true);
        }
        expect(new Set(echo.datagrams.map((d) => d.from)).size, "all from socat's one socket").toBe(1);
        expect(Buffer.compare(Buffer.concat(chunks), Buffer.concat(sent)), "socat printed every echo intact, in order").toBe(0);
        // the largest UDP payload one packet carries at MTU 1500: 1500 - IP header - 8
        const oversized = SIZES.filter((n) => n > 1500 - (family === 4 ? 20 : 40) - 8).length;
        const stats = w.stack.stats();
        expect(stats.reassembled, "the kernel's fragmented datagrams, reassembled").toBe(oversized);
        expect(stats.fragmentsSent, "the large echoes left in fragments").toBeGreaterThanOrEqual(2 * oversized);
      } finally {
        clearTimeout(kill);
        if (exited === undefined) child.kill("SIGKILL");
      }
    });
  }

  it("one poll reports a virtual socket's token at most once, even when the device's burst limit splits the arrivals", () => {
    execFileSync("ip", ["link", "set", "tsmio0", "txqueuelen", "10000"]);
    const X = Token(1);
    const x = w.own(w.stack.udpBind(hostPort(STACK4, 9000)));
    w.own(w.stack.udpBind(hostPort(STACK4, 9001)));
    w.poll.registry().register(x, X, Interest.READABLE);
    const events = new Events(64);
    w.poll.poll(events, 0);
    const k = w.own(UdpSocket.bind(hostPort(KERNEL4, 0)));
    const one = new Uint8Array(1);
    // one datagram for x, 4095 for the unwatched socket, one more for x: 4097 packets in the TUN queue
    k.sendTo(one, hostPort(STACK4, 9000));
    for (let i = 0; i < 4095; i++) k.sendTo(one, hostPort(STACK4, 9001));
    k.sendTo(one, hostPort(STACK4, 9000));
    w.poll.poll(events, 2000);
    expect([...events].map((e) => e.token())).toEqual([X]);
  });
});
