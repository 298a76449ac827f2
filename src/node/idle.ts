/**
 * A socket's idle timeout (`socket.setTimeout`): fires once after `ms`
 * without activity, again only after new activity. Real-time Polls use an
 * unreferenced Node timer (as net.Socket does: it never keeps the process
 * alive); Polls on a SimClock use the {@link PollDriver}'s virtual-time
 * timers, so the timeout is measured in virtual time.
 */
import type { PollDriver } from "./driver.js";

export class IdleTimer {
  private ms = 0;
  private timer: NodeJS.Timeout | null = null;
  private cancelVirtual: (() => void) | null = null;
  private lastActive = 0;

  constructor(
    private readonly driver: PollDriver,
    private readonly onIdle: () => void,
  ) {}

  /** The timeout in ms; 0 when off. */
  get timeout(): number {
    return this.ms;
  }

  /** Sets the timeout (0 turns it off) and starts counting from now. */
  set(ms: number): void {
    this.stop();
    this.ms = ms;
    if (ms > 0) this.touch();
  }

  /** Activity: the idle period starts again. */
  touch(): void {
    if (this.ms === 0) return;
    if (!this.driver.virtualTime) {
      if (this.timer === null) this.timer = setTimeout(() => this.onIdle(), this.ms).unref();
      else this.timer.refresh();
      return;
    }
    this.lastActive = this.driver.now();
    this.cancelVirtual ??= this.driver.atTime(this.lastActive + this.ms, () => this.fireVirtual());
  }

  /** Stops the timer (the timeout setting stays). */
  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.cancelVirtual?.();
    this.cancelVirtual = null;
  }

  private fireVirtual(): void {
    this.cancelVirtual = null;
    const due = this.lastActive + this.ms;
    if (this.driver.now() < due) this.cancelVirtual = this.driver.atTime(due, () => this.fireVirtual());
    else this.onIdle();
  }
}
