/**
 * The MCP tools of `abq mcp`: one per CLI command an agent needs, named `abq_<command>`, with arguments
 * named like the CLI's flags and input schemas built from the library's own zod schemas (src/api/options.ts).
 *
 * Results are JSON text (and the same object as structuredContent): what the CLI prints with `--json`.
 * Failures are tool errors whose text is `<code>: <message> (<hint>)`, the CLI's error line with the
 * `AbqError` code in front. Outcomes that are not failures for an agent come back as data: `ask` without
 * an answer in time (`answered: false`), `recv` on an empty queue (`claimed: false`), an error answer.
 */
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z as classic } from "zod";
import { count, createChannel, list, listChannels, show, status } from "../api/channels.ts";
import { ask, cancel, recv, respond, send } from "../api/messages.ts";
import { requeue } from "../api/supervise.ts";
import {
  askInput,
  type CommonOptions,
  listInput,
  parseInput,
  recvInput,
  respondInput,
  sendInput,
} from "../api/options.ts";
import { resolveHome } from "../channel/paths.ts";
import { resolveIdentity } from "../identity/index.ts";
import { isAbqError } from "../protocol/errors.ts";
import type { Request, Response } from "../protocol/schema.ts";
import * as z from "../protocol/zod.ts";
import { described as d } from "../protocol/zod.ts";

// Channel arguments also take `@self` / `@parent`, which the library resolves before it validates the
// name; so tools take a plain string and let the call check it.
const channel = d(
  z.string(),
  "channel name (1-64 of a-z 0-9 . _ -), or @self (your own inbox) / @parent (the main branch's inbox)",
);
const as = d(recvInput().shape.as, "act on this topic subscriber's own copies");
const id = d(respondInput().shape.id, "message id, req_<hex>");

const SendTool = z.strictObject({
  channel,
  type: d(sendInput().shape.type, "signal (a notice), command (do this), eval (compute this), status (report)"),
  content: d(sendInput().shape.content, "the payload text (often JSON)"),
  ttl: d(sendInput().shape.ttl, "seconds the message stays valid (default: the channel's, 300)"),
  reply_to: d(z.optional(z.string()), "channel (or @self) that also gets the answer"),
  create: d(sendInput().shape.create, "create the channel if it does not exist"),
});

const AskTool = z.extend(SendTool, {
  timeout: d(
    askInput().shape.timeout,
    "seconds to wait for the answer; then the result says answered: false (keep it below your client's tool timeout)",
  ),
});

const RecvTool = z.strictObject({
  channel,
  as,
  wait: d(recvInput().shape.wait, "wait for a message to arrive (up to timeout)"),
  timeout: d(recvInput().shape.timeout, "seconds to wait with wait: true"),
});

const RespondTool = z.strictObject({
  channel,
  id,
  as,
  status: d(respondInput().shape.status, "success, error, or pending (a progress note; keeps the message claimed)"),
  result: d(respondInput().shape.result, "the answer text"),
  error: d(respondInput().shape.error, "what went wrong, with status: error"),
});

const LsTool = z.strictObject({
  channel,
  state: d(
    listInput().shape.state,
    "requests (alias pending), processing (claimed), responses, archive (done) or rejected",
  ),
  limit: d(listInput().shape.limit, "most messages to return"),
  oldest: d(listInput().shape.oldestFirst, "oldest first (default newest first)"),
  as,
});

const CancelTool = z.strictObject({ channel, id, as });

const optionalBool = (text: string): z.ZodMiniOptional<z.ZodMiniBoolean> => d(z.optional(z.boolean()), text);

const RequeueTool = z.strictObject({
  channel: d(z.optional(channel), "one channel (default: all)"),
  id: z.optional(id),
  dead_owners: optionalBool("also claims whose owner process on this host has exited"),
  from_dead: optionalBool("revive dead letters instead of requeueing claims"),
  dry_run: optionalBool("say what would happen, change nothing"),
});

const ShowTool = z.strictObject({
  id,
  channel: d(z.optional(channel), "look only in this channel (default: all)"),
});

