/**
 * SourceFd: any pollable descriptor the caller owns, registered as is
 * (mio's `unix::SourceFd`; mio has no test file of its own for it).
 */
import { closeSync, openSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Events, Interest, Poll, SourceFd, Token, type Registry, type Source } from "../src/index.js";
import { sys } from "../src/native.js";
import { useCleanup } from "./support/harness.js";
import { expectIoError, useTempDir } from "./support/unix.js";
import { expectEvents, expectNoEvents } from "./support/util.js";

const TOKEN_1 = Token(0);
const TOKEN_2 = Token(1);
const DATA = new TextEncoder().encode("ping");

describe("source_fd", () => {
  const own = useCleanup();
  const tempFile = useTempDir();
  const initWithPoll = (): [Poll, Events] => [own(new Poll()), new Events(8)];
  /** A raw non-blocking pipe this test owns: [read end, write end]. */
  function rawPipe(): [number, number] {
    const fds = new Int32Array(2);
    expect(sys.pipe(fds)).toBe(0);
    for (const fd of fds) own({ close: () => sys.close(fd) });
    return [fds[0]!, fds[1]!];
  }

  it("reports readiness of a descriptor it wraps", () => {
    const [poll, events] = initWithPoll();
    const [r, w] = rawPipe();
    const source = SourceFd(r);
    expect(source.fd).toBe(r);
    poll.registry().register(source, TOKEN_1, Interest.READABLE);
    poll.registry().register(SourceFd(w), TOKEN_2, Interest.WRITABLE);
    expectEvents(poll, events, [{ token: TOKEN_2, readiness: { writable: true } }]);

    expect(sys.write(w, DATA)).toBe(DATA.length);
    expectEvents(poll, events, [{ token: TOKEN_1, readiness: { readable: true } }]);
  });

  it("reregister changes the token and the interest", () => {
    const [poll, events] = initWithPoll();
    const [, w] = rawPipe();
    poll.registry().register(SourceFd(w), TOKEN_1, Interest.READABLE);
    expectNoEvents(poll, events);
    poll.registry().reregister(SourceFd(w), TOKEN_2, Interest.WRITABLE);
    expectEvents(poll, events, [{ token: TOKEN_2, readiness: { writable: true } }]);
  });

  it("deregister stops events and leaves the descriptor open", () => {
    const [poll, events] = initWithPoll();
    const [r, w] = rawPipe();
    const source = SourceFd(r);
    poll.registry().register(source, TOKEN_1, Interest.READABLE);
    poll.registry().deregister(source);
    expect(sys.write(w, DATA)).toBe(DATA.length);
    expectNoEvents(poll, events);

    const buf = new Uint8Array(8);
    expect(sys.read(r, buf), "still open").toBe(DATA.length);
    // and it can be registered again
    poll.registry().register(source, TOKEN_2, Interest.READABLE);
    expect(sys.write(w, DATA)).toBe(DATA.length);
    expectEvents(poll, events, [{ token: TOKEN_2, readiness: { readable: true } }]);
  });

  it("registrations belong to the descriptor: EEXIST twice, ENOENT when absent", () => {
    const [poll] = initWithPoll();
    const [r] = rawPipe();
    const registry = poll.registry();
    expectIoError(() => registry.reregister(SourceFd(r), TOKEN_1, Interest.READABLE), "ENOENT");
    expectIoError(() => registry.deregister(SourceFd(r)), "ENOENT");
    registry.register(SourceFd(r), TOKEN_1, Interest.READABLE);
    expectIoError(() => registry.register(SourceFd(r), TOKEN_2, Interest.READABLE), "EEXIST");
  });

  it("a custom Source delegates to SourceFd (an eventfd counter)", () => {
    class Counter implements Source {
      readonly fd = sys.eventfdCreate();
      register(registry: Registry, token: Token, interest: Interest): void {
        SourceFd(this.fd).register(registry, token, interest);
      }
      reregister(registry: Registry, token: Token, interest: Interest): void {
        SourceFd(this.fd).reregister(registry, token, interest);
      }
      deregister(registry: Registry): void {
        SourceFd(this.fd).deregister(registry);
      }
      close(): void {
        sys.close(this.fd);
      }
    }
    const [poll, events] = initWithPoll();
    const counter = own(new Counter());
    expect(counter.fd).toBeGreaterThanOrEqual(0);
    poll.registry().register(counter, TOKEN_1, Interest.READABLE);
    expectNoEvents(poll, events);
    expect(sys.eventfdWrite(counter.fd)).toBeGreaterThanOrEqual(0);
    expectEvents(poll, events, [{ token: TOKEN_1, readiness: { readable: true } }]);
  });

  it("the kernel's refusals: EPERM for a regular file, EBADF for no descriptor", () => {
    const [poll] = initWithPoll();
    const file = openSync(tempFile("plain"), "w");
    try {
      expectIoError(() => poll.registry().register(SourceFd(file), TOKEN_1, Interest.READABLE), "EPERM");
    } finally {
      closeSync(file);
    }
    expectIoError(() => poll.registry().register(SourceFd(0x7fffffff), TOKEN_1, Interest.READABLE), "EBADF");
  });

  it("fd must be a non-negative integer (TypeError)", () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, "3", null]) {
      expect(() => SourceFd(bad as number), String(bad)).toThrow(TypeError);
    }
  });
});
