declare const tokenBrand: unique symbol;

/**
 * Identifies a registered source in the events a poll returns: a non-negative
 * safe integer, branded so a plain number is not taken for one by accident.
 */
export type Token = number & { readonly [tokenBrand]: true };

/**
 * Makes a {@link Token}. Throws `TypeError` unless `n` is a non-negative safe
 * integer.
 */
export function Token(n: number): Token {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new TypeError(`token must be a non-negative safe integer, got ${String(n)}`);
  }
  return n as Token;
}
