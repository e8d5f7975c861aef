/**
 * The fast path for the commands agents run all the time: `abq send <channel> <type> <content>`, the
 * inbox hook `abq check --inbox <channel> …` (on every prompt of every agent), `abq recv <channel>` and
 * `abq status`. Building the commander program loads the command line's whole chunk (commander and every
 * command module), about half of what such a call costs above a bare `node` start (docs/performance.md).
 * Here the arguments of
 * those exact shapes are read directly and handed to the same action the commander command runs
 * (src/cli/actions/), so the output, the errors and the exit codes are the command's own.
 *
 * Only plain shapes are taken: known flags, the right number of arguments, content given on the command
 * line. Anything else (another flag, a short flag, `--`, `-` for stdin, a mistyped type, --help) returns
 * undefined and the full command line runs, with its usage errors and suggestions. test/fast-path.test.ts
 * runs each shape both ways (ABQ_FAST_PATH=0 turns this off) and compares what they print and store.
 */
import type { CommonOptions } from "../api/options.ts";
import { MESSAGE_TYPES, type MessageType } from "../protocol/constants.ts";
import { reportError } from "./exit.ts";

/** What a command accepts: flags without a value, flags with one, and how many arguments. */
interface Shape {
  word: string;
  arguments: number;
  switches: readonly string[];
  values: readonly string[];
}

const GLOBAL_SWITCHES = ["--no-color"];
const GLOBAL_VALUES = ["--home", "--url"];

const SEND: Shape = { word: "send", arguments: 3, switches: ["--json", "--create"], values: [] };
const RECV: Shape = { word: "recv", arguments: 1, switches: ["--json"], values: ["--as"] };
const STATUS: Shape = { word: "status", arguments: 0, switches: ["--json"], values: [] };
const CHECK: Shape = {
  word: "check",
  arguments: 0,
  switches: ["--inject", "--json"],
  values: ["--inbox", "--format", "--event", "--as"],
};

interface Parsed {
  args: string[];
  flags: Map<string, string | true>;
}

/** Runs `argv` (without node and the script) when it has a fast shape; undefined when it has not. */
export async function runFast(argv: readonly string[]): Promise<number | undefined> {
  const send = parse(argv, SEND);
  if (send !== undefined) {
    const [channel = "", type = "", content = ""] = send.args;
    if (!(MESSAGE_TYPES as readonly string[]).includes(type) || content === "" || content === "-") return undefined;
    return run(send, async (common, json) => {
      const { printSent, sendOne } = await import("./actions/send-one.ts");
      // The plain case (a created queue on the local spool, no policy) skips the core (send-plain.ts).
      if (!send.flags.has("--create")) {
        const { sendPlain } = await import("../spool/send-plain.ts");
        const sent = await sendPlain({ ...common, channel, type: type as MessageType, content });
        if (sent !== undefined) return printSent(sent, json);
      }
      await sendOne(common, {
        channel,
        type: type as MessageType,
        content,
        create: send.flags.has("--create"),
        sign: false,
        json,
      });
    });
  }
  const recv = parse(argv, RECV);
  if (recv !== undefined)
    return run(recv, async (common, json) => {
      const { recvAction } = await import("./actions/recv.ts");
      const as = recv.flags.get("--as");
      await recvAction(common, recv.args[0] ?? "", { json, as: typeof as === "string" ? as : undefined });
    });
  const status = parse(argv, STATUS);
  if (status !== undefined)
    return run(status, async (common, json) => {
      // The counts on the local spool come without the core (src/spool/status-plain.ts).
      const { statusPlain } = await import("../spool/status-plain.ts");
      const { statusAction } = await import("./actions/status.ts");
      await statusAction(common, json, await statusPlain(common));
    });
  const check = parse(argv, CHECK);
  const inbox = check?.flags.get("--inbox");
  if (check === undefined || typeof inbox !== "string") return undefined;
  return run(check, async (common, json) => {
    const { checkInboxAction } = await import("./actions/check-inbox.ts");
    const text = (flag: string): string | undefined => {
      const v = check.flags.get(flag);
      return typeof v === "string" ? v : undefined;
    };
    // No mail, the everyday answer, is found without the core (src/inbox/no-mail.ts).
    const plain = text("--format") === undefined && text("--as") === undefined;
    const known = plain ? await (await import("../inbox/no-mail.ts")).noMail({ ...common, channel: inbox }) : undefined;
    await checkInboxAction(
      common,
      inbox,
      { inject: check.flags.has("--inject"), format: text("--format"), event: text("--event"), as: text("--as"), json },
      known,
    );
  });
}

/** The action, with the exit code and error report the full command line would give. */
async function run(parsed: Parsed, action: (common: CommonOptions, json: boolean) => Promise<void>): Promise<number> {
  (globalThis as Record<symbol, unknown>)[Symbol.for("abq.known-command")] = true; // see bin/compile-cache.ts
  const home = parsed.flags.get("--home");
  const url = parsed.flags.get("--url");
  const common: CommonOptions = {
    ...(typeof home === "string" ? { home } : {}),
    ...(typeof url === "string" ? { url } : {}),
  };
  const json = parsed.flags.has("--json");
  try {
    // One message, one answer: synchronous file calls beat thread-pool round trips (src/fs-promised.ts).
    (await import("../fs-promised.ts")).useDirectCalls(true);
    await action(common, json);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    return reportError(err, json);
  }
}

/**
 * `argv` read as `shape`: global options, then the command word, then its flags and arguments in any
 * order (as commander takes them). Undefined at the first thing the shape does not know.
 */
function parse(argv: readonly string[], shape: Shape): Parsed | undefined {
  const flags = new Map<string, string | true>();
  const args: string[] = [];
  let word = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (!arg.startsWith("-") || arg === "-") {
      if (!word) {
        if (arg !== shape.word) return undefined;
        word = true;
      } else args.push(arg);
      continue;
    }
    if (!arg.startsWith("--") || arg === "--") return undefined; // short flags, `--`: commander's to read
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const switches = word ? [...GLOBAL_SWITCHES, ...shape.switches] : GLOBAL_SWITCHES;
    const values = word ? [...GLOBAL_VALUES, ...shape.values] : GLOBAL_VALUES;
    if (switches.includes(name) && eq === -1) flags.set(name, true);
    else if (values.includes(name)) {
      const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
      if (value === undefined || value === "" || value.startsWith("-")) return undefined;
      flags.set(name, value);
    } else return undefined;
  }
  return word && args.length === shape.arguments ? { args, flags } : undefined;
}
