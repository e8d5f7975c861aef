/**
 * docs/agents.md's copy-paste Claude Code setup stays true: its `.claude/settings.json` and `.mcp.json`
 * have the shapes Claude Code documents, each hook command (run through the library function the CLI
 * calls, with the event's stdin from test/fixtures/agents) prints the JSON its event expects, and, once
 * the CLI takes `check --format`, the commands run as written give the same output.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { HOOK_EVENTS, type HookEvent, inboxHook } from "../src/index.ts";
import { type Bus, CLI, makeBus, makeRepo, parseJson, ROOT } from "./helpers.ts";
import { API, APP, HOOK_INPUT, abqOk } from "./fixtures/agents/agents.ts";

/** The fenced block after `<!-- file: <name> -->` in docs/agents.md, parsed. */
function docFile(name: string): unknown {
  const text = readFileSync(join(ROOT, "docs", "agents.md"), "utf8");
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const m = new RegExp(`<!-- file: ${escaped} -->\\s*\\n\`\`\`json\\n([^]*?)\\n\`\`\``).exec(text);
  expect(m, `docs/agents.md has no block for ${name}`).not.toBeNull();
  return JSON.parse(m?.[1] ?? "null") as unknown;
}

/** The shapes Claude Code documents for settings hooks, .mcp.json, and a command hook's JSON output. */
const SHAPES = {
  settings: {
    type: "object",
    required: ["hooks"],
    properties: {
      hooks: {
        type: "object",
        propertyNames: { enum: [...HOOK_EVENTS] },
        additionalProperties: {
          type: "array",
          items: {
            type: "object",
            required: ["hooks"],
            additionalProperties: false,
            properties: {
              matcher: { type: "string" },
              hooks: {
                type: "array",
                minItems: 1,
                items: {
                  type: "object",
                  required: ["type", "command"],
                  additionalProperties: false,
                  properties: { type: { const: "command" }, command: { type: "string" }, timeout: { type: "number" } },
                },
              },
            },
          },
        },
      },
    },
  },
  mcp: {
    type: "object",
    required: ["mcpServers"],
    additionalProperties: false,
    properties: {
      mcpServers: {
        type: "object",
        additionalProperties: {
          type: "object",
          required: ["command"],
          additionalProperties: false,
          properties: {
            type: { const: "stdio" },
            command: { type: "string" },
            args: { type: "array", items: { type: "string" } },
            env: { type: "object", additionalProperties: { type: "string" } },
          },
        },
      },
    },
  },
  context: {
    type: "object",
    required: ["hookSpecificOutput"],
    additionalProperties: false,
    properties: {
      hookSpecificOutput: {
        type: "object",
        required: ["hookEventName", "additionalContext"],
        additionalProperties: false,
        properties: {
          hookEventName: { enum: ["SessionStart", "UserPromptSubmit", "PostToolUse"] },
          additionalContext: { type: "string", minLength: 1 },
        },
      },
    },
  },
  stop: {
    type: "object",
    required: ["decision", "reason"],
    additionalProperties: false,
    properties: { decision: { const: "block" }, reason: { type: "string", minLength: 1 } },
  },
};

const ajv = new Ajv2020({ strict: true, allErrors: true });
function valid(shape: keyof typeof SHAPES, value: unknown): void {
  const check = ajv.getSchema(shape) ?? (ajv.addSchema(SHAPES[shape], shape), ajv.getSchema(shape)!);
  expect(check(value), JSON.stringify(check.errors)).toBe(true);
}

/** Does the built CLI take `check --format` yet? (The flags are wired in src/cli; until then, the library.) */
const cliHasHookFormat = /--format/.test(
  spawnSync(process.execPath, [CLI, "check", "--help"], { encoding: "utf8" }).stdout,
);

describe("docs/agents.md: the Claude Code setup", () => {
  const settings = docFile(".claude/settings.json") as {
    hooks: Record<HookEvent, { hooks: { command: string }[] }[]>;
  };
  const commands = Object.entries(settings.hooks).flatMap(([event, groups]) =>
    groups.flatMap((g) => g.hooks.map((h) => ({ event: event as HookEvent, command: h.command }))),
  );

  it("settings.json and .mcp.json have the documented shapes, with one hook per event", () => {
    valid("settings", settings);
    const mcp = docFile(".mcp.json");
    valid("mcp", mcp);
    expect(mcp).toMatchObject({ mcpServers: { abq: { command: "abq", args: ["mcp"] } } });
    expect(commands.map((c) => c.event).sort()).toEqual([...HOOK_EVENTS].sort());
    for (const { event, command } of commands) {
      expect(command).toBe(`abq check --inbox @self --format claude-code --event ${event}`);
    }
  });

  /** A real repository (github.com/acme/app, branch main) whose agent is the hooks' @self. */
  function project(bus: Bus): string {
    const dir = join(bus.root, "app");
    mkdirSync(dir);
    return makeRepo(dir, { remote: "https://github.com/acme/app.git" });
  }

  /** The options the hook command's flags give (`--inbox C --format F --event E`). */
  function hookOptions(command: string): { channel: string; format: string; event: string } {
    const args = command.split(" ");
    const flag = (name: string): string => args[args.indexOf(name) + 1] ?? "";
    expect(args.slice(0, 2)).toEqual(["abq", "check"]);
    return { channel: flag("--inbox"), format: flag("--format"), event: flag("--event") };
  }

  it("each hook command, given its event's stdin, prints what the event expects, and nothing without mail", async () => {
    const bus = makeBus({ ABQ_AGENT: "" });
    const cwd = project(bus);
    for (const { event, command } of commands) {
      const stdin = JSON.stringify({ ...HOOK_INPUT[event], cwd });
      const empty = await inboxHook({ home: bus.home, cwd, ...hookOptions(command), stdin });
      expect(empty, event).toEqual({ stdout: "", exitCode: 0 });
    }
    await abqOk(bus, ["send", APP, "command", "rebase on main"], API);
    for (const { event, command } of commands) {
      const stdin = JSON.stringify({ ...HOOK_INPUT[event], cwd });
      const out = await inboxHook({ home: bus.home, cwd, ...hookOptions(command), stdin });
      expect(out.exitCode).toBe(0);
      expect(out.stdout.endsWith("\n") && !out.stdout.slice(0, -1).includes("\n")).toBe(true);
      const json = parseJson(out.stdout);
      valid(event === "Stop" ? "stop" : "context", json);
      expect(out.stdout).toContain(`command from ${API}: rebase on main`);
      const active = JSON.stringify({ ...HOOK_INPUT[event], cwd, stop_hook_active: true });
      const again = await inboxHook({ home: bus.home, cwd, ...hookOptions(command), stdin: active });
      expect(again.stdout === "").toBe(event === "Stop");
    }
  });

  it.runIf(cliHasHookFormat)("the hook commands run as written through the CLI", async () => {
    const bus = makeBus({ ABQ_AGENT: "" });
    const cwd = project(bus);
    await abqOk(bus, ["send", APP, "command", "rebase on main"], API);
    for (const { event, command } of commands) {
      const input = JSON.stringify({ ...HOOK_INPUT[event], cwd });
      const r = await bus.abq(command.split(" ").slice(1), { cwd, input });
      expect(r.code, r.stderr).toBe(0);
      const lib = await inboxHook({ home: bus.home, cwd, ...hookOptions(command), stdin: input });
      expect(r.stdout).toBe(lib.stdout);
    }
  });
});
