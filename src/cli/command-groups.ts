/**
 * Every command word of the CLI, under the heading `abq --help` lists it, with the module that defines
 * it. Kept apart from main.ts so adding a command touches this list only.
 */
import type { Command } from "commander";
import { registerAsk } from "./commands/ask.ts";
import { registerAck, registerRelease, registerRenew, registerTerm } from "./commands/claim-acts.ts";
import { registerCancel } from "./commands/cancel.ts";
import { registerChannel } from "./commands/channel.ts";
import { registerCheck } from "./commands/check.ts";
import { registerCompletion } from "./commands/completion.ts";
import { registerDead } from "./commands/dead.ts";
import { registerHandlers } from "./commands/handlers.ts";
import { registerHeartbeat } from "./commands/heartbeat.ts";
import { registerInit } from "./commands/init.ts";
import { registerKeygen } from "./commands/keygen.ts";
import { registerLs } from "./commands/ls.ts";
import { registerMcp } from "./commands/mcp.ts";
import { registerPurge } from "./commands/purge.ts";
import { registerRecv } from "./commands/recv.ts";
import { registerRequeue } from "./commands/requeue.ts";
import { registerRespond } from "./commands/respond.ts";
import { registerSchema } from "./commands/schema.ts";
import { registerSend } from "./commands/send.ts";
import { registerShow } from "./commands/show.ts";
import { registerStatus } from "./commands/status.ts";
import { registerSubscribe } from "./commands/subscribe.ts";
import { registerSweep } from "./commands/sweep.ts";
import { registerTail } from "./commands/tail.ts";
import { registerSearch } from "./commands/search.ts";
import { registerThread } from "./commands/thread.ts";
import { registerTrace } from "./commands/trace.ts";
import { registerWait } from "./commands/wait.ts";
import { registerWatch } from "./commands/watch.ts";
import { registerBridge } from "./commands/bridge.ts";
import { registerAttachment } from "./commands/attachment.ts";
import { registerUi } from "./commands/ui.ts";
import { registerKv } from "./commands/kv.ts";
import { registerLock } from "./commands/lock.ts";
import { registerReserve } from "./commands/reserve.ts";
import { registerShare } from "./commands/share.ts";
import { registerKeys } from "./commands/keys.ts";

export type Register = (program: Command) => void;

/**
 * Every command word, under the heading `abq --help` lists it, in that order, with the module that defines
 * it (heartbeat's also defines agents, subscribe's unsubscribe).
 */
export const GROUPS: ReadonlyArray<readonly [string, Readonly<Record<string, Register>>]> = [
  [
    "Messaging:",
    {
      send: registerSend,
      ask: registerAsk,
      recv: registerRecv,
      respond: registerRespond,
      ack: registerAck,
      release: registerRelease,
      renew: registerRenew,
      term: registerTerm,
      cancel: registerCancel,
      wait: registerWait,
      attachment: registerAttachment,
    },
  ],
  [
    "Workers:",
    {
      watch: registerWatch,
      bridge: registerBridge,
      subscribe: registerSubscribe,
      unsubscribe: registerSubscribe,
      tail: registerTail,
      handlers: registerHandlers,
    },
  ],
  ["Supervision:", { requeue: registerRequeue, sweep: registerSweep, dead: registerDead, trace: registerTrace }],
  [
    "Inspection:",
    {
      status: registerStatus,
      ls: registerLs,
      show: registerShow,
      thread: registerThread,
      search: registerSearch,
      ui: registerUi,
      schema: registerSchema,
    },
  ],
  ["Coordination:", { kv: registerKv, lock: registerLock, reserve: registerReserve }],
  ["Agents:", { heartbeat: registerHeartbeat, agents: registerHeartbeat, mcp: registerMcp, keygen: registerKeygen }],
  ["Sharing:", { share: registerShare, unshare: registerShare, shares: registerShare, keys: registerKeys }],
  [
    "Admin:",
    {
      init: registerInit,
      channel: registerChannel,
      purge: registerPurge,
      check: registerCheck,
      completion: registerCompletion,
    },
  ],
];
