/**
 * Options of the public functions, validated once at the boundary (zod) and resolved to defaults, so the
 * code below can trust them. Shapes and names match the CLI's flags.
 */
import { openBus } from "../transports.ts";
import { AbqError } from "../protocol/errors.ts";
import { ID_PATTERN, LEASE_TOKEN_PATTERN } from "../protocol/ids.ts";
import {
  type ChannelName,
  channelName as toChannelName,
  type MessageId,
  messageId as toMessageId,
  type SubscriberName,
  subscriberName as toSubscriberName,
} from "../protocol/names.ts";
import { DEFAULT_TTL, describeIssues, MESSAGE_TYPES, RESPONSE_STATUSES } from "../protocol/schema.ts";
import { MAX_SPAN_S } from "../protocol/constants.ts";
import * as z from "../protocol/zod.ts";
import { lazy } from "../protocol/zod.ts";
import {
  type Capability,
  type CapabilityMap,
  capable,
  type ListState,
  type Transport,
} from "../lifecycle/transport.ts";
import { parseListState } from "../lifecycle/states.ts";
import { resolveIdentity } from "../identity/index.ts";

/** Accepted by every function. */
export interface CommonOptions {
  /** Bus directory. Default: `$ABQ_HOME`, else `~/.abq`. */
  home?: string | undefined;
  /** fsync every transition. Default: true unless `ABQ_FSYNC=0`. */
  fsync?: boolean | undefined;
  /** Working directory whose git context names the caller. Default: `process.cwd()`. */
  cwd?: string | undefined;
  /** Use this transport instead of opening one (it is left open). */
  transport?: Transport | undefined;
  /**
   * Process recorded as the owner of claims (leases); while it runs on this host, no sweep takes them.
   * 0: the claims are held by their lease alone, until its deadline (renew to keep them longer), however
   * short-lived the claiming process is (the CLI's `recv`). Default: this process.
   */
  ownerPid?: number | undefined;
  /** The bus's URL (`nats://host:port` for JetStream; see src/transports.ts). Default: `$ABQ_URL`, else the local spool. */
  url?: string | undefined;
}

/** A channel name, branded (E_BAD_NAME from inside the transform when it is not one). */
const channelName = (): z.ZodMiniPipe<z.ZodMiniString, z.ZodMiniTransform<ChannelName, string>> =>
  z.pipe(
    z.string(),
    z.transform((name: string) => toChannelName(name)),
  );
// The regex check gives the usual zod issue text; the transform only brands (it runs once the check passed).
const messageId = (): z.ZodMiniPipe<z.ZodMiniString, z.ZodMiniTransform<MessageId, string>> =>
  z.pipe(
    z.string().check(z.regex(ID_PATTERN, "is not a message id (expected req_<hex>)")),
    z.transform((id: string) => toMessageId(id)),
  );
const seconds = (): z.ZodMiniNumber => z.number().check(z.nonnegative());
const leaseToken = (): z.ZodMiniString =>
  z.string().check(z.regex(LEASE_TOKEN_PATTERN, "is not a lease token (as recv prints it)"));

export const sendInput = lazy(() =>
  z.object({
    channel: channelName(),
    type: z.enum(MESSAGE_TYPES, { error: `unknown type: use one of ${MESSAGE_TYPES.join(", ")}` }),
    content: z._default(z.string(), ""),
    /** Default: the channel's policy ttl_s (0 = never expire, unless configured). */
    ttl: z.optional(z.int("must be whole seconds").check(z.nonnegative())),
    replyTo: z.optional(channelName()),
    create: z._default(z.boolean(), false),
  }),
);

/** A topic subscriber's name, branded (E_BAD_NAME when it is not one). */
const subscriberName = (): z.ZodMiniPipe<z.ZodMiniString, z.ZodMiniTransform<SubscriberName, string>> =>
  z.pipe(
    z.string(),
    z.transform((name: string) => toSubscriberName(name)),
  );

