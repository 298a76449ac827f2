/**
 * The base of every virtual socket: registration with a Poll through the
 * registry's readiness queue, with the same EEXIST / ENOENT / EBADF answers
 * as a kernel socket, and readiness reported as epoll bits so events look
 * exactly like the kernel's.
 * @internal
 */
import { IoError } from "../error.js";
import type { Interest } from "../poll/interest.js";
import { selectorOf, type Registry } from "../poll/registry.js";
import type { VirtualRegistration } from "../poll/selector.js";
import type { Source } from "../poll/source.js";
import type { Token } from "../poll/token.js";

export abstract class VirtualSource implements Source {
  private reg: VirtualRegistration | null = null;
  private closed = false;

  /** The epoll bits this socket is ready for now (what epoll_ctl would report). */
  protected abstract readiness(): number;

  /** Throws `EBADF` once closed. */
  protected live(): void {
    if (this.closed) throw new IoError("EBADF", `${this.constructor.name} is closed`);
  }

  /** Whether close() was called. */
  protected isClosed(): boolean {
    return this.closed;
  }

  register(registry: Registry, token: Token, interest: Interest): void {
    this.live();
    const selector = selectorOf(registry);
    if (this.reg !== null) {
      if (this.reg.selector === selector || !this.reg.selector.closed) {
        throw new IoError("EEXIST", this.reg.selector === selector ? "already registered" : "already registered with another Registry");
      }
    }
    this.reg = selector.registerVirtual(token, interest, () => this.readiness());
    this.reg.ready(this.readiness());
  }

  reregister(registry: Registry, token: Token, interest: Interest): void {
    this.live();
    const reg = this.registration(registry);
    reg.selector.reregisterVirtual(reg, token, interest);
    reg.ready(this.readiness());
  }

  deregister(registry: Registry): void {
    this.live();
    const reg = this.registration(registry);
    reg.selector.deregisterVirtual(reg);
    this.reg = null;
  }

  private registration(registry: Registry): VirtualRegistration {
    const reg = this.reg;
    if (reg === null || reg.selector !== selectorOf(registry)) throw new IoError("ENOENT", "not registered");
    return reg;
  }

  /** Reports a wake-up (the epoll bits that caused it) to the poll this socket is registered with. */
  protected wake(bits: number): void {
    this.reg?.ready(bits);
  }

  /** Deregisters and marks closed; subclasses release their state first. Idempotent. */
  close(): void {
    if (this.closed) return;
    if (this.reg !== null) this.reg.selector.deregisterVirtual(this.reg);
    this.reg = null;
    this.closed = true;
  }
}
