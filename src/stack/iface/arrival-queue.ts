/**
 * Packets in flight, each with the time it arrives, taken in order of arrival
 * time, and in scheduling order among equal times (so that packets that
 * arrive together come out in the order they were sent).
 *
 * While arrival times never decrease (a link without jitter or reordering:
 * a fixed delay, a FIFO transmitter) the packets wait in a plain FIFO, with no
 * per-packet bookkeeping object. The first packet scheduled to arrive before
 * one already waiting turns the queue into a binary min-heap ordered by
 * (time, scheduling order); it turns back into a FIFO once it empties.
 * @internal
 */

interface Entry {
  at: number;
  seq: number;
  packet: Uint8Array;
}

function before(x: Entry, y: Entry): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}

/** Consumed FIFO slots dropped at once when they outweigh the rest, past this many. */
const COMPACT_AT = 1024;

export class ArrivalQueue {
  /** FIFO mode (heap empty): arrival times from `head` on, nondecreasing */
  private fifoAt: number[] = [];
  private fifoPacket: (Uint8Array | undefined)[] = [];
  private head = 0;
  /** heap mode: every waiting packet is here and the FIFO is empty */
  private heap: Entry[] = [];
  private seq = 0;

  /** How many packets are in flight. */
  get size(): number {
    return this.fifoAt.length - this.head + this.heap.length;
  }

  /** Schedules `packet` to arrive at time `at`. */
  push(at: number, packet: Uint8Array): void {
    if (this.heap.length === 0) {
      const n = this.fifoAt.length;
      if (n === this.head || at >= this.fifoAt[n - 1]!) {
        this.fifoAt.push(at);
        this.fifoPacket.push(packet);
        return;
      }
      this.fifoToHeap();
    }
    const heap = this.heap;
    const entry: Entry = { at, seq: this.seq++, packet };
    let i = heap.length;
    heap.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  }

  /** The earliest arrival time, or null when nothing is in flight. */
  nextAt(): number | null {
    if (this.heap.length > 0) return this.heap[0]!.at;
    return this.head < this.fifoAt.length ? this.fifoAt[this.head]! : null;
  }

  /** Removes and returns the earliest packet if it has arrived by `now`, else null. */
  popDue(now: number): Uint8Array | null {
    if (this.heap.length > 0) return this.popHeap(now);
    const h = this.head;
    const at = this.fifoAt;
    if (h === at.length || at[h]! > now) return null;
    const packet = this.fifoPacket[h]!;
    this.fifoPacket[h] = undefined;
    this.head = h + 1;
    if (this.head === at.length) {
      at.length = 0;
      this.fifoPacket.length = 0;
      this.head = 0;
    } else if (this.head >= COMPACT_AT && this.head * 2 >= at.length) {
      this.fifoAt = at.slice(this.head);
      this.fifoPacket = this.fifoPacket.slice(this.head);
      this.head = 0;
    }
    return packet;
  }

  /** Drops every packet arriving after `t`; returns how many were dropped. */
  removeAfter(t: number): number {
    if (this.heap.length === 0) {
      // sorted: cut the tail
      const at = this.fifoAt;
      let keep = at.length;
      while (keep > this.head && at[keep - 1]! > t) keep--;
      const removed = at.length - keep;
      at.length = keep;
      this.fifoPacket.length = keep;
      return removed;
    }
    const kept = this.heap.filter((e) => e.at <= t);
    const removed = this.heap.length - kept.length;
    kept.sort((x, y) => (before(x, y) ? -1 : 1));
    this.heap = kept; // a sorted array is a valid heap
    return removed;
  }

  /** Moves the FIFO's packets into the (empty) heap, in order: a sorted array is a valid heap. */
  private fifoToHeap(): void {
    for (let i = this.head; i < this.fifoAt.length; i++) {
      this.heap.push({ at: this.fifoAt[i]!, seq: this.seq++, packet: this.fifoPacket[i]! });
    }
    this.fifoAt.length = 0;
    this.fifoPacket.length = 0;
    this.head = 0;
  }

  private popHeap(now: number): Uint8Array | null {
    const heap = this.heap;
    const top = heap[0]!;
    if (top.at > now) return null;
    const last = heap.pop()!;
    if (heap.length > 0) this.siftDown(last);
    return top.packet;
  }

  private siftDown(entry: Entry): void {
    const heap = this.heap;
    const n = heap.length;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && before(heap[child + 1]!, heap[child]!)) child++;
      if (!before(heap[child]!, entry)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = entry;
  }
}
