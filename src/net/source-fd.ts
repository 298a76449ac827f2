/**
 * `SourceFd(fd)`: registers any pollable descriptor the caller owns (mio's
 * `unix::SourceFd`). A factory, like `Token(0)`:
 *
 * ```ts
 * poll.registry().register(SourceFd(fd), Token(0), Interest.READABLE);
 * ```
 */
import type { Interest } from "../poll/interest.js";
import { selectorOf, type Registry } from "../poll/registry.js";
import type { Source } from "../poll/source.js";
import type { Token } from "../poll/token.js";

const FD_MAX = 0x7fffffff;

/**
 * A {@link Source} over a descriptor it does not own: it never closes it, and
 * the caller must deregister it before closing the descriptor. Registrations
 * belong to the descriptor, so two `SourceFd`s of one descriptor are the same
 * source to a poll.
 */
export interface SourceFd extends Source {
  /** The wrapped descriptor. */
  readonly fd: number;
}

/**
 * Wraps `fd` (anything epoll accepts: sockets, pipes, eventfds, TUN devices,
 * ...). Throws `TypeError` unless `fd` is a non-negative integer.
 */
export function SourceFd(fd: number): SourceFd {
  if (!Number.isInteger(fd) || fd < 0 || fd > FD_MAX) {
    throw new TypeError(`fd must be a non-negative integer, got ${String(fd)}`);
  }
  return {
    fd,
    register(registry: Registry, token: Token, interest: Interest): void {
      selectorOf(registry).registerFd(fd, token, interest);
    },
    reregister(registry: Registry, token: Token, interest: Interest): void {
      selectorOf(registry).reregisterFd(fd, token, interest);
    },
    deregister(registry: Registry): void {
      selectorOf(registry).deregisterFd(fd);
    },
  };
}
