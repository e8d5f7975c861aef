/**
 * Options of the public functions, validated once at the boundary (zod) and resolved to defaults, so the
 * code below can trust them. Shapes and names match the CLI's flags.
 */
import { validateChannelName, validateSubscriberName } from "../channel/paths.ts";
import { FsTransport } from "../channel/spool.ts";
import { AbqError } from "../protocol/errors.ts";
import { ID_PATTERN } from "../protocol/ids.ts";
import { describeIssues, MESSAGE_TYPES, RESPONSE_STATUSES } from "../protocol/schema.ts";
import * as z from "../protocol/zod.ts";
import { lazy } from "../protocol/zod.ts";
import type { ListState, Transport } from "../transport.ts";
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
  /** Process recorded as the owner of claims (leases). Default: this process. */
  ownerPid?: number | undefined;
  /** A NATS JetStream bus (`nats://host:port`) instead of the filesystem. Default: `$ABQ_URL`. */
  url?: string | undefined;
}

const channelName = (): z.ZodMiniPipe<z.ZodMiniString, z.ZodMiniTransform<string, string>> =>
  z.pipe(
    z.string(),
    z.transform((name: string) => validateChannelName(name)),
  );
const messageId = (): z.ZodMiniString =>
  z.string().check(z.regex(ID_PATTERN, "is not a message id (expected req_<hex>)"));
const seconds = (): z.ZodMiniNumber => z.number().check(z.nonnegative());

export const sendInput = lazy(() =>
  z.object({
    channel: channelName(),
    type: z.enum(MESSAGE_TYPES, { error: `unknown type: use one of ${MESSAGE_TYPES.join(", ")}` }),
    content: z._default(z.string(), ""),
    /** Default: the channel's policy ttl_s (300 unless configured). */
    ttl: z.optional(z.int("must be whole seconds").check(z.nonnegative())),
    replyTo: z.optional(channelName()),
    create: z._default(z.boolean(), false),
  }),
);

const subscriberName = (): z.ZodMiniPipe<z.ZodMiniString, z.ZodMiniTransform<string, string>> =>
  z.pipe(
    z.string(),
    z.transform((name: string) => validateSubscriberName(name)),
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
    status: z._default(
      z.enum(RESPONSE_STATUSES, { error: `unknown status: use one of ${RESPONSE_STATUSES.join(", ")}` }),
      "success",
    ),
    result: z._default(z.string(), ""),
    error: z._default(z.nullable(z.string()), null),
  }),
);

const LIST_STATES = [
  "requests",
  "pending",
  "processing",
  "claimed",
  "responses",
  "archive",
  "done",
  "rejected",
] as const;

export const listInput = lazy(() =>
  z.object({
    channel: channelName(),
    as: z.optional(subscriberName()),
    state: z.pipe(
      z._default(
        z.enum(LIST_STATES, { error: "unknown state: use requests, processing, responses, archive or rejected" }),
        "requests",
      ),
      z.transform((s: (typeof LIST_STATES)[number]): ListState => STATE_ALIASES[s] ?? (s as ListState)),
    ),
    limit: z._default(z.int().check(z.positive()), 20),
    oldestFirst: z._default(z.boolean(), false),
  }),
);

const STATE_ALIASES: Record<string, ListState> = { pending: "requests", claimed: "processing", done: "archive" };

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
  if (url !== undefined && url !== "") {
    if (!/^(nats|tls):\/\//.test(url)) {
      throw new AbqError("E_USAGE", `'${url.replace(/\/\/[^@/]*@/, "//***@")}' is not a NATS URL`, {
        hint: "use nats://host:port, or unset ABQ_URL to use the local bus",
      });
    }
    // Loaded only when asked for, so filesystem-only use never pays for the NATS client.
    const { NatsTransport } = await import("../nats/transport.ts");
    return { transport: await NatsTransport.open({ url, home: opts.home, agent }), owned: true };
  }
  return {
    transport: new FsTransport({ home: opts.home, fsync: opts.fsync, agent, ownerPid: opts.ownerPid }),
    owned: true,
  };
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
