/**
 * The keepalive timer (RFC 1122 §4.2.3.6, RFC 9293 §3.8.4; Linux
 * tcp_keepalive_timer) and the connect timeout, between two Stacks in
 * virtual time. Probes are watched on the wire with a Tracer.
 */
import { describe, expect, it } from "vitest";
import type { IoError } from "../../../src/error.js";
import { Tracer } from "../../../src/stack/iface/index.js";
import { IpProtocol, TcpFlags, TcpPacket } from "../../../src/stack/wire/index.js";
import { seqAdd } from "../../../src/stack/tcp/seq.js";
import { ip, parse } from "../helpers.js";
import { connectPair, path, tcpWorld, type TcpWorld } from "./world.js";

/** A TCP segment seen on a's side of the link. */
interface Seen {
  dir: "rx" | "tx";
  at: number;
  seq: number;
  ack: number;
  length: number;
  flags: number;
}

/** A world whose a-side segments (both directions) are logged. */
function tracedWorld(stacks: Parameters<typeof tcpWorld>[2] = {}): { w: TcpWorld; seen: Seen[] } {
  const seen: Seen[] = [];
  const tcp = new TcpPacket();
  const w = tcpWorld(
    { delayMs: 10 },
    {
      a: (d) =>
        new Tracer(d, (dir, packet, at) => {
          const p = parse(packet);
          if (p.protocol !== IpProtocol.Tcp || !tcp.reset(p.l4).check(ip(p.src), ip(p.dst)).ok) return;
          seen.push({ dir, at, seq: tcp.seqNumber, ack: tcp.ackNumber, length: tcp.payload.length, flags: tcp.flags });
        }),
    },
    stacks,
  );
  return { w, seen };
}

const HOUR = 3_600_000;

describe("keepalive", () => {
  it("is off by default: an idle connection sends nothing for three hours", () => {
    const { w, seen } = tracedWorld();
    const { client, server } = connectPair(w, 4);
    w.run(1000);
    const before = seen.length;
    w.run(3 * HOUR);
    expect(seen.length).toBe(before);
    expect(client.conn.state).toBe("ESTABLISHED");
    expect(server.conn.state).toBe("ESTABLISHED");
  });

  it("probes an idle connection with SND.UNA-1 after idleMs; each answer restarts the idle time", () => {
    const { w, seen } = tracedWorld();
    const { client, server } = connectPair(w, 4);
    w.run(1000);
    const start = w.clock.now();
    client.setKeepalive({ idleMs: 10_000, intervalMs: 2_000, count: 3 });
    const from = seen.length;
    w.run(35_000);
    const una = client.conn.sndUna;
    const probes = seen.slice(from).filter((s) => s.dir === "tx");
    const answers = seen.slice(from).filter((s) => s.dir === "rx");
    // one probe per idle period of 10 s (the answer arrives 20 ms later and restarts it)
    expect(probes.map((p) => Math.round((p.at - start) / 1000))).toEqual([10, 20, 30]);
    for (const p of probes) {
      expect(p.seq).toBe(seqAdd(una, -1));
      expect(p.length).toBe(0);
    }
    // the peer answers each with an ACK of what it has received (RFC 9293 §3.10.7.4)
    expect(answers.length).toBe(3);
    for (const a of answers) expect(a.ack).toBe(una);
    expect(client.conn.state).toBe("ESTABLISHED");
    expect(client.takeError()).toBeNull();
    void server;
  });

  it("a peer that stopped answering makes the connection fail with ETIMEDOUT after count probes", () => {
    const { w, seen } = tracedWorld();
    const { client } = connectPair(w, 4);
    w.run(1000);
    client.setKeepalive({ idleMs: 10_000, intervalMs: 2_000, count: 3 });
    const start = w.clock.now();
    w.link.setDown(true);
    let err: IoError | null = null;
    for (let i = 0; i < 100 && err === null; i++) {
      w.run(500);
      err = client.takeError();
    }
    expect(err?.code).toBe("ETIMEDOUT");
    const sent = seen.filter((s) => s.dir === "tx" && s.at > start);
    // first probe after idleMs, then every intervalMs; after the last interval (Linux: idle + count × interval)
    // a RST|ACK with SND.NXT tells a peer that may be alive after all, and the socket reports ETIMEDOUT
    expect(sent.map((p) => [p.at - start, p.flags])).toEqual([
      [10_000, TcpFlags.ACK],
      [12_000, TcpFlags.ACK],
      [14_000, TcpFlags.ACK],
      [16_000, TcpFlags.RST | TcpFlags.ACK],
    ]);
    expect(sent[3]!.seq).toBe(client.conn.sndNxt);
    const elapsed = w.clock.now() - start;
    expect(elapsed).toBeGreaterThanOrEqual(16_000);
    expect(elapsed).toBeLessThanOrEqual(16_500);
    expect(path(w, client.localAddr().toString()).slice(-2)).toEqual(["ESTABLISHED", "CLOSED"]);
  });

  it("does not probe while data is in flight: the retransmission timer is in charge", () => {
    const { w, seen } = tracedWorld();
    const { client } = connectPair(w, 4);
    w.run(1000);
    client.setKeepalive({ idleMs: 1_000, intervalMs: 1_000, count: 2 });
    w.link.setDown(true);
    expect(client.write(new Uint8Array(100))).toBe(100);
    const start = w.clock.now();
    w.run(30_000);
    const out = seen.filter((s) => s.dir === "tx" && s.at >= start);
    // all of them retransmissions of the 100 bytes, none a zero-length probe
    expect(out.length).toBeGreaterThan(3);
    expect(out.every((s) => s.length === 100)).toBe(true);
    expect(client.takeError()).toBeNull();
  });

  it("turned off again, stops probing", () => {
    const { w, seen } = tracedWorld();
    const { client } = connectPair(w, 4);
    w.run(1000);
    client.setKeepalive({ idleMs: 5_000, intervalMs: 1_000, count: 3 });
    w.run(6_000);
    const probes = seen.filter((s) => s.dir === "tx" && s.length === 0).length;
    client.setKeepalive(null);
    w.run(HOUR);
    expect(seen.filter((s) => s.dir === "tx" && s.length === 0).length).toBe(probes);
    expect(client.conn.state).toBe("ESTABLISHED");
  });
});

describe("connect timeout", () => {
  it("tcp.connectTimeoutMs ends an unanswered connect with ETIMEDOUT at that time, before the SYN retries run out", () => {
    const { w, seen } = tracedWorld({ a: { tcp: { connectTimeoutMs: 3_000 } } });
    w.link.setDown(true);
    const start = w.clock.now();
    const s = w.a.tcpConnect(w.addrB(5000, 4));
    let err: IoError | null = null;
    for (let i = 0; i < 100 && err === null; i++) {
      w.run(100);
      err = s.takeError();
    }
    expect(err?.code).toBe("ETIMEDOUT");
    expect(w.clock.now() - start).toBe(3_000);
    // SYN at 0, retransmitted at 1 s (RFC 6298 initial RTO)
    expect(seen.filter((x) => x.dir === "tx").map((x) => x.at - start)).toEqual([0, 1_000]);
    expect(path(w, s.localAddr().toString())).toEqual(["CLOSED", "SYN-SENT", "CLOSED"]);
  });

  it("does not touch a connection once it is established", () => {
    const { w } = tracedWorld({ a: { tcp: { connectTimeoutMs: 3_000 } } });
    const { client } = connectPair(w, 4);
    w.run(10_000);
    expect(client.conn.state).toBe("ESTABLISHED");
    expect(client.takeError()).toBeNull();
  });
});
