/**
 * Packets in flight, each with the time it arrives: a binary min-heap ordered
 * by arrival time, and by scheduling order among equal times (so that packets
 * that arrive together come out in the order they were sent).
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

export class ArrivalQueue {
  private heap: Entry[] = [];
  private seq = 0;

  /** How many packets are in flight. */
  get size(): number {
    return this.heap.length;
  }

  /** Schedules `packet` to arrive at time `at`. */
  push(at: number, packet: Uint8Array): void {
    const heap = this.heap;
    const entry: Entry = { at, seq: this.seq++, packet };
    let i = heap.length;
    heap.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, heap[parent])) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = entry;
  }

  /** The earliest arrival time, or null when nothing is in flight. */
  nextAt(): number | null {
    return this.heap.length === 0 ? null : this.heap[0].at;
  }

  /** Removes and returns the earliest packet if it has arrived by `now`, else null. */
  popDue(now: number): Uint8Array | null {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined || top.at > now) return null;
    const last = heap.pop()!;
    if (heap.length > 0) this.siftDown(last);
    return top.packet;
  }

  /** Drops every packet arriving after `t`; returns how many were dropped. */
  removeAfter(t: number): number {
    const kept = this.heap.filter((e) => e.at <= t);
    const removed = this.heap.length - kept.length;
    kept.sort((x, y) => (before(x, y) ? -1 : 1));
    this.heap = kept; // a sorted array is a valid heap
    return removed;
  }

  private siftDown(entry: Entry): void {
    const heap = this.heap;
    const n = heap.length;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && before(heap[child + 1], heap[child])) child++;
      if (!before(heap[child], entry)) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = entry;
  }
}
