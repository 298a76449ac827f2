/**
 * `node:fs` in the playground's bundle: a web page has no file system. The
 * library writes files only where asked (`sim.pcap(path)`, PcapTap); the
 * page never asks, and keeps its capture in memory (PcapBuffer) instead.
 * @internal
 */

function noFileSystem(): never {
  throw new Error("a web page has no file system: keep a capture in memory with PcapBuffer");
}

export const openSync = noFileSystem;
export const writeSync = noFileSystem;
export const closeSync = noFileSystem;
