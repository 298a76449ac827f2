/**
 * A walker over the option lists of IPv4 (RFC 791 §3.1) and TCP (RFC 9293
 * §3.1), which share one format: kind 0 ends the list, kind 1 is a one-byte
 * no-operation, and every other option is kind, length (counting these two
 * bytes), data. One walker is reused; it allocates nothing.
 */

/** Kind 0: End of Option List. */
export const OPT_END = 0;
/** Kind 1: No-Operation (padding between options). */
export const OPT_NOP = 1;

export class OptionWalker {
  /** The current option's kind. */
  kind = 0;
  /** Offset of the current option's data (after kind and length) in the buffer. */
  data = 0;
  /** The current option's data length (its length byte minus 2). */
  dataLength = 0;
  /** Set when the walk stopped at an option whose length byte is invalid. */
  malformed = false;
  #b: Uint8Array = new Uint8Array(0);
  #pos = 0;
  #end = 0;

  /** Starts a walk over `b[start..end)`. */
  reset(b: Uint8Array, start: number, end: number): this {
    this.#b = b;
    this.#pos = start;
    this.#end = end;
    this.malformed = false;
    return this;
  }

  /**
   * Moves to the next option other than a no-operation. False at the end of
   * the list (End of Option List or end of the area) and when the list is
   * malformed: a length byte missing, below 2, or running past the area.
   */
  next(): boolean {
    const b = this.#b;
    while (this.#pos < this.#end) {
      const kind = b[this.#pos];
      if (kind === OPT_END) break;
      if (kind === OPT_NOP) {
        this.#pos++;
        continue;
      }
      const len = this.#pos + 1 < this.#end ? b[this.#pos + 1] : 0;
      if (len < 2 || this.#pos + len > this.#end) {
        this.malformed = true;
        break;
      }
      this.kind = kind;
      this.data = this.#pos + 2;
      this.dataLength = len - 2;
      this.#pos += len;
      return true;
    }
    this.#pos = this.#end;
    return false;
  }
}
