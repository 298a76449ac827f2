import { sys } from "../native.js";
import { IoError, check } from "../error.js";
import { closeFd, ownFd } from "../fd.js";
import { Interest } from "./interest.js";
import { selectorOf, type Registry } from "./registry.js";
import type { Selector } from "./selector.js";
import { Token } from "./token.js";

/**
 * Wakes a blocked {@link Poll}: `wake()` makes the poll return an event with
 * this waker's token (readable). Wakes before the next poll coalesce into one
 * event. One Waker per Poll; it lives as long as the Poll.
 */
export class Waker {
  private readonly fd: number;
  private readonly selector: Selector;

  constructor(registry: Registry, token: Token) {
    const selector = selectorOf(registry);
    Token(token);
    if (selector.closed) throw new IoError("EBADF", "poll is closed");
    if (selector.waker) throw new IoError("EEXIST", "only one Waker per Poll");
    const fd = check(sys.eventfdCreate(), "eventfd");
    try {
      selector.registerFd(fd, token, Interest.READABLE);
    } catch (e) {
      sys.close(fd);
      throw e;
    }
    ownFd(this, fd);
    this.fd = fd;
    this.selector = selector;
    selector.waker = { close: () => closeFd(this, fd) };
  }

  /** Makes the poll return this waker's event; callable any number of times. */
  wake(): void {
    if (this.selector.closed) throw new IoError("EBADF", "poll is closed");
    check(sys.eventfdWrite(this.fd), "write");
  }
}