const ChannelCreateTool = z.strictObject({
  name: d(z.string(), "channel name: 1-64 of a-z 0-9 . _ -"),
  description: d(z.optional(z.string()), "what the channel is for"),
  topic: d(z._default(z.boolean(), false), "a topic: every subscriber gets its own copy of each message"),
});

const NoArgs = z.strictObject({});

/**
 * The SDK checks arguments against a tool's schema before calling it, and words failures its own way
 * ("Input validation error: …", without a code). So each tool is registered with a schema that advertises
 * exactly the JSON Schema of its zod input but accepts any object, and the tool validates with
 * `parseInput` (what the library and so the CLI use): a bad argument comes back as the CLI words it.
 * The registered schema is classic zod, which is what the SDK reads.
 */
function advertised(schema: z.ZodMiniObject): classic.ZodObject {
  const json: Record<string, unknown> = { ...z.toJSONSchema(schema, { io: "input", target: "draft-7" }) };
  delete json["$schema"]; // the SDK states its own
  return classic.looseObject({}).meta(json);
}

function ok(value: object): CallToolResult {
  return { content: [{ type: "text", text: JSON.stringify(value) }], structuredContent: { ...value } };
}

/** The CLI's error line, with the stable code in front: `E_NO_CHANNEL: no channel 'x' (create it with: …)`. */
export function toolError(err: unknown): CallToolResult {
  if (isAbqError(err)) {
    const text = `${err.code}: ${err.message}${err.hint !== undefined ? ` (${err.hint})` : ""}`;
    return {
      isError: true,
      content: [{ type: "text", text }],
      structuredContent: { error: { code: err.code, message: err.message, hint: err.hint } },
    };
  }
  const detail = err instanceof Error ? err.message : String(err);
  return { isError: true, content: [{ type: "text", text: `internal error, this is a bug: ${detail}` }] };
}

interface ToolSpec<S extends z.ZodMiniObject> {
  description: string;
  input: S;
  annotations?: { readOnlyHint?: boolean; destructiveHint?: boolean; idempotentHint?: boolean };
  run: (args: z.output<S>, extra: ToolExtra) => Promise<object>;
}

interface ToolExtra {
  signal: AbortSignal;
  /** Sends a progress notification when the client asked for them (a `progressToken`). */
  progress: (message: string) => void;
}

