/**
 * The input schemas of the MCP tools: arguments named like the CLI's flags (snake_case), each field taken
 * from the library's own zod schema (src/api/options.ts) so a tool accepts exactly what the call does.
 */
import { describeListStates } from "../lifecycle/states.ts";
import {
  askInput,
  claimRefInput,
  listInput,
  recvInput,
  respondInput,
  secondsInput,
  sendInput,
} from "../api/options.ts";
import * as z from "../protocol/zod.ts";
import { described as d } from "../protocol/zod.ts";

// Channel arguments also take addresses (@self, @parent, an agent's name: src/mcp/address.ts), resolved
// before the name is validated; so tools take a plain string and let the call check it. This text is
// repeated in every tool that takes a channel, so it stays short.
export const channel = d(
  z.string(),
  "channel (1-64 of a-z 0-9 . _ -), or an inbox: @self (yours), @parent (main branch's), an agent's name or unique suffix (api/main)",
);
const as = d(recvInput().shape.as, "act on this topic subscriber's own copies");
export const id = d(respondInput().shape.id, "message id, req_<hex>");
const lease = d(
  claimRefInput().shape.lease,
  "the lease token abq_recv returned (lease.token): refuse with E_CONFLICT, changing nothing, if the claim was taken over",
);

const attachments = d(
  z.optional(z.array(z.string()).check(z.maxLength(64))),
  "local file paths to send by reference; results give each attachment's local path",
);

export const SendTool = z.strictObject({
  channel,
  type: d(sendInput().shape.type, "signal (a notice), command (do this), eval (compute this), status (report)"),
  content: d(sendInput().shape.content, "the payload text (often JSON)"),
  ttl: d(
    sendInput().shape.ttl,
    "seconds the message stays valid; 0 = never (default: the channel's ttl_s, 0 unless set)",
  ),
  reply_to: d(z.optional(z.string()), "channel (or @self) that also gets the answer"),
  create: d(sendInput().shape.create, "create the channel if it does not exist"),
  attachments,
});

export const AskTool = z.extend(SendTool, {
  timeout: d(
    askInput().shape.timeout,
    "seconds to wait for the answer; then the result says answered: false (keep it below your client's tool timeout)",
  ),
});

export const RecvTool = z.strictObject({
  channel,
  as,
  wait: d(recvInput().shape.wait, "wait for a message to arrive (up to timeout)"),
  timeout: d(recvInput().shape.timeout, "seconds to wait with wait: true"),
});

export const RespondTool = z.strictObject({
  channel,
  id,
  as,
  lease,
  status: d(respondInput().shape.status, "success, error, or pending (a progress note; keeps the message claimed)"),
  result: d(respondInput().shape.result, "the answer text"),
  error: d(respondInput().shape.error, "what went wrong, with status: error"),
  attachments,
});

export const AckTool = z.strictObject({ channel, id, as, lease });

export const ReleaseTool = z.strictObject({
  channel,
  id,
  as,
  lease,
  delay: d(
    z.optional(secondsInput()),
    "seconds before it may be claimed again (it waits in the delayed state); default 0. Not a failed attempt",
  ),
});

export const LsTool = z.strictObject({
  channel,
  state: d(listInput().shape.state, `one of ${describeListStates()}; default requests`),
  limit: d(listInput().shape.limit, "most messages to return"),
  oldest: d(listInput().shape.oldestFirst, "oldest first (default newest first)"),
  as,
});

export const CancelTool = z.strictObject({ channel, id, as });

const optionalBool = (text: string): z.ZodMiniOptional<z.ZodMiniBoolean> => d(z.optional(z.boolean()), text);

export const RequeueTool = z.strictObject({
  channel: d(z.optional(channel), "one channel (default: all)"),
  id: z.optional(id),
  dead_owners: optionalBool("also claims whose owner process on this host has exited"),
  from_dead: optionalBool("revive dead letters instead of requeueing claims"),
  dry_run: optionalBool("say what would happen, change nothing"),
});

export const ShowTool = z.strictObject({
  id,
  channel: d(z.optional(channel), "look only in this channel (default: all)"),
});

export const ChannelCreateTool = z.strictObject({
  name: d(z.string(), "channel name: 1-64 of a-z 0-9 . _ -"),
  description: d(z.optional(z.string()), "what the channel is for"),
  topic: d(z._default(z.boolean(), false), "a topic: every subscriber gets its own copy of each message"),
});

const text = (about: string): z.ZodMiniOptional<z.ZodMiniString> => d(z.optional(z.string()), about);

export const SearchTool = z.strictObject({
  from: text("sender: an agent identity or suffix (api/main)"),
  channel: d(z.optional(channel), "one channel (default: all)"),
  since: text("sent within a duration (10m, 7d) or since an ISO time"),
  text: text("content or answer contains this (any case)"),
  thread: d(z.optional(id), "a thread id: its first message's id"),
  limit: d(z.optional(z.int().check(z.minimum(1), z.maximum(1000))), "most matches (default 50)"),
});

export const NoArgs = z.strictObject({});
