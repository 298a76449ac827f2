/** Devices of the userspace stack: where it sends and receives IP packets. */
export type { Device } from "./device.js";
export { Link, LinkEnd, type LinkImpairments, type LinkOptions, type LinkStats } from "./link.js";
export type { LinkDirectionStats, LinkDropReason } from "./link-direction.js";
export { Loopback, type LoopbackOptions, type LoopbackStats } from "./loopback.js";
export { DeviceWrapper, type Direction } from "./wrapper.js";
export { LINKTYPE_RAW, PCAP_MAGIC, PCAP_SNAPLEN, PcapBuffer } from "./pcap-format.js";
export { PcapTap } from "./pcap-tap.js";
export {
  FaultInjector,
  type FaultInjectorOptions,
  type FaultInjectorStats,
  type FaultStats,
} from "./fault-injector.js";
export { Tracer, type TraceFn } from "./tracer.js";