export const recvInput = lazy(() =>
  z.object({
    channel: channelName(),
    as: z.optional(subscriberName()),
    wait: z._default(z.boolean(), false),
    /** Seconds to wait with `wait`; default 30 (the seed's fixed wait). */
    timeout: z._default(seconds(), 30),
    signal: z.optional(z.instanceof(AbortSignal)),
  }),
);

/** A claimed message named by the CLI or a tool: channel, id, and optionally the lease that fences it. */
export const claimRefInput = lazy(() =>
  z.object({
    channel: channelName(),
    as: z.optional(subscriberName()),
    id: messageId(),
    lease: z.optional(leaseToken()),
  }),
);

/** A non-negative number of seconds, up to a year (a delay past that is a typo, and overflows a date). */
export const secondsInput = lazy(() =>
  z.number().check(z.nonnegative(), z.maximum(MAX_SPAN_S, `is more than the maximum, ${MAX_SPAN_S} (365 days)`)),
);

export const askInput = lazy(() =>
  z.object({
    /** Seconds to wait for the answer; default 30. */
    timeout: z._default(seconds(), 30),
  }),
);

export const respondInput = lazy(() =>
  z.object({
    channel: channelName(),
    as: z.optional(subscriberName()),
    id: messageId(),
    lease: z.optional(leaseToken()),
    status: z._default(
      z.enum(RESPONSE_STATUSES, { error: `unknown status: use one of ${RESPONSE_STATUSES.join(", ")}` }),
      "success",
    ),
    result: z._default(z.string(), ""),
    error: z._default(z.nullable(z.string()), null),
  }),
);

export const listInput = lazy(() =>
  z.object({
    channel: channelName(),
    as: z.optional(subscriberName()),
    state: z.pipe(
      z._default(z.string(), "requests"),
      z.transform((s: string): ListState => parseListState(s)),
    ),
    limit: z._default(z.int().check(z.positive()), 20),
    oldestFirst: z._default(z.boolean(), false),
  }),
);

/** zod parse that turns failures into one-line E_USAGE errors (E_BAD_NAME for channel names). */
export function parseInput<S extends z.ZodMiniType>(schema: S, value: unknown): z.output<S> {
  // A bad channel name throws E_BAD_NAME from inside the transform; it passes through safeParse as is.
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new AbqError("E_USAGE", describeIssues(result.error));
}

/** Opens the transport the options ask for; `owned` tells the caller to close it. */
export async function openTransport(
  opts: CommonOptions,
  agent?: string,
): Promise<{ transport: Transport; owned: boolean }> {
  if (opts.transport) return { transport: opts.transport, owned: false };
  const url = opts.url ?? process.env["ABQ_URL"];
  const transport = await openBus(url, { home: opts.home, fsync: opts.fsync, agent, ownerPid: opts.ownerPid });
  return { transport, owned: true };
}

/** Runs `fn` with a transport, closing it afterwards when we opened it. */
export async function withTransport<T>(
  opts: CommonOptions,
  fn: (t: Transport) => Promise<T>,
  agent?: string,
): Promise<T> {
  const { transport, owned } = await openTransport(opts, agent);
  try {
    return await fn(transport);
  } finally {
    if (owned) await transport.close();
  }
}

export async function callerAgent(opts: CommonOptions): Promise<string> {
  return (await resolveIdentity({ cwd: opts.cwd })).agent;
}

/** Runs `fn` with a transport that has capability `cap` (E_USAGE naming it when the bus lacks it). */
export function withCapable<C extends Capability, T>(
  opts: CommonOptions,
  cap: C,
  fn: (t: Transport & CapabilityMap[C]) => Promise<T>,
  agent?: string,
): Promise<T> {
  return withTransport(opts, (t) => fn(capable(t, cap)), agent);
}

/** Default TTL for messages sent to `channel` without one: its policy's, where the bus has policies. */
export async function defaultTtl(t: Transport, channel: string): Promise<number> {
  if (!t.capabilities.has("admin")) return DEFAULT_TTL;
  return (
    (
      await capable(t, "admin")
        .policy(channel)
        .catch(() => undefined)
    )?.ttl_s ?? DEFAULT_TTL
  );
}
