/**
 * The playground's network, run in Node: the transfers complete byte for
 * byte through loss, the rows show the handshake, data, retransmissions and
 * the teardown in order, the cwnd is sampled, the same seed gives the same
 * packets and bad settings are refused by name.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Playground, type PlaygroundSettings, checkSettings } from "../../src/playground/scenario.js";

let open: Playground[] = [];
afterEach(() => {
  for (const p of open) p.close();
  open = [];
});

/** Runs a playground to the end in 16 ms frames (as the page does); at most `maxFrames`. */
function runToEnd(settings: Partial<PlaygroundSettings>, maxFrames = 20_000): Playground {
  const p = new Playground(settings);
  open.push(p);
  for (let i = 0; i < maxFrames && !p.finished(); i++) p.advance(16);
  return p;
}

const texts = (p: Playground, kind: string): string[] => p.rows.filter((r) => r.kind === kind).map((r) => r.text);

describe("Playground", () => {
  it("two hosts: the handshake, every byte intact, the teardown, in that order", () => {
    const p = runToEnd({ hosts: 2, lossPercent: 0, delayMs: 10, bandwidthMbps: 20, transferKiB: 64, seed: 5 });
    expect(p.finished()).toBe(true);
    expect(p.rows.filter((r) => r.kind === "lost")).toEqual([]);
    const [a] = p.status();
    expect(a).toMatchObject({ host: "a", written: 65536, delivered: 65536, intact: true, error: null, finished: true, retransmits: 0 });
    const syn = texts(p, "syn");
    expect(syn[0]).toMatch(/a ─+SYN─+▶ b\s+\[SYN\] seq=0 win=\d+ len=0 <mss 1460,ws \d+,sack_perm,ts/);
    expect(syn[1]).toMatch(/a ◀─+SYN,ACK─+ b\s+\[SYN,ACK\] seq=0 ack=1 /);
    const kinds = p.rows.map((r) => r.kind);
    const firstData = kinds.indexOf("data");
    expect(kinds.indexOf("syn")).toBeLessThan(firstData);
    expect(kinds.lastIndexOf("fin")).toBeGreaterThan(kinds.lastIndexOf("data"));
    const data = texts(p, "data");
    expect(data.length).toBeGreaterThanOrEqual(Math.ceil(65536 / 1448));
    expect(data.reduce((n, t) => n + Number(/len=(\d+)/.exec(t)![1]), 0)).toBe(65536);
    expect(texts(p, "fin")).toHaveLength(2);
    expect(texts(p, "state").join("\n")).toMatch(/a: ESTABLISHED → FIN-WAIT-1[\s\S]*a: FIN-WAIT-2 → TIME-WAIT/);
    expect(p.rows.at(-1)?.kind === "done" || texts(p, "done").length === 1).toBe(true);
    expect(p.pcap.count).toBe(p.rows.filter((r) => ["syn", "data", "ack", "fin", "rst", "other"].includes(r.kind)).length);
  });

  it("loss: retransmissions appear, the cwnd drops, and every byte still arrives intact", () => {
    const p = runToEnd({ hosts: 2, lossPercent: 5, delayMs: 20, bandwidthMbps: 10, transferKiB: 512, seed: 2 });
    const [a] = p.status();
    expect(a).toMatchObject({ delivered: 512 * 1024, intact: true, error: null });
    expect(a!.retransmits).toBeGreaterThan(0);
    expect(texts(p, "retransmit").length).toBe(a!.retransmits);
    // a lost packet's row follows the row of its sending; the bytes of every lost data segment went out again in a copy that arrived
    const lost = p.rows.filter((r) => r.kind === "lost");
    expect(lost.length).toBeGreaterThan(0);
    const range = (t: string): [number, number] | null => {
      const m = /seq=(\d+) ack=\d+ .*len=([1-9]\d*)/.exec(t);
      return m === null ? null : [Number(m[1]), Number(m[1]) + Number(m[2])];
    };
    const arrived: Array<[number, number]> = [];
    p.rows.forEach((r, i) => {
      const next = p.rows[i + 1];
      const isLost = next?.kind === "lost";
      if (isLost) expect(next!.text).toMatch(/ ms ✗ a (─|◀).*\(lost on the link out of (a|b)\)$/);
      if (isLost) expect(next!.text.replace(/ ms ✗ /, " ms  ").startsWith(r.text)).toBe(true);
      if (r.kind === "data" && !isLost) arrived.push(range(r.text)!);
    });
    for (const r of lost) {
      const gone = r.text.includes("a ──") ? range(r.text) : null;
      for (let byte = gone?.[0] ?? 0; gone !== null && byte < gone[1]; byte += 100) {
        expect(arrived.some(([from, to]) => from <= byte && byte < to), r.text).toBe(true);
      }
    }
    const cwnd = p.cwnd.a!.map(([, c]) => c);
    expect(cwnd.length).toBeGreaterThan(10);
    const peak = Math.max(...cwnd);
    expect(cwnd.slice(cwnd.indexOf(peak)).some((c) => c < peak / 2)).toBe(true);
  });

  it("three hosts share the bottleneck through a switch and both transfers complete", () => {
    const p = runToEnd({ hosts: 3, lossPercent: 1, delayMs: 15, bandwidthMbps: 5, transferKiB: 128, seed: 9 });
    const st = p.status();
    expect(st.map((s) => [s.host, s.delivered, s.intact, s.error])).toEqual([
      ["a", 131072, true, null],
      ["c", 131072, true, null],
    ]);
    for (const h of ["a", "c"]) {
      expect(p.rows.some((r) => r.kind === "syn" && r.text.includes(`${h} ─`))).toBe(true);
      expect(p.cwnd[h]!.length).toBeGreaterThan(5);
    }
  });

  it("the same seed gives the same rows and pcap; another seed other ones", () => {
    const settings = { lossPercent: 3, delayMs: 5, transferKiB: 128 };
    const one = runToEnd({ ...settings, seed: 11 });
    const two = runToEnd({ ...settings, seed: 11 });
    const three = runToEnd({ ...settings, seed: 12 });
    expect(two.rows).toEqual(one.rows);
    expect(Buffer.from(two.pcap.bytes()).equals(Buffer.from(one.pcap.bytes()))).toBe(true);
    expect(three.rows).not.toEqual(one.rows);
  });

  it("the bottleneck changes while the transfer runs: losses start after the change, every byte still arrives", () => {
    const p = new Playground({ lossPercent: 0, delayMs: 10, bandwidthMbps: 20, transferKiB: 1024, seed: 6 });
    open.push(p);
    while (p.now() < 150) p.advance(16);
    expect(p.status()[0]!.retransmits).toBe(0);
    p.configure({ lossPercent: 10, delayMs: 30 });
    expect(p.settings).toMatchObject({ lossPercent: 10, delayMs: 30 });
    const changedAt = p.now();
    const setting = p.rows.findIndex((r) => r.kind === "setting");
    expect(p.rows[setting]!.text).toBe("the bottleneck now: loss 10 %, one-way delay 30 ms, 20 Mbit/s");
    for (let i = 0; i < 20_000 && !p.finished(); i++) p.advance(16);
    const [a] = p.status();
    expect(a).toMatchObject({ delivered: 1024 * 1024, intact: true, error: null });
    expect(a!.retransmits).toBeGreaterThan(0);
    const firstLoss = p.rows.findIndex((r) => r.kind === "lost" && r.text.includes("lost on the link"));
    expect(firstLoss).toBeGreaterThan(setting);
    // the new delay: round trips measured after the change are near 60 ms, not 20
    expect(a!.srttMs).toBeGreaterThan(50);
    expect(changedAt).toBeGreaterThanOrEqual(150);
    expect(() => p.configure({ lossPercent: 70 })).toThrow(/lossPercent/);
    expect(p.settings.lossPercent).toBe(10);
  });

  it("refuses bad settings by name", () => {
    expect(() => checkSettings({ lossPercent: 80 })).toThrow(/lossPercent must be a number from 0 to 50, got 80/);
    expect(() => checkSettings({ delayMs: NaN })).toThrow(/delayMs/);
    expect(() => checkSettings({ hosts: 4 as 2 })).toThrow(/hosts must be 2 or 3/);
    expect(() => checkSettings({ congestion: "vegas" as "cubic" })).toThrow(/congestion/);
    expect(() => checkSettings({ seed: 1.5 })).toThrow(/seed/);
    expect(() => checkSettings({ bandwidthMbps: 0 })).toThrow(/bandwidthMbps/);
    expect(checkSettings({})).toMatchObject({ hosts: 2, congestion: "cubic" });
  });
});
