/** Named locks (`abq lock`): fenced by a token, held by a live owner, taken over only from a dead or expired one. */
export { acquireLock, releaseLock, renewLock, listLocks, DEFAULT_LOCK_TTL_S } from "./lock.ts";
export type { AcquireOptions, ReleaseLockOptions, RenewLockOptions, LockHold, LockInfo } from "./lock.ts";
export { runLocked } from "./run.ts";
export type { RunLockedOptions, RunLockedResult } from "./run.ts";
export type { Owner, Liveness } from "./owner.ts";
