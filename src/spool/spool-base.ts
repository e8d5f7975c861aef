/**
 * What the spool's transport methods share: the bus home, durability settings, per-process caches (claim
 * cursors, folder watches, folders already checked for safety) and the way a channel name becomes a
 * checked queue folder. spool-views.ts and spool.ts build the transport on it.
 */
import { type ChannelName, channelName, subscriberName } from "../protocol/names.ts";
import type { Response, Request } from "../protocol/schema.ts";
import type { QueueOptions } from "../lifecycle/transport.ts";
import type { ClaimCursor } from "./claim.ts";
import { type DurabilityOptions, resolveFsync, resolveMaxBytes } from "./files.ts";
import type { WorkContext } from "./leased-work.ts";
import type { FolderSignal } from "./notify.ts";
import { type HomeOptions, type Queue, queueOf, resolveHome } from "./paths.ts";
import { readChannelInfo, requireQueue } from "./registry.ts";
import { assertSafeHome, assertSafeQueue } from "./safety.ts";
import { notATopic } from "./topic.ts";

export interface FsTransportOptions extends HomeOptions, DurabilityOptions {
  /** Largest message file accepted, in bytes. Default: `ABQ_MAX_BYTES` or 4 MiB. */
  maxBytes?: number | undefined;
  /** Who is acting, recorded in leases, reason files and the event log. */
  agent?: string | undefined;
  /** Process recorded as the owner of claims made here. Default: this process. */
  ownerPid?: number | undefined;
}

export abstract class SpoolBase {
  readonly home: string;
  protected readonly sync: boolean;
  protected readonly maxBytes: number;
  protected readonly agent: string;
  protected readonly cursors = new Map<string, ClaimCursor>();
  protected readonly signals = new Map<string, FolderSignal>();
  protected readonly work: WorkContext;
  /** Folders already checked by assertSafe… in this process. */
  protected readonly checked = new Set<string>();

  constructor(opts: FsTransportOptions = {}) {
    this.home = resolveHome(opts);
    this.sync = resolveFsync(opts);
    this.maxBytes = opts.maxBytes ?? resolveMaxBytes();
    this.agent = opts.agent ?? "unknown";
    this.work = {
      home: this.home,
      sync: this.sync,
      maxBytes: this.maxBytes,
      agent: this.agent,
      ownerPid: opts.ownerPid ?? process.pid,
      replies: (request, response, recovering) => this.deliverReply(request, response, recovering),
    };
  }

  /** Delivers an answer to its request's reply_to channel, if it has one (spool.ts). */
  protected abstract deliverReply(request: Request | undefined, response: Response, recovering: boolean): Promise<void>;

  /** The claim cursor of a queue, and the key of its caches. */
  protected cursorKey(q: Queue): string {
    return `${q.channel}\0${q.subscriber ?? ""}`;
  }

  /** The boundary of the queue methods: validates the channel (and subscriber) name a caller gave. */
  protected async queue(channel: string, opts: QueueOptions): Promise<Queue> {
    const name = channelName(channel);
    if (opts.as === undefined) return this.safe(queueOf(this.home, name));
    await this.requireTopic(name);
    return this.safe(queueOf(this.home, name, subscriberName(opts.as)));
  }

  /** Refuses unsafe folders (see safety.ts), checking each once per process. */
  protected async safe(q: Queue): Promise<Queue> {
    await this.safeHome();
    if (!this.checked.has(q.dir)) {
      await assertSafeQueue(q.dir, this.home);
      this.checked.add(q.dir);
    }
    return q;
  }

  /** Refuses an unsafe home or `channels/` (see safety.ts), once per process. */
  protected async safeHome(): Promise<void> {
    if (this.checked.has(this.home)) return;
    await assertSafeHome(this.home);
    this.checked.add(this.home);
  }

  protected async requireTopic(channel: ChannelName): Promise<void> {
    await requireQueue(queueOf(this.home, channel));
    if ((await readChannelInfo(this.home, channel)).kind !== "topic") throw notATopic(channel);
  }
}
