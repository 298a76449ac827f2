import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RingBuffer } from "../../../src/stack/tcp/ring-buffer.js";

const bytes = (...v: number[]): Uint8Array => Uint8Array.from(v);

describe("RingBuffer", () => {
  it("appends what fits, reads in order and reports length, free and capacity", () => {
    const rb = new RingBuffer(5);
    expect(rb.capacity).toBe(5);
    expect(rb.write(bytes(1, 2, 3))).toBe(3);
    expect(rb.write(bytes(4, 5, 6, 7))).toBe(2);
    expect([rb.length, rb.free]).toEqual([5, 0]);
    expect(rb.write(bytes(8))).toBe(0);
    const dst = new Uint8Array(4);
    expect(rb.read(dst)).toBe(4);
    expect([...dst]).toEqual([1, 2, 3, 4]);
    expect([rb.length, rb.free]).toEqual([1, 4]);
  });

  it("wraps a write and a read around the end of its storage", () => {
    const rb = new RingBuffer(4);
    rb.write(bytes(1, 2, 3));
    rb.consume(3);
    expect(rb.write(bytes(4, 5, 6, 7))).toBe(4); // 4 at index 3, then 5 6 7 at 0..2
    const dst = new Uint8Array(8);
    expect(rb.peek(dst, 0)).toBe(4);
    expect([...dst.subarray(0, 4)]).toEqual([4, 5, 6, 7]);
    expect(rb.read(dst)).toBe(4);
    expect(rb.length).toBe(0);
  });

  it("peeks from an offset without consuming, as the send side retransmits", () => {
    const rb = new RingBuffer(8);
    rb.write(bytes(10, 11, 12, 13, 14, 15));
    const dst = new Uint8Array(3);
    expect(rb.peek(dst, 2)).toBe(3);
    expect([...dst]).toEqual([12, 13, 14]);
    expect(rb.peek(dst, 5)).toBe(1);
    expect(dst[0]).toBe(15);
    expect(rb.peek(dst, 6)).toBe(0);
    expect(rb.length).toBe(6);
  });

  it("keeps out-of-order bytes written past the end until they are committed", () => {
    const rb = new RingBuffer(6);
    rb.write(bytes(1));
    expect(rb.writeAt(2, bytes(4, 5))).toBe(2); // RCV.NXT + 2
    expect(rb.length).toBe(1);
    expect(rb.writeAt(0, bytes(2, 3))).toBe(2); // the hole is filled
    rb.commit(4);
    const dst = new Uint8Array(6);
    expect(rb.read(dst)).toBe(5);
    expect([...dst.subarray(0, 5)]).toEqual([1, 2, 3, 4, 5]);
  });

  it("keeps bytes written past the end in place when the reader empties the buffer", () => {
    const rb = new RingBuffer(4);
    rb.write(bytes(1, 2, 3));
    expect(rb.writeAt(0, bytes(9, 9))).toBe(1); // only one byte of room
    rb.read(new Uint8Array(3));
    expect(rb.writeAt(1, bytes(7))).toBe(1);
    rb.commit(2);
    const dst = new Uint8Array(2);
    rb.read(dst);
    expect([...dst]).toEqual([9, 7]);
  });

  it("copies nothing at an offset beyond the free space", () => {
    const rb = new RingBuffer(4);
    rb.write(bytes(1, 2));
    expect(rb.writeAt(2, bytes(1))).toBe(0);
    expect(rb.writeAt(1, bytes(5, 6))).toBe(1);
  });

  it("refuses to consume or commit more than it can", () => {
    const rb = new RingBuffer(4);
    rb.write(bytes(1, 2));
    expect(() => rb.consume(3)).toThrow(RangeError);
    expect(() => rb.commit(3)).toThrow(RangeError);
    expect(() => rb.consume(-1)).toThrow(RangeError);
    expect(() => new RingBuffer(-1)).toThrow(RangeError);
  });

  it("works with capacity 0", () => {
    const rb = new RingBuffer(0);
    expect(rb.write(bytes(1))).toBe(0);
    expect(rb.read(new Uint8Array(1))).toBe(0);
    rb.consume(0);
    rb.commit(0);
    expect(rb.length).toBe(0);
  });

  it("copies with one set call per contiguous run: two when wrapping", () => {
    const rb = new RingBuffer(8);
    rb.write(new Uint8Array(6));
    rb.consume(6);
    let calls = 0;
    const counted = (a: Uint8Array): Uint8Array => {
      const set = a.set.bind(a);
      a.set = (src: ArrayLike<number>, off?: number) => {
        calls++;
        set(src, off);
      };
      return a;
    };
    counted((rb as unknown as { buf: Uint8Array }).buf);
    expect(rb.write(new Uint8Array(7).fill(3))).toBe(7); // 2 at the end, 5 at the start
    expect(calls).toBe(2);
    calls = 0;
    const dst = counted(new Uint8Array(7));
    expect(rb.peek(dst, 0)).toBe(7);
    expect(calls).toBe(2);
    calls = 0;
    expect(rb.peek(dst, 2)).toBe(5);
    expect(calls).toBe(1);
  });

  it("allocates no storage until data is written, then doubles it up to the capacity", () => {
    const rb = new RingBuffer(10_000);
    expect([rb.capacity, rb.allocated, rb.free]).toEqual([10_000, 0, 10_000]);
    expect(rb.peek(new Uint8Array(4), 0)).toBe(0);
    expect(rb.read(new Uint8Array(4))).toBe(0);
    rb.consume(0);
    expect(rb.allocated).toBe(0);
    expect(rb.write(bytes(1, 2, 3))).toBe(3);
    expect(rb.allocated).toBe(4096);
    expect(rb.write(new Uint8Array(4094).fill(7))).toBe(4094); // 4097 bytes: one doubling
    expect(rb.allocated).toBe(8192);
    expect(rb.writeAt(5000, bytes(9))).toBe(1); // past the storage: grown to the capacity, not 16 KiB
    expect(rb.allocated).toBe(10_000);
    rb.commit(5001);
    const all = new Uint8Array(10_000);
    expect(rb.read(all)).toBe(9098);
    expect([...all.subarray(0, 4)]).toEqual([1, 2, 3, 7]);
    expect([all[4096], all[4097], all[9096], all[9097]]).toEqual([7, 0, 0, 9]);
  });

  it("keeps wrapped bytes and bytes written past the end in order when it grows", () => {
    const rb = new RingBuffer(64, 4);
    rb.write(bytes(0, 0, 0));
    rb.consume(3); // head at index 3 of 4
    rb.write(bytes(1, 2, 3)); // wraps: 1 at index 3, then 2 3 at 0 1
    expect(rb.writeAt(0, bytes(4))).toBe(1); // index 2: the storage is full
    expect(rb.allocated).toBe(4);
    expect(rb.writeAt(2, bytes(6))).toBe(1); // needs 6 bytes: grown to 8, unwrapped
    expect(rb.allocated).toBe(8);
    expect(rb.writeAt(1, bytes(5))).toBe(1);
    rb.commit(3);
    const dst = new Uint8Array(8);
    expect(rb.read(dst)).toBe(6);
    expect([...dst.subarray(0, 6)]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("allocates the whole capacity at once when it is below the initial storage", () => {
    const rb = new RingBuffer(100);
    rb.write(bytes(1));
    expect(rb.allocated).toBe(100);
    expect(() => new RingBuffer(100, 0)).toThrow(RangeError);
  });

  /** The model: the valid bytes as an array, and bytes written past the end by offset from it. */
  type Op =
    | { op: "write"; data: number[] }
    | { op: "read"; n: number }
    | { op: "peek"; offset: number; n: number }
    | { op: "consume"; n: number }
    | { op: "writeAt"; offset: number; data: number[] }
    | { op: "commit"; n: number };

  const data = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 20 });
  const small = fc.integer({ min: 0, max: 20 });
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant("write" as const), data }),
    fc.record({ op: fc.constant("read" as const), n: small }),
    fc.record({ op: fc.constant("peek" as const), offset: small, n: small }),
    fc.record({ op: fc.constant("consume" as const), n: small }),
    fc.record({ op: fc.constant("writeAt" as const), offset: small, data }),
    fc.record({ op: fc.constant("commit" as const), n: small }),
  );

  it("behaves like an array model under random operations, wrapping included", () => {
    fc.assert(
      // initial storage below the capacity makes writes grow it mid-sequence, wrapped or not
      fc.property(fc.integer({ min: 1, max: 17 }), fc.integer({ min: 1, max: 20 }), fc.array(op, { maxLength: 60 }), (capacity, initial, ops) => {
        const rb = new RingBuffer(capacity, initial);
        let valid: number[] = [];
        let past = new Map<number, number>();
        for (const o of ops) {
          const free = capacity - valid.length;
          switch (o.op) {
            case "write": {
              const n = Math.min(free, o.data.length);
              expect(rb.write(Uint8Array.from(o.data))).toBe(n);
              valid.push(...o.data.slice(0, n));
              past = shift(past, n);
              break;
            }
            case "read":
            case "peek": {
              const offset = o.op === "read" ? 0 : o.offset;
              const want = valid.slice(offset, offset + o.n);
              const dst = new Uint8Array(o.n);
              expect(o.op === "read" ? rb.read(dst) : rb.peek(dst, offset)).toBe(want.length);
              expect([...dst.subarray(0, want.length)]).toEqual(want);
              if (o.op === "read") valid = valid.slice(want.length);
              break;
            }
            case "consume":
              if (o.n > valid.length) {
                expect(() => rb.consume(o.n)).toThrow(RangeError);
              } else {
                rb.consume(o.n);
                valid = valid.slice(o.n);
              }
              break;
            case "writeAt": {
              const n = Math.max(0, Math.min(free - o.offset, o.data.length));
              expect(rb.writeAt(o.offset, Uint8Array.from(o.data))).toBe(n);
              for (let i = 0; i < n; i++) past.set(o.offset + i, o.data[i]);
              break;
            }
            case "commit": {
              // commit only bytes that were written past the end (others hold stale data)
              let n = 0;
              while (n < o.n && past.has(n)) n++;
              rb.commit(n);
              for (let i = 0; i < n; i++) valid.push(past.get(i) as number);
              past = shift(past, n);
              break;
            }
          }
          expect([rb.length, rb.free]).toEqual([valid.length, capacity - valid.length]);
        }
        const all = new Uint8Array(capacity);
        expect(rb.peek(all, 0)).toBe(valid.length);
        expect([...all.subarray(0, valid.length)]).toEqual(valid);
      }),
      { numRuns: 2000 },
    );
  });
});

/** Offsets past the end after the end moved forward by `n` (bytes now below it were overwritten or committed). */
function shift(past: Map<number, number>, n: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const [k, v] of past) if (k >= n) out.set(k - n, v);
  return out;
}
