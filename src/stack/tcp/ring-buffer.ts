/**
 * A byte ring buffer of fixed capacity over one `Uint8Array`, the storage of
 * a TCP send and receive buffer (RFC 9293 §3.3.1 figures 3 and 4).
 *
 * The valid bytes ("length" of them) start at the head. The send side appends
 * with {@link RingBuffer.write}, retransmits from the middle with
 * {@link RingBuffer.peek} and drops what the peer acknowledged with
 * {@link RingBuffer.consume}. The receive side puts out-of-order data past the
 * end with {@link RingBuffer.writeAt} (offset 0 is RCV.NXT) and, once the
 * reassembler says the front is contiguous, {@link RingBuffer.commit}s it.
 *
 * Every copy is one `Uint8Array#set` per contiguous run: one, or two when the
 * run wraps past the end of the storage.
 *
 * The storage is allocated on demand, as Linux grows a socket's memory with
 * the data it holds: none until the first write, then `initial` bytes (4 KiB
 * by default), doubled whenever a write needs more, up to the capacity. An
 * idle connection that never carried data holds no buffer memory. Storage is
 * kept once grown.
 */
export class RingBuffer {
  /** the storage: empty until the first write, then grown by doubling up to {@link capacity} */
  private buf: Uint8Array = NONE;
  private readonly cap: number;
  private readonly initial: number;
  private head = 0;
  private len = 0;

  /**
   * @param capacity the buffer size in bytes (a non-negative integer)
   * @param initial the storage allocated by the first write (at least 1; default 4 KiB, never more than `capacity`)
   */
  constructor(capacity: number, initial = DEFAULT_INITIAL) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`bad ring buffer capacity ${capacity}`);
    if (!Number.isInteger(initial) || initial < 1) throw new RangeError(`bad initial ring buffer storage ${initial}`);
    this.cap = capacity;
    this.initial = Math.min(initial, capacity);
  }

  /** Bytes the buffer can hold. */
  get capacity(): number {
    return this.cap;
  }

  /** Bytes of storage allocated so far (0 until the first write; at most {@link capacity}). */
  get allocated(): number {
    return this.buf.length;
  }

  /** Valid bytes, from the head. */
  get length(): number {
    return this.len;
  }

  /** Room left: `capacity - length`. */
  get free(): number {
    return this.cap - this.len;
  }

  /** Appends as much of `src` as fits; returns the number of bytes copied. */
  write(src: Uint8Array): number {
    const n = this.copyIn(0, src);
    this.len += n;
    return n;
  }

  /**
   * Copies `src` to `offset` bytes past the end of the valid bytes without
   * changing {@link length} (out-of-order data: offset 0 is the byte right
   * after the last valid one). Copies only what fits within {@link free};
   * returns the number of bytes copied (0 when `offset >= free`).
   */
  writeAt(offset: number, src: Uint8Array): number {
    checkCount(offset);
    return this.copyIn(offset, src);
  }

  /**
   * Extends {@link length} over `n` bytes that {@link writeAt} put right
   * after the end. Throws `RangeError` if `n > free`.
   */
  commit(n: number): void {
    checkCount(n);
    if (n > this.free) throw new RangeError(`commit ${n} > free ${this.free}`);
    if (this.len + n > this.buf.length) this.grow(this.len + n);
    this.len += n;
  }

  /** Copies up to `dst.length` bytes from the head into `dst` and consumes them; returns the count. */
  read(dst: Uint8Array): number {
    const n = this.peek(dst, 0);
    this.consume(n);
    return n;
  }

  /**
   * Copies up to `dst.length` valid bytes starting `offset` bytes past the
   * head into `dst`, without consuming them; returns the count (0 when
   * `offset >= length`).
   */
  peek(dst: Uint8Array, offset: number): number {
    checkCount(offset);
    if (offset >= this.len) return 0;
    const n = Math.min(dst.length, this.len - offset);
    const cap = this.buf.length;
    const start = (this.head + offset) % cap;
    const first = Math.min(n, cap - start);
    dst.set(this.buf.subarray(start, start + first), 0);
    if (first < n) dst.set(this.buf.subarray(0, n - first), first);
    return n;
  }

  /** Drops `n` bytes from the head. Throws `RangeError` if `n > length`. */
  consume(n: number): void {
    checkCount(n);
    if (n > this.len) throw new RangeError(`consume ${n} > length ${this.len}`);
    if (n === 0) return;
    this.len -= n;
    // the head never jumps back to 0 on empty: bytes written past the end stay put
    this.head = (this.head + n) % this.buf.length;
  }

  /** Copies as much of `src` as fits at `offset` past the end; returns the count. */
  private copyIn(offset: number, src: Uint8Array): number {
    const room = this.free - offset;
    if (room <= 0) return 0;
    const n = Math.min(src.length, room);
    if (n === 0) return 0;
    const need = this.len + offset + n;
    if (need > this.buf.length) this.grow(need);
    const cap = this.buf.length;
    const start = (this.head + this.len + offset) % cap;
    const first = Math.min(n, cap - start);
    this.buf.set(first === src.length ? src : src.subarray(0, first), start);
    if (first < n) this.buf.set(src.subarray(first, n), 0);
    return n;
  }

  /**
   * Replaces the storage by one of at least `need` bytes (doubling, capped at
   * the capacity), with the old contents unwrapped to start at index 0: the
   * valid bytes and any bytes written past them keep their offsets from the head.
   */
  private grow(need: number): void {
    const old = this.buf;
    let size = Math.max(this.initial, old.length * 2);
    while (size < need) size *= 2;
    const next = new Uint8Array(Math.min(size, this.cap));
    const h = this.head;
    next.set(h === 0 ? old : old.subarray(h), 0);
    if (h > 0) next.set(old.subarray(0, h), old.length - h);
    this.buf = next;
    this.head = 0;
  }
}

const NONE = new Uint8Array(0);
const DEFAULT_INITIAL = 4096;

function checkCount(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`bad byte count ${n}`);
}
