/**
 * A real tool checks what the stack puts on the wire: a pcap of pings and UDP
 * exchanges (IPv4 and IPv6, fragmented too, ICMP errors) read by tshark with
 * IPv4 and UDP checksum validation on (ICMP and ICMPv6 checksums are always
 * validated): no malformed packet, no expert warning or error, and every
 * checksum tshark can verify is good. A deliberately damaged copy proves the
 * check can fail.
 *
 * tshark comes from the Debian/Ubuntu package `tshark`. Without it these
 * tests fail when `CI` is set, and are skipped otherwise.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { expert, flagged, frames, hasTshark, tshark } from "../support/tshark.js";
import { recordScenario, tempDir } from "./helpers.js";

const inCi = Boolean(process.env.CI);
if (!hasTshark && !inCi) console.warn("tshark not found: skipping test/stack/tshark.test.ts (apt-get install tshark; fails when CI is set)");

const dir = tempDir("tsmio-tshark-");
afterAll(() => dir.remove());

describe.skipIf(!hasTshark && !inCi)("tshark reads the stack's pcap", () => {
  it("tshark is installed (CI installs the apt package `tshark`)", () => {
    expect(hasTshark, "tshark is missing: .ci/run must `apt-get install -y tshark`").toBe(true);
  });

  it("clean link: pings, UDP (v4, v6, fragmented) and ICMP errors: nothing malformed, no warning, every checksum good", { timeout: 120_000 }, () => {
    const file = dir.file("clean.pcap");
    const r = recordScenario(file, { delayMs: 3, seed: 11 });
    expect(r.echoed).toBe(r.sent);
    expect(r.corrupt).toBe(0);

    const { sections, text } = expert(file);
    expect(sections, text).not.toContain("Errors");
    expect(sections, text).not.toContain("Warnings");
    expect(flagged(file)).toEqual([]);

    const rows = frames(file);
    expect(rows.length).toBeGreaterThan(400);
    const statuses = rows.flatMap((f) => f.statuses);
    expect(statuses.filter((s) => s === "0")).toEqual([]);
    expect(statuses.filter((s) => s === "1").length).toBeGreaterThan(200);
    // the capture holds what it should, as tshark understands it
    const seen = (p: string): number => rows.filter((f) => f.protocols.includes(p)).length;
    expect(seen("ip:icmp:data")).toBeGreaterThan(0); // pings v4
    expect(seen("ipv6:icmpv6:data")).toBeGreaterThan(0); // pings v6
    expect(seen("ip:icmp:ip:udp")).toBeGreaterThan(0); // port unreachable quoting UDP
    expect(seen("ipv6:icmpv6:ipv6:udp")).toBeGreaterThan(0);
    expect(seen("ipv6:ipv6.fraghdr:udp")).toBeGreaterThan(0); // IPv6 UDP reassembled by tshark
    expect(seen("ipv6:ipv6.fraghdr:icmpv6")).toBeGreaterThan(0); // fragmented ping v6
    const reassembled4 = tshark(file, "-Y", "ip.fragment.count > 1 && udp").split("\n").filter((l) => l !== "");
    expect(reassembled4.length).toBeGreaterThan(0); // IPv4 UDP reassembled by tshark, checksum over the whole datagram
  });

  it("lossy, duplicating, reordering link (no corruption): still nothing malformed and no bad checksum", { timeout: 120_000 }, () => {
    const file = dir.file("lossy.pcap");
    const r = recordScenario(file, { delayMs: 3, jitterMs: 4, loss: 0.03, duplicate: 0.03, reorder: 0.1, seed: 12 });
    expect(r.corrupt).toBe(0);
    expect(r.echoed).toBeGreaterThan(r.sent / 2);
    expect(flagged(file)).toEqual([]);
    expect(frames(file).flatMap((f) => f.statuses).filter((s) => s === "0")).toEqual([]);
  });

  it("control: a copy with one IPv4 header byte and one UDP payload byte damaged is flagged", { timeout: 120_000 }, () => {
    const good = dir.file("control-good.pcap");
    recordScenario(good, { delayMs: 3, seed: 13 }, 1);
    const bytes = new Uint8Array(readFileSync(good));
    // record 1 starts at 24: 16-byte record header, then the first packet (a UDP datagram from a)
    bytes[24 + 16 + 8] ^= 0x01; // its TTL: the header checksum no longer matches
    const len1 = new DataView(bytes.buffer).getUint32(24 + 8, true);
    const second = 24 + 16 + len1;
    const len2 = new DataView(bytes.buffer).getUint32(second + 8, true);
    bytes[second + 16 + len2 - 1] ^= 0x80; // the last byte of the second packet
    const bad = dir.file("control-bad.pcap");
    writeFileSync(bad, bytes);
    const { sections } = expert(bad);
    expect(sections).toContain("Errors");
    expect(flagged(bad).length).toBeGreaterThanOrEqual(2);
    expect(frames(bad).flatMap((f) => f.statuses)).toContain("0");
  });
});
