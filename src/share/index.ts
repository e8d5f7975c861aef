/**
 * Sharing one channel with another Unix user or group, enforced by the kernel (POSIX ACLs):
 * `share`, `unshare`, `listShares`, and `checkShares` for the doctor. See docs/sharing.md.
 */
export { share, unshare } from "./share.ts";
export type { ShareOptions, ShareResult, UnshareOptions, UnshareResult } from "./share.ts";
export { listShares, checkShares } from "./list.ts";
export type { ShareEntry, ShareFinding } from "./list.ts";
export type { Access, Grant } from "./record.ts";
