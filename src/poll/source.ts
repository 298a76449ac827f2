import type { Interest } from "./interest.js";
import type { Registry } from "./registry.js";
import type { Token } from "./token.js";

/**
 * Anything that can be registered with a {@link Registry}: every socket, kernel
 * or virtual, a pipe end, a `SourceFd`. A custom source implements these three
 * methods by delegating to a source it wraps (usually a `SourceFd`).
 */
export interface Source {
  register(registry: Registry, token: Token, interest: Interest): void;
  reregister(registry: Registry, token: Token, interest: Interest): void;
  deregister(registry: Registry): void;
}
