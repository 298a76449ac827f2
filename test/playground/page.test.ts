/**
 * The playground page in headless Chromium (Debian's `chromium`, driven by
 * playwright-core; no browser download): the bundle is built from the
 * current source, served by `servePlayground`, and driven through its
 * controls. A transfer runs in the page; the diagram must show the
 * handshake, data and teardown, the table every byte intact, the plot a
 * line; settings come from the form; the pcap download opens in tshark.
 *
 * The browser reaches only the page's server on loopback: with root, both
 * run in a network namespace made for this file; always, Chromium's
 * background networking is off and every host name but 127.0.0.1 fails to
 * resolve. Without chromium the suite is skipped with one line, and fails
 * when `CI` is set.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, type Page, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enterFreshNetns } from "../../src/index.js";
import { type PlaygroundServer, servePlayground } from "../../src/playground/serve.js";
import { readPcap } from "../support/pcap.js";
import { flagged, hasTshark } from "../support/tshark.js";

const CHROMIUM = "/usr/bin/chromium";
const missing = existsSync(CHROMIUM) ? null : `needs ${CHROMIUM} (apt-get install chromium)`;
if (missing !== null && process.env.CI) throw new Error(`the playground test ${missing}, and CI must run it`);
if (missing !== null) console.log(`playground page: skipped, ${missing}`);

const dir = mkdtempSync(join(tmpdir(), "tsmio-playground-"));
let server: PlaygroundServer;
let browser: Browser;
let leaveNetns: (() => void) | null = null;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (missing !== null) return;
  execFileSync(process.execPath, ["scripts/playground.mjs", join(dir, "page")], { stdio: "inherit" });
  try {
    leaveNetns = enterFreshNetns();
  } catch {
    leaveNetns = null; // not root: loopback of the host, background networking off
  }
  server = await servePlayground({ dir: join(dir, "page") });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  leaveNetns?.();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh page at the playground with `query`, page errors collected. */
async function open(query = ""): Promise<Page> {
  const page = await browser.newPage();
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  await page.goto(`${server.url}${query}`);
  await page.waitForSelector("body[data-state=ready]");
  return page;
}

/** Clicks Run and waits for the transfer to end; the diagram's rows as [kind, text]. */
async function runToEnd(page: Page): Promise<Array<[string, string]>> {
  await page.click("#run");
  await page.waitForSelector("body[data-state=finished]", { timeout: 30_000 });
  return page.$$eval("#diagram .row", (rows) => rows.map((r) => [r.getAttribute("data-kind") ?? "", r.textContent ?? ""] as [string, string]));
}

