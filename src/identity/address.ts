/**
 * Address forms. Wherever a command (or an MCP tool) takes a channel, it also takes:
 *
 * - `@self`, the caller's own inbox, and `@parent`, the inbox of the same repository's main-branch agent;
 * - an agent's identity, `github.com/acme/api/main` (`local/app/main` for a repository without a remote):
 *   that agent's inbox, whether or not the agent has been seen yet, as `@parent` does;
 * - a suffix of a known agent's identity, whole segments, such as `api/main` or `acme/api/main`: the
 *   inbox of the one agent it matches (src/identity/directory.ts). Two matches are E_USAGE naming them,
 *   none is E_BAD_NAME: a typo must not create an inbox nobody reads.
 *
 * A name without `/` is a channel name, exactly as before; so is anything that cannot be an identity
 * (`../x`, `a//b`): the channel check refuses it with its usual message. Inbox channels are named by
 * the rule of `inboxName` (src/identity/index.ts) and created on first use.
 */
import { AbqError } from "../protocol/errors.ts";
import type { Transport } from "../lifecycle/transport.ts";
import { inboxName, resolveIdentity } from "./index.ts";

export { inboxName } from "./index.ts";

export interface AddressOptions {
  /** Working directory whose git context is `@self`. Default: `process.cwd()`. */
  cwd?: string | undefined;
  /** The bus whose agents a suffix is looked up among. Default: `$ABQ_HOME`, else `~/.abq`. */
  home?: string | undefined;
  /** List channels through this transport instead of the local spool's folders. */
  transport?: Transport | undefined;
}

/** Names an inbox rather than a channel (so using it creates the inbox, and a missing one is empty). */
export function isAddress(name: string): boolean {
  return name === "@self" || name === "@parent" || looksLikeAgent(name);
}

/** Could be an agent's identity: `/`-separated segments, none empty, `.` or `..`, no spaces or controls. */
export function looksLikeAgent(name: string): boolean {
  if (name.length > 512 || !name.includes("/")) return false;
  return name.split("/").every((s) => s !== "" && s !== "." && s !== ".." && !/[\s\p{Cc}]/u.test(s));
}

/**
 * A whole identity as abq derives one (src/identity/index.ts): `<host>/<org>/<repo>/<branch>` with a
 * dotted host, or `local/<folder>/<branch>`. Anything shorter is taken as a suffix to look up.
 */
export function isFullIdentity(name: string): boolean {
  const segments = name.split("/");
  const first = segments[0] ?? "";
  if (first === "local") return segments.length >= 3;
  return /^[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(first) && segments.length >= 4;
}

/**
 * Resolves an address to a channel name; a plain channel name passes through unchanged (and unchecked:
 * the caller validates it). `where` is the working directory, or the options with the bus to look in.
 */
export async function resolveAddress(name: string, where?: string | AddressOptions): Promise<string> {
  const opts: AddressOptions = typeof where === "string" ? { cwd: where } : (where ?? {});
  if (name === "@self" || name === "@parent") return resolveOwn(name, opts.cwd);
  if (!looksLikeAgent(name)) return name;
  if (isFullIdentity(name)) return inboxName(name);
  return resolveSuffix(name, opts);
}

async function resolveOwn(name: "@self" | "@parent", cwd: string | undefined): Promise<string> {
  const identity = await resolveIdentity({ cwd });
  if (name === "@self") return inboxName(identity.agent);
  if (identity.parent === undefined) {
    throw new AbqError("E_USAGE", "@parent needs a git repository (or ABQ_PARENT when ABQ_AGENT is set)");
  }
  return inboxName(identity.parent);
}

async function resolveSuffix(name: string, opts: AddressOptions): Promise<string> {
  // Loaded only here: plain channel names, @self and whole identities never read the agents folder.
  const { agentLabel, knownAgents, matchAgents } = await import("./directory.ts");
  const known = await knownAgents(opts);
  const found = matchAgents(known, name);
  if (found.length === 1 && found[0] !== undefined) return found[0].inbox;
  if (found.length > 1) {
    const names = found.map(agentLabel);
    const shown = names.length > 5 ? [...names.slice(0, 5), "…"] : names;
    throw new AbqError("E_USAGE", `'${name}' matches ${found.length} agents: ${shown.join(", ")}`, {
      hint: "give more of the agent's name (or its whole name, or its inbox channel)",
    });
  }
  const shownName = name.length > 70 ? `${name.slice(0, 67)}...` : name;
  throw new AbqError(
    "E_BAD_NAME",
    `no known agent matches '${shownName}': a name with '/' addresses an agent (host/org/repo/branch, or ` +
      "a unique suffix of one); a channel name uses 1-64 of a-z 0-9 . _ -",
    {
      hint:
        known.length === 0
          ? "no agent has used this bus yet; a whole identity such as github.com/org/repo/branch always works"
          : "abq agents, or the abq_status tool, lists the agents this bus knows",
    },
  );
}