/** Registers every tool on `server`; `common` carries `--home`. The caller's identity is `cwd`'s git context. */
export function registerTools(server: McpServer, common: CommonOptions): string[] {
  const tools: Record<string, ToolSpec<z.ZodMiniObject>> = {};
  const add = <S extends z.ZodMiniObject>(name: string, spec: ToolSpec<S>): void => {
    tools[name] = spec;
  };

  add("abq_send", {
    description: "Send a message to a channel (like `abq send`). Returns the stored message; its id is the handle.",
    input: SendTool,
    run: async (a) => send({ ...common, ...a, replyTo: a.reply_to }),
  });

  add("abq_ask", {
    description:
      "Send a message and wait for its answer (like `abq ask`). Returns {answered: true, response} — " +
      "response.status is success or error — or, when no answer came within timeout, {answered: false, id}: " +
      "the request stays queued (look later with abq_show, or withdraw it with abq_cancel).",
    input: AskTool,
    run: async (a, extra) => {
      let sent: Request | undefined;
      try {
        const { request, response } = await ask({
          ...common,
          ...a,
          replyTo: a.reply_to,
          signal: extra.signal,
          onSent: (r) => (sent = r),
          onPending: (note: Response) => extra.progress(note.result),
        });
        return { answered: true, id: request.id, channel: request.to, response };
      } catch (err) {
        if (!isAbqError(err) || err.code !== "E_TIMEOUT" || sent === undefined) throw err;
        return {
          answered: false,
          id: sent.id,
          channel: sent.to,
          timeout: a.timeout,
          note: `no answer within ${a.timeout}s; the request stays queued: look later with abq_show, or withdraw it with abq_cancel`,
        };
      }
    },
  });

  add("abq_recv", {
    description:
      "Claim the oldest pending message of a channel (like `abq recv`): it is yours to answer with abq_respond. " +
      "Returns {claimed: true, message}, or {claimed: false} when the queue is empty (or nothing came within timeout).",
    input: RecvTool,
    run: async (a, extra) => {
      try {
        const claimed = await recv({ ...common, ...a, signal: extra.signal });
        return { claimed: true, ...claimed };
      } catch (err) {
        if (!isAbqError(err) || (err.code !== "E_EMPTY" && err.code !== "E_TIMEOUT")) throw err;
        return { claimed: false, channel: a.channel, reason: err.message };
      }
    },
  });

  add("abq_respond", {
    description:
      "Answer a message you claimed (like `abq respond`). status pending sends a progress note and keeps it claimed. " +
      "Returns the stored response.",
    input: RespondTool,
    run: async (a) => respond({ ...common, ...a }),
  });

  add("abq_status", {
    description: "Who you are (your agent name and inbox) and message counts per channel (like `abq status`).",
    input: NoArgs,
    annotations: { readOnlyHint: true },
    run: async () => {
      const { inboxName } = await import("../identity/address.ts");
      const identity = await resolveIdentity({ cwd: common.cwd });
      const channels = await status(common);
      return { home: resolveHome(common), agent: identity.agent, inbox: inboxName(identity.agent), channels };
    },
  });

  add("abq_channels", {
    description: "List channels with their kind and description (like `abq channel list`).",
    input: NoArgs,
    annotations: { readOnlyHint: true },
    run: async () => ({ channels: await listChannels(common) }),
  });

  add("abq_channel_create", {
    description: "Create a channel (like `abq channel create`); creating one that exists is fine.",
    input: ChannelCreateTool,
    annotations: { idempotentHint: true },
    run: async (a) => {
      const { info, created } = await createChannel({ ...common, ...a });
      return { ...info, created };
    },
  });

  add("abq_ls", {
    description:
      "List messages of a channel in one state without claiming them (like `abq ls`): pending ones by default. " +
      "Returns {channel, state, total, messages}.",
    input: LsTool,
    annotations: { readOnlyHint: true },
    run: async (a) => {
      const query = { ...common, ...a, oldestFirst: a.oldest };
      const [entries, total] = await Promise.all([list(query), count(query)]);
      const messages = entries.map((e) => e.message ?? { id: e.id, file: e.file, problem: e.problem });
      return { channel: a.channel, state: a.state, total, messages };
    },
  });

  add("abq_show", {
    description: "Find a message in any channel and state, with its answer when it has one (like `abq show`).",
    input: ShowTool,
    annotations: { readOnlyHint: true },
    run: async (a) => show({ ...common, ...a }),
  });

  add("abq_cancel", {
    description: "Withdraw a message nobody has claimed yet (like `abq cancel`); E_CONFLICT once it is claimed.",
    input: CancelTool,
    annotations: { destructiveHint: true },
    run: async (a) => {
      await cancel({ ...common, ...a, ...(a.as !== undefined ? { as: a.as } : {}) });
      return { channel: a.channel, id: a.id, cancelled: true };
    },
  });

  add("abq_requeue", {
    description:
      "Take back claims whose worker is gone (like `abq requeue`): never a live worker's. With from_dead, revive dead " +
      "letters instead. Returns {results: [{channel, id, action, reason}]}, one entry per message.",
    input: RequeueTool,
    annotations: { destructiveHint: false },
    run: async (a) => ({
      results: await requeue({
        ...common,
        channel: a.channel,
        ids: a.id === undefined ? undefined : [a.id],
        deadOwners: a.dead_owners,
        fromDead: a.from_dead,
        dryRun: a.dry_run,
      }),
    }),
  });

  for (const [name, spec] of Object.entries(tools)) {
    server.registerTool(
      name,
      { description: spec.description, inputSchema: advertised(spec.input), annotations: spec.annotations ?? {} },
      async (args, extra) => {
        const progressToken = extra._meta?.progressToken;
        let step = 0;
        const progress = (message: string): void => {
          if (progressToken === undefined) return;
          void extra
            .sendNotification({
              method: "notifications/progress",
              params: { progressToken, progress: ++step, message },
            })
            .catch(() => undefined);
        };
        try {
          return ok(await spec.run(parseInput(spec.input, args), { signal: extra.signal, progress }));
        } catch (err) {
          return toolError(err);
        }
      },
    );
  }
  return Object.keys(tools);
}
