/** TUN devices and network namespaces: the kernel's side of the userspace stack. */
export { TunDevice, type TunOptions, type TunConfig } from "./tun-device.js";
export { inNetns, enterFreshNetns, runInNetns } from "./netns.js";
