/**
 * macvlan: macvlan and macvtap links over rtnetlink, for Node.js.
 * @packageDocumentation
 */
export { open, Handle, DEFAULT_NODE_DIR, type OpenOptions, type LinkChange, type LinkFilter, type SourceMacOp } from './handle.js';
export { NetlinkError, HandleClosedError } from './errors.js';
export { MODES, type Mode, type Link, type MacvlanSpec, type MacvlanInfo } from './link.js';
export type { LinkRef } from './validate.js';
export { Tap, TAP_OFFLOADS, type TapOffload, type TapOptions } from './tap.js';
export { qemuNetdevArgs, type QemuNetdevOptions } from './qemu.js';
export type { Address, NextHop, NextHopSpec, Route, RouteSpec, RouteType } from './addr_route.js';
export type { LinkEvent, LinkEventStream, LinkField, WatchOptions } from './events.js';
export { hostShim, removeHostShim, type HostShimOptions } from './shim.js';
export {
  toSystemdNetworkd,
  toLibvirtInterface,
  type PersistFile,
  type SystemdNetworkdOptions,
  type SystemdNetworkdFiles,
  type LibvirtInterfaceOptions,
} from './persist.js';
