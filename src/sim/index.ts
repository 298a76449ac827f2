/**
 * Simulated networks in virtual time: {@link Sim} (hosts, switches, links,
 * faults, captures, and `sim.run` for async code).
 */
export { Sim, type SimOptions, type SimHostOptions, type SimLinkOptions, type SimHostRef, type SimNodeRef, type SimRouterOptions, type Readiness } from "./sim.js";
export type { SimRunOptions } from "./run.js";
export type { SimStats, SimTraceFn } from "./fabric.js";
export { SimSwitch } from "./switch.js";
export { SimRouter } from "./router.js";
export { SimCapture } from "./pcap.js";
export { SimTimeout } from "./timers.js";
