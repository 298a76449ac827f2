/**
 * Congestion control behind one small interface: NewReno (RFC 5681,
 * RFC 6582) and CUBIC (RFC 9438, the default, as in Linux).
 */
import type { CongestionControl, CongestionName, CongestionOptions } from "./controller.js";
import { Cubic } from "./cubic.js";
import { NewReno } from "./newreno.js";

export type { CongestionControl, CongestionName, CongestionOptions } from "./controller.js";
export { CUBIC_ALPHA, CUBIC_BETA, CUBIC_C, Cubic, type CubicOptions } from "./cubic.js";
export { NewReno } from "./newreno.js";
export { ABC_LIMIT, DEFAULT_INITIAL_WINDOW, INFINITE_SSTHRESH, WindowedControl } from "./window.js";

/** The algorithm a connection uses when none is chosen: CUBIC, as Linux. */
export const DEFAULT_CONGESTION: CongestionName = "cubic";

/**
 * A fresh controller for one connection. Throws RangeError for an `mss` or
 * `initialWindow` that is not a positive integer.
 */
export function createCongestionControl(name: CongestionName, options: CongestionOptions): CongestionControl {
  switch (name) {
    case "newreno":
      return new NewReno(options);
    case "cubic":
      return new Cubic(options);
    default: {
      const unknown: never = name;
      throw new RangeError(`unknown congestion control ${String(unknown)}`);
    }
  }
}
