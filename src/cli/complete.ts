/**
 * Shell completion. `abq completion bash|zsh|fish` prints a script for the shell; the script completes
 * the command word itself (from the list it was generated with) and asks `abq __complete <words…>` for
 * everything after it: subcommands, options, and values read from the bus — channel names, message ids,
 * topic subscribers — or known to the CLI (types, statuses, states). `__complete` gets the words after
 * `abq`, the last one being the word under the cursor (maybe empty), and prints the candidates that
 * start with it, one per line; it never fails (a broken bus just completes nothing).
 */
import type { Command, Option } from "commander";
import type { CommonOptions } from "../api/options.ts";
import type * as Library from "../index.ts";
import { MESSAGE_TYPES, RESPONSE_STATUSES } from "../protocol/constants.ts";
import { SHELLS } from "./completion-scripts.ts";

/** Where the words typed so far lead: the command, its positional arguments, options given values. */
interface Position {
  cmd: Command;
  positionals: string[];
  values: Map<string, string>;
  /** The option whose value is being typed, if the word before the cursor is one that takes a value. */
  valueOf: Option | undefined;
}

/** The candidates for the last of `words`, each starting with it. */
export async function complete(program: Command, words: string[]): Promise<string[]> {
  const typed = words.slice(0, -1);
  const cur = words.at(-1) ?? "";
  const at = walk(program, typed);
  const common: CommonOptions = {
    ...(at.values.has("--home") ? { home: at.values.get("--home")! } : {}),
    ...(at.values.has("--url") ? { url: at.values.get("--url")! } : {}),
  };
  let found: readonly string[];
  if (at.valueOf !== undefined) found = await valuesFor(valueName(at.valueOf), at, common);
  else if (cur.startsWith("-")) found = optionsOf(at.cmd, program);
  else if (at.cmd.commands.length > 0 && at.positionals.length === 0) found = commandsOf(at.cmd);
  else if (at.cmd === program && at.positionals.length === 1 && at.positionals[0] === "help")
    found = commandsOf(program);
  else {
    const args = at.cmd.registeredArguments;
    const arg = args[at.positionals.length] ?? (args.at(-1)?.variadic ? args.at(-1) : undefined);
    found = arg !== undefined ? await valuesFor(arg.name(), at, common) : [];
  }
  return [...new Set(found)].filter((c) => c.startsWith(cur));
}

function walk(program: Command, typed: string[]): Position {
  const at: Position = { cmd: program, positionals: [], values: new Map(), valueOf: undefined };
  for (const word of typed) {
    if (at.valueOf !== undefined) {
      at.values.set(at.valueOf.long ?? at.valueOf.flags, word);
      at.valueOf = undefined;
    } else if (word.startsWith("-") && word.length > 1) {
      const [flag = "", inline] = word.split(/=(.*)/s, 2);
      const option = findOption(at.cmd, flag) ?? findOption(program, flag);
      if (option === undefined || !(option.required || option.optional)) continue;
      if (inline !== undefined) at.values.set(option.long ?? flag, inline);
      else at.valueOf = option;
    } else {
      const sub =
        at.positionals.length === 0
          ? at.cmd.commands.find((c) => c.name() === word || c.aliases().includes(word))
          : undefined;
      if (sub !== undefined) at.cmd = sub;
      else at.positionals.push(word);
    }
  }
  return at;
}

function findOption(cmd: Command, flag: string): Option | undefined {
  return cmd.options.find((o) => o.long === flag || o.short === flag);
}

/** `--reply-to <channel>` → "channel". */
function valueName(option: Option): string {
  return /[<[]([\w-]+)(?:\.\.\.)?[>\]]/.exec(option.flags)?.[1] ?? "";
}

function commandsOf(cmd: Command): string[] {
  const names = cmd.commands.flatMap((c) => [c.name(), ...c.aliases()]);
  return cmd.parent === null ? [...names, "help"] : names;
}

function optionsOf(cmd: Command, program: Command): string[] {
  const own = cmd.options.filter((o) => !o.hidden).map((o) => o.long ?? o.short ?? "");
  const global = cmd === program ? [] : program.options.filter((o) => !o.hidden).map((o) => o.long ?? "");
  return [...own, ...global, "--help"].filter((f) => f !== "");
}

/** What an argument or option value named `name` (`channel`, `id`, `type` …) can be, here. */
async function valuesFor(name: string, at: Position, common: CommonOptions): Promise<readonly string[]> {
  const cmdName = at.cmd.name();
  switch (name) {
    case "type":
      return MESSAGE_TYPES;
    case "status":
      return RESPONSE_STATUSES;
    case "kind":
      return ["request", "response"];
    case "shell":
      return SHELLS;
    case "state":
      return [...(await lib()).LIST_WORDS.keys()];
    case "channel":
    case "topic":
    case "inbox":
      return channels(common);
    case "name":
      // `channel create <name>` names a new channel; everywhere else a name is one that exists.
      return cmdName === "create" ? [] : channels(common);
    case "subscriber":
      return at.positionals[0] !== undefined ? subscribers(common, at.positionals[0]) : [];
    case "id":
      return ids(common, at);
    default:
      return []; // durations, counts, free text, paths: the shell's own completion (files) takes over
  }
}

function lib(): Promise<typeof Library> {
  return import("../index.ts");
}

async function channels(common: CommonOptions): Promise<string[]> {
  try {
    return (await (await lib()).listChannels(common)).map((c) => c.name);
  } catch {
    return [];
  }
}

async function subscribers(common: CommonOptions, topic: string): Promise<string[]> {
  try {
    return (await (await lib()).channelInfo({ ...common, name: topic })).subscribers ?? [];
  } catch {
    return [];
  }
}

/** States whose messages the command acts on: claimed ones for the acts on a claim, pending for cancel. */
const ID_STATES: Record<string, string[]> = {
  respond: ["processing"],
  ack: ["processing"],
  renew: ["processing"],
  release: ["processing"],
  term: ["processing"],
  cancel: ["requests"],
  thread: ["requests", "processing", "responses", "archive", "dead"],
};

/** Message ids for the command: in the channel typed before (or --channel), else in every channel. */
async function ids(common: CommonOptions, at: Position): Promise<string[]> {
  const { list } = await lib();
  const cmdName = at.cmd.name();
  const first = at.cmd.registeredArguments[0]?.name() === "channel" ? at.positionals[0] : undefined;
  const channel = first ?? at.values.get("--channel");
  const states = ID_STATES[cmdName] ?? ["requests", "processing", "responses", "dead"];
  const queues = channel !== undefined ? [channel] : await channels(common);
  const found: string[] = [];
  for (const queue of queues.slice(0, 50)) {
    for (const state of states) {
      try {
        const entries = await list({ ...common, channel: queue, state, limit: 50, as: at.values.get("--as") });
        found.push(...entries.map((e) => e.id));
      } catch {
        // no such channel or state here: nothing to offer from it
      }
    }
  }
  return found;
}
