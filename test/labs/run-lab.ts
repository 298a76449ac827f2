/**
 * What every lab test checks of a lab's capture: the pcap magic, at least
 * one record, and (with tshark, which CI has) that Wireshark's dissectors
 * read every frame without a malformed one.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { LABS } from "../../src/labs/index.js";
import { hasTshark, matching, tshark } from "../support/tshark.js";

if (!hasTshark && process.env.CI) throw new Error("the lab tests read the labs' pcaps with tshark, and CI must have it");

/** Expects `file` to be a pcap that tshark reads whole: some frames, none malformed. */
export function expectWiresharkReads(file: string, context = ""): void {
  const pcap = readFileSync(file);
  expect(pcap.readUInt32LE(0), context).toBe(0xa1b2c3d4);
  expect(pcap.length, context).toBeGreaterThan(24 + 16); // header and at least one record
  if (!hasTshark) return;
  expect(tshark(file, "-T", "fields", "-e", "frame.number").trim().split("\n").length).toBeGreaterThan(0);
  expect(matching(file, "_ws.malformed"), `${file} ${context}`).toEqual([]);
}

/** Runs lab `n` writing into `dir`; its lines, after checking the pcap it wrote. */
export async function runLab(n: number, dir: string): Promise<string[]> {
  const lines: string[] = [];
  await LABS[n]!.run({ line: (t) => lines.push(t), dir });
  expectWiresharkReads(join(dir, `lab${n}.pcap`), lines.join("\n"));
  return lines;
}
