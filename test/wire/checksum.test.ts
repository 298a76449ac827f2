import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  finishChecksum,
  fold,
  internetChecksum,
  onesSum,
  pseudoHeaderSum,
  updateChecksum,
  updateChecksum32,
} from "../../src/stack/wire/index.js";
import { ping4Request } from "./fixtures/captured.js";
import { addr4, addr6, hex, naiveSum, u16, u32 } from "./support.js";

describe("Internet checksum (RFC 1071)", () => {
  it("sums the RFC 1071 §3 example to ddf2 and checksums it to 220d", () => {
    const data = hex("0001 f203 f4f5 f6f7");
    expect(onesSum(data)).toBe(0xddf2);
    expect(internetChecksum(data)).toBe(0x220d);
  });

  it("reproduces the kernel's IPv4 header checksum of a captured packet", () => {
    const header = ping4Request.slice(0, 20);
    const stored = (header[10] << 8) | header[11];
    expect(onesSum(header)).toBe(0xffff);
    header[10] = header[11] = 0;
    expect(internetChecksum(header)).toBe(stored);
  });

  it("gives 0xffff for all-zero data (one's complement negative zero is never produced by folding)", () => {
    expect(onesSum(new Uint8Array(300))).toBe(0);
    expect(internetChecksum(new Uint8Array(300))).toBe(0xffff);
    expect(fold(0x1ffff)).toBe(1);
    expect(fold(0xffff)).toBe(0xffff);
  });

  it("pads an odd last byte with zero", () => {
    expect(onesSum(hex("ab"))).toBe(0xab00);
    expect(onesSum(hex("0102 03"))).toBe(0x0402);
  });

  it("equals the naive byte-pair sum on random data, lengths, byte offsets and initial sums", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 3000 }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 7 }),
        u16,
        (data, front, back, initial) => {
          // Place the data at `front` inside a bigger buffer, so its
          // byteOffset is odd or unaligned half the time.
          const outer = new Uint8Array(front + data.length + back).fill(0xa5);
          outer.set(data, front);
          const view = outer.subarray(front, front + data.length);
          expect(onesSum(view, initial)).toBe(naiveSum(data, initial));
        },
      ),
      { numRuns: 10_000 },
    );
  });

  it("sums windows of a few buffers used over and over (their word views are kept), and a prefix given by length", () => {
    const seed = 0x5eed;
    const rand = ((x: number) => () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8)(seed);
    // six buffers: more than the views kept, so views are replaced while in use
    const bufs = Array.from({ length: 6 }, (_, i) => new Uint8Array(4096 + i * 7));
    for (let round = 0; round < 3000; round++) {
      const b = bufs[rand() % bufs.length]!;
      const at = rand() % 2048;
      const n = rand() % 2000;
      for (let k = 0; k < 8; k++) b[(at + rand() % (n + 1)) % b.length] = rand() & 0xff; // contents change between sums
      const outer = b.subarray(at, at + n + 16);
      const want = naiveSum(outer.subarray(0, n), round & 0xffff);
      expect(onesSum(outer, round & 0xffff, n), `seed ${seed} round ${round}`).toBe(want);
      expect(onesSum(outer.subarray(0, n), round & 0xffff), `seed ${seed} round ${round}`).toBe(want);
    }
  });

  it("sums a resizable buffer correctly after it grew", () => {
    type Resizable = ArrayBuffer & { resize(n: number): void };
    const ab = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => Resizable)(1024, { maxByteLength: 8192 });
    new Uint8Array(ab).fill(1);
    expect(onesSum(new Uint8Array(ab, 4, 1000))).toBe(naiveSum(new Uint8Array(ab, 4, 1000)));
    ab.resize(8192);
    const grown = new Uint8Array(ab, 4, 8000).fill(3);
    expect(onesSum(grown)).toBe(naiveSum(grown));
  });

  it("stays exact on a multi-megabyte buffer of 0xff at an odd offset (chunked accumulation)", () => {
    const outer = new Uint8Array(5 * 1024 * 1024 + 8).fill(0xff);
    const view = outer.subarray(3, outer.length - 2);
    expect(onesSum(view)).toBe(naiveSum(view));
  });

  it("verifies data after storing its checksum, at any even position", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 2, maxLength: 600 }), fc.nat(), (data, pos) => {
        const at = (pos % (data.length >>> 1)) * 2;
        data[at] = data[at + 1] = 0;
        const c = internetChecksum(data);
        data[at] = c >>> 8;
        data[at + 1] = c & 0xff;
        expect(onesSum(data)).toBe(0xffff);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("pseudo-header sums", () => {
  it("IPv4 (RFC 768, RFC 9293 §3.1): src, dst, zero, protocol, 16-bit length", () => {
    fc.assert(
      fc.property(addr4, addr4, fc.integer({ min: 0, max: 255 }), u16, (src, dst, proto, len) => {
        const ph = new Uint8Array(12);
        ph.set(src, 0);
        ph.set(dst, 4);
        ph[9] = proto;
        ph[10] = len >>> 8;
        ph[11] = len & 0xff;
        expect(pseudoHeaderSum(src, dst, proto, len)).toBe(naiveSum(ph));
      }),
      { numRuns: 2000 },
    );
  });

  it("IPv6 (RFC 8200 §8.1): src, dst, 32-bit length, three zeros, next header", () => {
    fc.assert(
      fc.property(addr6, addr6, fc.integer({ min: 0, max: 255 }), u32, (src, dst, next, len) => {
        const ph = new Uint8Array(40);
        ph.set(src, 0);
        ph.set(dst, 16);
        new DataView(ph.buffer).setUint32(32, len);
        ph[39] = next;
        expect(pseudoHeaderSum(src, dst, next, len)).toBe(naiveSum(ph));
      }),
      { numRuns: 2000 },
    );
  });
});

describe("incremental update (RFC 1624)", () => {
  it("a 16-bit change updates the checksum to what a full recomputation gives", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 200 }), fc.nat(), u16, (data, pos, word) => {
        const at = 2 + (pos % ((data.length - 2) >>> 1)) * 2;
        data[0] = data[1] = 0;
        const before = internetChecksum(data);
        const old = (data[at] << 8) | data[at + 1];
        data[at] = word >>> 8;
        data[at + 1] = word & 0xff;
        // For all-zero data only 0xffff verifies, and eqn. 3 gives 0x0000
        // there (the ±0 ambiguity of RFC 1624 §3); real headers are never
        // all zero.
        fc.pre(data.some((b) => b !== 0));
        const updated = updateChecksum(before, old, word);
        data[0] = updated >>> 8;
        data[1] = updated & 0xff;
        expect(onesSum(data)).toBe(0xffff);
      }),
      { numRuns: 2000 },
    );
  });

  it("a 32-bit change (a sequence number, an address) does too", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), u32, (data, value) => {
        data[0] = data[1] = 0;
        const before = internetChecksum(data);
        const view = new DataView(data.buffer);
        const old = view.getUint32(4);
        view.setUint32(4, value);
        fc.pre(data.some((b) => b !== 0));
        view.setUint16(0, updateChecksum32(before, old, value));
        expect(onesSum(data)).toBe(0xffff);
      }),
      { numRuns: 1000 },
    );
  });

  it("reproduces RFC 1624 §4's example: data cd7a 5555, checksum dd2f; 5555 becomes 3285, checksum 0000", () => {
    expect(internetChecksum(hex("cd7a 5555"))).toBe(0xdd2f);
    expect(updateChecksum(0xdd2f, 0x5555, 0x3285)).toBe(0x0000);
    expect(internetChecksum(hex("cd7a 3285"))).toBe(0x0000);
  });

  it("finishChecksum complements a partial sum", () => {
    expect(finishChecksum(0xddf2)).toBe(0x220d);
  });
});