/** The status table: host → its cells. */
async function status(page: Page): Promise<Record<string, string[]>> {
  const rows = await page.$$eval("#status tr", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")));
  return Object.fromEntries(rows.map((cells) => [cells[0]!, cells.slice(1)]));
}

describe.skipIf(missing !== null)("the playground page in Chromium", () => {
  it("runs a transfer: the diagram shows the handshake, the data and the teardown; every byte arrives intact; the cwnd is plotted", async () => {
    const page = await open("?speed=max&lossPercent=0&delayMs=10&transferKiB=64&seed=3");
    const rows = await runToEnd(page);
    const kinds = rows.map(([k]) => k);
    const syn = rows.filter(([k]) => k === "syn").map(([, t]) => t);
    expect(syn[0]).toMatch(/a ─+SYN─+▶ b\s+\[SYN\] seq=0 .*<mss 1460,ws \d+,sack_perm,ts/);
    expect(syn[1]).toMatch(/a ◀─+SYN,ACK─+ b\s+\[SYN,ACK\] seq=0 ack=1 /);
    expect(rows.some(([k, t]) => k === "ack" && /a ─+ACK─+▶ b\s+\[ACK\] seq=1 ack=1 /.test(t))).toBe(true);
    const data = rows.filter(([k]) => k === "data").map(([, t]) => Number(/len=(\d+)/.exec(t)![1]));
    expect(data.reduce((a, b) => a + b, 0)).toBe(65536);
    expect(kinds.indexOf("data")).toBeGreaterThan(kinds.lastIndexOf("syn"));
    expect(rows.filter(([k]) => k === "fin")).toHaveLength(2);
    expect(rows.some(([k, t]) => k === "state" && t.includes("a: SYN-SENT → ESTABLISHED"))).toBe(true);
    expect(rows.some(([k, t]) => k === "done" && t.includes("a: 65536 bytes delivered intact"))).toBe(true);
    const st = await status(page);
    expect(st.a?.slice(1, 4)).toEqual(["65536 / 65536", "yes", "0"]);
    const points = await page.$eval("#plot polyline", (p) => (p.getAttribute("points") ?? "").trim().split(/\s+/).length);
    expect(points).toBeGreaterThan(3);
    expect(await page.textContent("#plot svg")).toContain("cwnd of a");
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it("takes its settings from the controls: three hosts through a switch with loss retransmit and both finish; a bad value is refused by name", async () => {
    const page = await open();
    await page.selectOption("#hosts", "3");
    await page.fill("#lossPercent", "3");
    await page.fill("#delayMs", "25");
    await page.fill("#bandwidthMbps", "5");
    await page.fill("#transferKiB", "96");
    await page.fill("#seed", "4");
    await page.selectOption("#speed", "max");
    const rows = await runToEnd(page);
    const st = await status(page);
    expect(Object.keys(st)).toEqual(["a", "c"]);
    for (const h of ["a", "c"]) {
      expect(st[h]!.slice(1, 3)).toEqual(["98304 / 98304", "yes"]);
      expect(rows.some(([k, t]) => k === "syn" && t.includes(`${h} ─`) && t.includes("[SYN]"))).toBe(true);
    }
    expect(rows.filter(([k, t]) => k === "lost" && t.includes("✗")).length).toBeGreaterThan(0);
    const retransmits = rows.filter(([k]) => k === "retransmit");
    expect(retransmits.length).toBeGreaterThan(0);
    expect(retransmits.length).toBe(Number(st.a![3]) + Number(st.c![3]));
    expect(await page.$$eval("#plot polyline", (ps) => ps.length)).toBe(2);

    await page.fill("#lossPercent", "80");
    await page.click("#run");
    await page.waitForSelector("body[data-state=error]");
    expect(await page.textContent("#error")).toContain("lossPercent must be a number from 0 to 50, got 80");
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it("the bottleneck controls change a running transfer: a setting row, then packets lost on the link (none before)", async () => {
    const page = await open("?speed=1&lossPercent=0&delayMs=10&bandwidthMbps=10&transferKiB=2048&seed=2");
    await page.click("#run");
    await page.waitForFunction('document.querySelectorAll("#diagram .row[data-kind=data]").length > 50');
    await page.fill("#lossPercent", "8");
    await page.dispatchEvent("#lossPercent", "change");
    await page.selectOption("#speed", "max");
    await page.waitForSelector("body[data-state=finished]", { timeout: 30_000 });
    const rows = await page.$$eval("#diagram .row", (els) => els.map((r) => [r.getAttribute("data-kind") ?? "", r.textContent ?? ""] as [string, string]));
    const setting = rows.findIndex(([k]) => k === "setting");
    expect(setting).toBeGreaterThan(0);
    expect(rows[setting]![1]).toContain("the bottleneck now: loss 8 %, one-way delay 10 ms, 10 Mbit/s");
    // (the queue may overflow before: those are tail drops, not losses)
    const lossAt = rows.map(([k, t], i) => (k === "lost" && t.includes("lost on the link") ? i : -1)).filter((i) => i >= 0);
    expect(lossAt.length).toBeGreaterThan(0);
    expect(Math.min(...lossAt)).toBeGreaterThan(setting);
    expect((await status(page)).a?.slice(1, 3)).toEqual(["2097152 / 2097152", "yes"]);
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it("a long transfer keeps the page small: the handshake, a row counting the hidden ones, and the latest rows to the end", async () => {
    const page = await open("?speed=max&lossPercent=0&delayMs=5&bandwidthMbps=1000&transferKiB=16384&seed=1");
    const rows = await runToEnd(page);
    const clock = (await page.textContent("#clock")) ?? "";
    const total = Number(/ (\d+) rows/.exec(clock)![1]);
    expect(total).toBeGreaterThan(12_000);
    expect(rows.length).toBe(10_000);
    expect(rows[1]![0]).toBe("syn");
    const gap = rows.findIndex(([k]) => k === "gap");
    expect(gap).toBe(500);
    expect(Number(/… (\d+) rows not shown/.exec(rows[gap]![1])![1])).toBe(total - (rows.length - 1));
    expect(rows.slice(-12).some(([k]) => k === "fin")).toBe(true);
    expect(rows.at(-1)?.[1] ?? "").toMatch(/done|LAST-ACK → CLOSED/);
    expect((await status(page)).a?.slice(1, 3)).toEqual(["16777216 / 16777216", "yes"]);
    await page.close();
  });

  it("the same settings draw the same diagram; the pcap download holds every packet and tshark reads it clean", async () => {
    const page = await open("?speed=max&lossPercent=0&delayMs=5&transferKiB=32&seed=8");
    const first = await runToEnd(page);
    const second = await runToEnd(page);
    expect(second).toEqual(first);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#pcap")]);
    const file = join(dir, "page.pcap");
    await download.saveAs(file);
    const { records } = readPcap(readFileSync(file));
    const packets = first.filter(([k]) => ["syn", "data", "ack", "fin", "rst", "other"].includes(k)).length;
    expect(records.length).toBe(packets);
    expect(await page.textContent("#clock")).toContain(`${packets} packets`);
    if (hasTshark) expect(flagged(file)).toEqual([]);
    else if (process.env.CI) throw new Error("CI needs tshark");
    await page.close();
  });
});
