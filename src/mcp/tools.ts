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
import { z } from "zod";
import { count, createChannel, list, listChannels, show, status } from "../api/channels.ts";
import { ask, cancel, recv, respond, send } from "../api/messages.ts";
import { requeue } from "../api/supervise.ts";
import {
  AskInput,
  type CommonOptions,
  ListInput,
  parseInput,
  RecvInput,
  RespondInput,
  SendInput,
} from "../api/options.ts";
import { resolveHome } from "../channel/paths.ts";
import { resolveIdentity } from "../identity/index.ts";
import { isAbqError } from "../protocol/errors.ts";
import type { Request, Response } from "../protocol/schema.ts";

// Channel arguments also take `@self` / `@parent`, which the library resolves before it validates the
// name; so tools take the input side of the library's channel schema (a string) and let the call check it.
const channel = SendInput.shape.channel.in.describe(
  "channel name (1-64 of a-z 0-9 . _ -), or @self (your own inbox) / @parent (the main branch's inbox)",
);
const as = RecvInput.shape.as.describe("act on this topic subscriber's own copies");
const id = RespondInput.shape.id.describe("message id, req_<hex>");

const SendTool = z.strictObject({
  channel,
  type: SendInput.shape.type.describe("signal (a notice), command (do this), eval (compute this), status (report)"),
  content: SendInput.shape.content.describe("the payload text (often JSON)"),
  ttl: SendInput.shape.ttl.describe("seconds the message stays valid (default: the channel's, 300)"),
  reply_to: SendInput.shape.replyTo.unwrap().in.optional().describe("channel (or @self) that also gets the answer"),
  create: SendInput.shape.create.describe("create the channel if it does not exist"),
});

const AskTool = SendTool.extend({
  timeout: AskInput.shape.timeout.describe(
    "seconds to wait for the answer; then the result says answered: false (keep it below your client's tool timeout)",
  ),
});

const RecvTool = z.strictObject({
  channel,
  as,
  wait: RecvInput.shape.wait.describe("wait for a message to arrive (up to timeout)"),
  timeout: RecvInput.shape.timeout.describe("seconds to wait with wait: true"),
});

const RespondTool = z.strictObject({
  channel,
  id,
  as,
  status: RespondInput.shape.status.describe("success, error, or pending (a progress note; keeps the message claimed)"),
  result: RespondInput.shape.result.describe("the answer text"),
  error: RespondInput.shape.error.describe("what went wrong, with status: error"),
});

const LsTool = z.strictObject({
  channel,
  state: ListInput.shape.state.describe(
    "requests (alias pending), processing (claimed), responses, archive (done) or rejected",
  ),
  limit: ListInput.shape.limit.describe("most messages to return"),
  oldest: ListInput.shape.oldestFirst.describe("oldest first (default newest first)"),
  as,
});

const CancelTool = z.strictObject({ channel, id, as });

const RequeueTool = z.strictObject({
  channel: channel.optional().describe("one channel (default: all)"),
  id: id.optional(),
  dead_owners: z.boolean().optional().describe("also claims whose owner process on this host has exited"),
  from_dead: z.boolean().optional().describe("revive dead letters instead of requeueing claims"),
  dry_run: z.boolean().optional().describe("say what would happen, change nothing"),
});

const ShowTool = z.strictObject({
  id,
  channel: channel.optional().describe("look only in this channel (default: all)"),
});

const ChannelCreateTool = z.strictObject({
  name: z.string().describe("channel name: 1-64 of a-z 0-9 . _ -"),
  description: z.string().optional().describe("what the channel is for"),
  topic: z.boolean().default(false).describe("a topic: every subscriber gets its own copy of each message"),
});

const NoArgs = z.strictObject({});

/**
 * The SDK checks arguments against a tool's schema before calling it, and words failures its own way
 * ("Input validation error: …", without a code). So each tool is registered with a schema that advertises
 * exactly the JSON Schema of its zod input but accepts any object, and the tool validates with
 * `parseInput` (what the library and so the CLI use): a bad argument comes back as the CLI words it.
 */
function advertised(schema: z.ZodObject): z.ZodObject {
  const json: Record<string, unknown> = { ...z.toJSONSchema(schema, { io: "input", target: "draft-7" }) };
  delete json["$schema"]; // the SDK states its own
  return z.looseObject({}).meta(json);
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

interface ToolSpec<S extends z.ZodObject> {
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
  const tools: Record<string, ToolSpec<z.ZodObject>> = {};
  const add = <S extends z.ZodObject>(name: string, spec: ToolSpec<S>): void => {
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
