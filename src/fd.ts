/**
 * Ownership of file descriptors: an owner closes its descriptor explicitly,
 * and one that is garbage-collected while still open has it closed for it,
 * so a forgotten `close()` cannot leak descriptors for the life of the process.
 * @internal
 */
import { sys } from "./native.js";

const finalizer = new FinalizationRegistry<number>((fd) => {
  sys.close(fd);
});

/** Records that `owner` holds `fd` until {@link closeFd}. */
export function ownFd(owner: object, fd: number): void {
  finalizer.register(owner, fd, owner);
}

/** Closes the descriptor `owner` holds. */
export function closeFd(owner: object, fd: number): void {
  finalizer.unregister(owner);
  sys.close(fd);
}
