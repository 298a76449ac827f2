import { Token } from "./token.js";
import { checkInterest, type Interest } from "./interest.js";
import type { Selector } from "./selector.js";
import type { Source } from "./source.js";

const selectors = new WeakMap<Registry, Selector>();

/**
 * Registers sources with a {@link Poll}. Obtained from `poll.registry()`;
 * `tryClone()` gives another handle on the same poll.
 */
export class Registry {
  /** @internal */
  constructor(selector: Selector) {
    selectors.set(this, selector);
  }

  /**
   * Starts delivering readiness events of `source` with `token`.
   * Throws `IoError` `EEXIST` if it is already registered with this poll.
   */
  register(source: Source, token: Token, interest: Interest): void {
    checkArgs(source, token, interest);
    source.register(this, token, interest);
  }

  /**
   * Changes the token or interest of a registered source. Current readiness
   * is reported again. Throws `IoError` `ENOENT` if it is not registered.
   */
  reregister(source: Source, token: Token, interest: Interest): void {
    checkArgs(source, token, interest);
    source.reregister(this, token, interest);
  }

  /**
   * Stops delivering events of `source`: after this returns, later polls do
   * not report its token. Throws `IoError` `ENOENT` if it is not registered.
   */
  deregister(source: Source): void {
    checkSource(source);
    source.deregister(this);
  }

  /** Another handle on the same poll. */
  tryClone(): Registry {
    return new Registry(selectorOf(this));
  }
}

/** The selector a registry drives; for Source implementations. @internal */
export function selectorOf(registry: Registry): Selector {
  const s = selectors.get(registry);
  if (!s) throw new TypeError("expected a Registry from poll.registry()");
  return s;
}

function checkSource(source: Source): void {
  if (
    source === null ||
    typeof source !== "object" ||
    typeof source.register !== "function" ||
    typeof source.reregister !== "function" ||
    typeof source.deregister !== "function"
  ) {
    throw new TypeError("source must implement register, reregister and deregister");
  }
}

function checkArgs(source: Source, token: Token, interest: Interest): void {
  checkSource(source);
  Token(token);
  checkInterest(interest);
}
