/**
 * How a tool is declared and served: its spec, the schema it advertises, its result and error shapes.
 *
 * Results are JSON text (and the same object as structuredContent): what the CLI prints with `--json`.
 * Failures are tool errors whose text is `<code>: <message> (<hint>)`, the CLI's error line with the
 * `AbqError` code in front; a hint that names a CLI command names the tool argument instead where an
 * agent has one (a missing channel: `create: true`, or abq_channel_create).
 */
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z as classic } from "zod";
import { parseInput } from "../api/options.ts";
import { AbqError, isAbqError } from "../protocol/errors.ts";
import * as z from "../protocol/zod.ts";

export interface ToolSpec<S extends z.ZodMiniObject> {
  description: string;
  input: S;
  annotations?: { readOnlyHint?: boolean; destructiveHint?: boolean; idempotentHint?: boolean };
  run: (args: z.output<S>, extra: ToolExtra) => Promise<object>;
}

export interface ToolExtra {
  signal: AbortSignal;
  /** Sends a progress notification when the client asked for them (a `progressToken`). */
  progress: (message: string) => void;
  /**
   * While a wait is silent, sends `note()` as a progress notification every PROGRESS_EVERY_MS, so a
   * client that resets its timeout on progress keeps the call alive. Returns the function that stops it.
   */
  keepAlive: (note: () => string) => () => void;
}

/** Well under the 10 s the issue asks for, and under the SDK client's 60 s default timeout. */
export const PROGRESS_EVERY_MS = 5_000;

/** Collects tool specs by name; `serve` registers them all. */
export class ToolSet {
  readonly specs: Record<string, ToolSpec<z.ZodMiniObject>> = {};

  add<S extends z.ZodMiniObject>(name: string, spec: ToolSpec<S>): void {
    this.specs[name] = spec;
  }

  serve(server: McpServer): string[] {
    for (const [name, spec] of Object.entries(this.specs)) {
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
          const keepAlive = (note: () => string): (() => void) => {
            if (progressToken === undefined) return () => undefined;
            const timer = setInterval(() => progress(note()), PROGRESS_EVERY_MS);
            timer.unref();
            return () => clearInterval(timer);
          };
          try {
            return ok(await spec.run(parseInput(spec.input, args), { signal: extra.signal, progress, keepAlive }));
          } catch (err) {
            return toolError(toolHint(err, "create" in spec.input.shape));
          }
        },
      );
    }
    return Object.keys(this.specs);
  }
}

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

/**
 * A missing channel's hint, worded for a tool caller: the CLI's says `abq channel create x`, which an
 * agent holding only the MCP tools cannot run.
 */
function toolHint(err: unknown, hasCreate: boolean): unknown {
  if (!isAbqError(err) || err.code !== "E_NO_CHANNEL") return err;
  const name = /'([^']*)'/.exec(err.message)?.[1] ?? "<name>";
  const hint = hasCreate
    ? "pass create: true to create it"
    : `create it with the abq_channel_create tool (name: "${name}")`;
  return new AbqError(err.code, err.message, { hint, cause: err });
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
