/**
 * `abq mcp`: the bus as MCP tools, over stdio, with the official SDK. No daemon: the client starts this
 * process, and every tool call is one library call on the shared files (the message tools share one open
 * transport, src/mcp/session.ts). The caller's identity is the git context of the working directory the
 * client starts us in (or ABQ_AGENT), as for the CLI.
 *
 * While it serves, the server announces its agent (a heartbeat on its inbox, src/liveness/presence.ts),
 * so other agents see it in `abq agents`, `check --alive` and abq_status while it waits in a tool call.
 *
 * When a signing key is registered to the server's identity (`abq keygen`), every message it sends is
 * signed with it (`sign` in the options each tool passes on to `send`): a channel with an allowlist
 * then accepts the session's messages. The key is looked up once, at start: a key made later needs a
 * restart, and one revoked meanwhile makes sends fail rather than go out unsigned.
 *
 * stdout carries the protocol and nothing else; nothing here prints.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { CommonOptions } from "../api/options.ts";
import { resolveIdentity } from "../identity/index.ts";
import { signingKey } from "../api/security.ts";
import { type Presence, startPresence } from "../liveness/presence.ts";
import { resolveHome } from "../spool/paths.ts";
import { registerTools } from "./tools.ts";
import { createStdioTransport } from "./stdio.ts";
import { Session } from "./session.ts";

const INSTRUCTIONS = `abq is a message bus between agents on plain files. Channels are queues; a message has a type
(signal, command, eval, status) and text content. abq_send delivers; abq_recv claims the oldest pending
message (exactly one claimer gets it) and abq_respond answers it; abq_ask sends and waits for the answer.
Your own inbox is the channel @self; another agent's inbox is its name (github.com/org/repo/branch) or a
unique suffix of it (api/main). abq_status shows who you are, the agents the bus knows, and what is pending.`;

export function createServer(common: CommonOptions, version: string, session = new Session(common)): McpServer {
  const server = new McpServer({ name: "abq", version }, { instructions: INSTRUCTIONS });
  registerTools(server, common, session);
  return server;
}

/**
 * Serves on stdin/stdout until the client goes away (stdin ends) or the transport closes. Requests
 * still being handled when stdin ends are answered first: `echo '<request>' | abq mcp` gets its reply,
 * and a send is never done without saying so.
 */
export async function serveStdio(common: CommonOptions, version: string): Promise<void> {
  const signed = await withSigning(common);
  // The bus connection the message tools share (session.ts), closed when the session ends.
  const session = new Session(signed);
  const server = createServer(signed, version, session);
  const transport = createStdioTransport();
  let closedByTransport = false;
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => {
      closedByTransport = true;
      resolve();
    };
    process.stdin.once("end", resolve);
    process.stdin.once("close", resolve);
  });
  const presence = await announce(common);
  const stopOnSignal = removeOnSignal(presence);
  try {
    await server.connect(transport);
    const inFlight = trackRequests(transport);
    await closed;
    if (!closedByTransport) await inFlight.drained();
    await server.close();
  } finally {
    stopOnSignal();
    await session.close();
    await presence?.stop();
  }
}

/** `common` with `sign: true` when the server's identity has a usable key (send and ask read it). */
async function withSigning(common: CommonOptions): Promise<CommonOptions> {
  // ABQ_SIGNING_KEY is a request to sign: if that key cannot be used, sends fail and say why.
  const asked = (process.env["ABQ_SIGNING_KEY"] ?? "") !== "";
  const key = asked ? "ABQ_SIGNING_KEY" : await signingKey(common).catch(() => undefined);
  const options: CommonOptions & { sign?: boolean } = { ...common, ...(key !== undefined ? { sign: true } : {}) };
  return options;
}

/** Starts this session's heartbeat; a server that cannot tell who it is (or where the bus is) serves anyway. */
async function announce(common: CommonOptions): Promise<Presence | undefined> {
  try {
    const { agent } = await resolveIdentity({ cwd: common.cwd });
    const presence = startPresence({ home: resolveHome(common), agent });
    // Visible by the time the client is connected (a few small file writes; a failure only skips it).
    await presence.ready;
    return presence;
  } catch {
    return undefined;
  }
}

/**
 * A client that stops the server with SIGTERM (the SDK's does when stdin's end is not enough) or a
 * Ctrl-C: remove the heartbeat, then die of the same signal, as without this handler. (A SIGKILLed
 * server leaves its file, which stops counting at once: its pid is gone.)
 */
function removeOnSignal(presence: Presence | undefined): () => void {
  const signals = ["SIGINT", "SIGTERM"] as const;
  const handler = (signal: NodeJS.Signals): void => {
    remove();
    void (presence?.stop() ?? Promise.resolve()).finally(() => process.kill(process.pid, signal));
  };
  const remove = (): void => {
    for (const s of signals) process.off(s, handler);
  };
  for (const s of signals) process.on(s, handler);
  return remove;
}

/** Counts requests the server has not answered yet (a request has an id and a method; a reply has none). */
function trackRequests(transport: Transport): { drained: () => Promise<void> } {
  const open = new Set<string | number>();
  let wake: (() => void) | undefined;
  const onmessage = transport.onmessage;
  transport.onmessage = (message, extra) => {
    if ("method" in message && "id" in message && message.id !== undefined) open.add(message.id);
    onmessage?.(message, extra);
  };
  const send = transport.send.bind(transport);
  transport.send = async (message, options) => {
    try {
      return await send(message, options);
    } finally {
      if (!("method" in message) && "id" in message && message.id !== undefined) open.delete(message.id);
      if (open.size === 0) wake?.();
    }
  };
  return {
    drained: () => (open.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => (wake = resolve))),
  };
}
