/**
 * The filesystem transport: the spool under `$ABQ_HOME`, behind the `Transport` interface. It holds only
 * per-process caches (claim cursors, folder watches); all shared state is the files themselves.
 */
import { join } from "node:path";
import { AbqError } from "../protocol/errors.ts";
import { isId } from "../protocol/ids.ts";
import type { Request, Response } from "../protocol/schema.ts";
import type { ChannelStatus, Claimed, ListState, RespondResult, Transport } from "../transport.ts";
import { ClaimCursor, claimNext, releaseClaim } from "./claim.ts";
import { deliver } from "./deliver.ts";
import { type DurabilityOptions, resolveFsync, resolveMaxBytes } from "./files.ts";
import { channelStatus, countState, findMessage, listState, statusAll } from "./inspect.ts";
import { FolderSignal } from "./notify.ts";
import { channelDir, type HomeOptions, resolveHome, validateChannelName } from "./paths.ts";
import { purgeChannel } from "./purge.ts";
import { createChannel, initHome, listChannels, readChannelInfo, removeChannel, requireChannel } from "./registry.ts";
import { respondTo } from "./respond.ts";

export interface FsTransportOptions extends HomeOptions, DurabilityOptions {
  /** Largest message file accepted, in bytes. Default: `ABQ_MAX_BYTES` or 4 MiB. */
  maxBytes?: number | undefined;
  /** Who is acting, recorded in reason files (purge). */
  agent?: string | undefined;
}

export class FsTransport implements Transport {
  readonly home: string;
  private readonly sync: boolean;
  private readonly maxBytes: number;
  private readonly agent: string;
  private readonly cursors = new Map<string, ClaimCursor>();
  private readonly signals = new Map<string, FolderSignal>();

  constructor(opts: FsTransportOptions = {}) {
    this.home = resolveHome(opts);
    this.sync = resolveFsync(opts);
    this.maxBytes = opts.maxBytes ?? resolveMaxBytes();
    this.agent = opts.agent ?? "unknown";
  }

  init() {
    return initHome(this.home);
  }

  createChannel(name: string, opts: { description?: string } = {}) {
    return createChannel(this.home, validateChannelName(name), opts);
  }

  listChannels() {
    return listChannels(this.home);
  }

  async channelInfo(name: string) {
    await requireChannel(this.home, name);
    return { ...(await readChannelInfo(this.home, name)), status: await channelStatus(this.home, name) };
  }

  async removeChannel(name: string): Promise<ChannelStatus> {
    await requireChannel(this.home, name);
    const last = await channelStatus(this.home, name);
    await removeChannel(this.home, name);
    return last;
  }

  send(message: Request): Promise<Request> {
    return deliver(this.home, message, { sync: this.sync, maxBytes: this.maxBytes });
  }

  claim(channel: string): Promise<Claimed | null> {
    validateChannelName(channel);
    let cursor = this.cursors.get(channel);
    if (!cursor) this.cursors.set(channel, (cursor = new ClaimCursor()));
    return claimNext(this.home, channel, cursor, { sync: this.sync, maxBytes: this.maxBytes });
  }

  respond(channel: string, response: Response): Promise<RespondResult> {
    return respondTo(this.home, channel, response, { sync: this.sync, maxBytes: this.maxBytes });
  }

  async release(channel: string, id: string): Promise<void> {
    if (!isId(id)) throw new AbqError("E_USAGE", `'${id}' is not a message id (expected req_<hex>)`);
    await requireChannel(this.home, channel);
    if (!(await releaseClaim(this.home, channel, id, this.sync))) {
      throw new AbqError("E_NO_MESSAGE", `message ${id} is not claimed in channel '${channel}'`);
    }
    this.cursors.get(channel)?.reset(); // it is older than what the cursor holds: look again
  }

  status() {
    return statusAll(this.home);
  }

  list(channel: string, state: ListState, opts: { limit: number; oldestFirst: boolean }) {
    return listState(this.home, channel, state, { ...opts, maxBytes: this.maxBytes });
  }

  count(channel: string, state: ListState) {
    return countState(this.home, channel, state);
  }

  find(id: string, channel?: string) {
    return findMessage(this.home, id, channel, this.maxBytes);
  }

  purge(channel: string, reason: string) {
    return purgeChannel(this.home, channel, { reason, by: this.agent }, this.sync);
  }

  async waitForChange(channel: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    let folder = this.signals.get(channel);
    if (!folder) {
      folder = new FolderSignal(join(channelDir(this.home, channel), "requests"));
      this.signals.set(channel, folder);
    }
    await folder.wait(timeoutMs, signal);
  }

  close(): Promise<void> {
    for (const folder of this.signals.values()) folder.close();
    this.signals.clear();
    this.cursors.clear();
    return Promise.resolve();
  }
}
