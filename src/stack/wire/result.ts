/**
 * The outcome of checking a packet view. Results are shared frozen
 * singletons, so a check allocates nothing: the details of a good packet are
 * read from the view's getters, and a bad one carries only its reason.
 */

/** A packet that passed its check. */
export interface Ok {
  readonly ok: true;
}

/** A packet rejected for `reason`. */
export interface Failed<R extends string> {
  readonly ok: false;
  readonly reason: R;
}

/** The result of a view's `check()`, with `R` the protocol's union of reasons. */
export type Checked<R extends string> = Ok | Failed<R>;

/** The one success value. */
export const OK: Ok = Object.freeze({ ok: true });

const failures = new Map<string, Failed<string>>();

/** The shared failure value for `reason`. */
export function fail<R extends string>(reason: R): Failed<R> {
  let f = failures.get(reason);
  if (f === undefined) {
    f = Object.freeze({ ok: false, reason });
    failures.set(reason, f);
  }
  return f as Failed<R>;
}
