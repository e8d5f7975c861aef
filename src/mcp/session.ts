/**
 * The bus connection an `abq mcp` session's message tools share (issue 18). Opening a transport per tool
 * call cost more than the call: every open re-checks the home and the queue folders for safety
 * (src/spool/safety.ts) and starts a fresh claim cursor, which lists the whole `requests/` folder again.
 * A tool call here borrows the session's open transport instead (the library leaves a transport it is
 * given open, src/api/options.ts).
 *
 * A transport is not kept for the whole session, though:
 * - It caches its safety checks, so a folder swapped for a symbolic link after the check would be used.
 *   A transport is retired once it is RECHECK_MS old: the next call opens a fresh one, which checks
 *   again. An unsafe folder is thus refused again at most RECHECK_MS after it appeared, as the CLI
 *   refuses it on its next command (test/mcp-session.test.ts).
 * - A call that fails with an error that is not the bus's answer (a connection lost for good, a disk
 *   error) retires it too, so the next call reconnects instead of failing the same way for the session.
 *   (A NATS connection reconnects by itself across a server restart; this covers one that closed.)
 * A retired transport is closed once the calls still using it (a waiting recv or ask) are done; an idle
 * one is closed after RECHECK_MS as well, so an idle session holds no connection or folder watch.
 */
import { type CommonOptions, callerAgent, openTransport } from "../api/options.ts";
import type { Transport } from "../lifecycle/transport.ts";
import { isAbqError } from "../protocol/errors.ts";

/** Longest a transport (and so its cached safety checks) is used for new calls. */
export const RECHECK_MS = 1_000;

/**
 * Failures that may be the transport's own state (a lost connection, a disk error, a refused folder that
 * a fresh check may find fixed). Every other AbqError is the bus's answer to the request.
 */
const SUSPECT = new Set(["E_IO", "E_UNSAFE"]);

interface Lease {
  transport: Transport;
  opened: number;
  users: number;
  retired: boolean;
  closed: boolean;
  idle?: NodeJS.Timeout | undefined;
}

export class Session {
  private current: Lease | undefined;
  private opening: Promise<Lease> | undefined;
  private closing = false;
  private readonly common: CommonOptions;

  constructor(common: CommonOptions) {
    this.common = common;
  }

  /** Runs `fn` with the session's options plus an open transport it must not close. */
  async use<T>(fn: (common: CommonOptions) => Promise<T>): Promise<T> {
    const lease = await this.acquire();
    try {
      return await fn({ ...this.common, transport: lease.transport });
    } catch (err) {
      if (!isAbqError(err) || SUSPECT.has(err.code)) this.retire(lease);
      throw err;
    } finally {
      lease.users--;
      this.settle(lease);
    }
  }

  /** Closes the transport once the calls using it are done; later calls open their own. */
  async close(): Promise<void> {
    this.closing = true;
    const opening = await this.opening?.catch(() => undefined);
    for (const lease of [opening, this.current]) if (lease !== undefined) this.retire(lease);
  }

  private async acquire(): Promise<Lease> {
    for (;;) {
      let lease = this.current;
      if (lease !== undefined && (lease.retired || Date.now() - lease.opened >= RECHECK_MS)) {
        this.retire(lease);
        lease = undefined;
      }
      // One open at a time: calls arriving meanwhile share it. A failed open is not kept.
      lease ??= await (this.opening ??= this.open().finally(() => (this.opening = undefined)));
      // Retired meanwhile (the session closing, another call's failure) is fine for this one call; closed
      // (by the session's close, before this call got to it) is not.
      if (lease.closed) continue;
      lease.users++;
      clearTimeout(lease.idle);
      return lease;
    }
  }

  private async open(): Promise<Lease> {
    const opened = Date.now();
    const { transport } = await openTransport(this.common, await callerAgent(this.common));
    const lease: Lease = { transport, opened, users: 0, retired: this.closing, closed: false };
    if (!this.closing) this.current = lease;
    return lease;
  }

  private retire(lease: Lease): void {
    lease.retired = true;
    if (this.current === lease) this.current = undefined;
    this.settle(lease);
  }

  /** Closes a retired transport nobody uses; retires an idle one once it is RECHECK_MS old. */
  private settle(lease: Lease): void {
    if (lease.users > 0 || lease.closed) return;
    clearTimeout(lease.idle);
    if (lease.retired) {
      lease.closed = true;
      void lease.transport.close().catch(() => undefined);
      return;
    }
    lease.idle = setTimeout(() => this.retire(lease), Math.max(0, lease.opened + RECHECK_MS - Date.now()));
    lease.idle.unref();
  }
}
