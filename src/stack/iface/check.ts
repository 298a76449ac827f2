/**
 * Validation of device options: each helper returns the option's value, or
 * its default when it is undefined, and throws a TypeError naming the option
 * when it is out of range.
 * @internal
 */

/** A probability in [0, 1]. */
export function probability(name: string, value: number | undefined): number {
  if (value === undefined) return 0;
  if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
    throw new TypeError(`${name} must be a probability in [0, 1], got ${String(value)}`);
  }
  return value;
}

/** A finite number >= 0. */
export function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`${name} must be a finite number >= 0, got ${String(value)}`);
  }
  return value;
}

/** An integer in [min, max]. */
export function integerIn(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`${name} must be an integer in ${min}..${max}, got ${String(value)}`);
  }
  return value;
}

/** The smallest and largest MTU a device accepts: IPv4's minimum and the IP length field's maximum. */
export const MIN_MTU = 68;
export const MAX_MTU = 65535;

/** An MTU in [{@link MIN_MTU}, {@link MAX_MTU}]. */
export function mtuOf(value: number | undefined, fallback: number): number {
  return integerIn("mtu", value, fallback, MIN_MTU, MAX_MTU);
}

/** A seed for `Random`: any safe integer (default 0). */
export function seedOf(value: number | undefined): number {
  return integerIn("seed", value, 0, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
}
