/**
 * TCP keepalive settings shared by kernel and virtual streams (RFC 1122
 * §4.2.3.6; Linux SO_KEEPALIVE with TCP_KEEPIDLE, TCP_KEEPINTVL and
 * TCP_KEEPCNT).
 */

/** When and how often an idle connection is probed, and when it is given up. */
export interface TcpKeepalive {
  /** idle time before the first probe, ms */
  idleMs: number;
  /** time between unanswered probes, ms */
  intervalMs: number;
  /** unanswered probes before the connection fails with ETIMEDOUT */
  count: number;
}

/** Linux's limits: TCP_KEEPIDLE and TCP_KEEPINTVL up to 32767 s, TCP_KEEPCNT up to 127. */
const MAX_SECONDS = 32_767;
const MAX_COUNT = 127;

/**
 * Checks the fields given in `k` (each optional) and fills the rest from
 * `defaults`. Throws `TypeError` naming a field that is not an integer in
 * range (times in ms: 1 ms to 32767 s; count: 1 to 127).
 */
export function keepaliveSettings(k: Partial<TcpKeepalive>, defaults: TcpKeepalive): TcpKeepalive {
  if (k === null || typeof k !== "object") throw new TypeError("keepalive must be an object { idleMs?, intervalMs?, count? } or null");
  const field = (name: keyof TcpKeepalive, max: number): number => {
    const v = k[name];
    if (v === undefined) return defaults[name];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > max) {
      throw new TypeError(`keepalive.${name} must be an integer in 1..${max}, got ${String(v)}`);
    }
    return v;
  };
  return {
    idleMs: field("idleMs", MAX_SECONDS * 1000),
    intervalMs: field("intervalMs", MAX_SECONDS * 1000),
    count: field("count", MAX_COUNT),
  };
}
