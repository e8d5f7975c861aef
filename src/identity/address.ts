/**
 * Address forms (the seed's): `@self` is the caller's own inbox channel, `@parent` the inbox of the same
 * repository's main-branch agent. An inbox's channel name is derived from the agent string:
 *
 *   `inbox.` + the agent, lowercased, `/` → `.`, any other character outside [a-z0-9._-] → `-`
 *   e.g. github.com/acme/app/feature/login → inbox.github.com.acme.app.feature.login
 *
 * Names longer than 64 characters keep their first 55 and end in `-` + 8 hex digits of the agent's
 * SHA-256, so they stay unique and valid. Inbox channels are created on first use.
 */
import { sha256Hex } from "../protocol/random.ts";
import { AbqError } from "../protocol/errors.ts";
import { resolveIdentity } from "./index.ts";

export function inboxName(agent: string): string {
  const slug = agent
    .toLowerCase()
    .replace(/\//g, ".")
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/\.{2,}/g, ".")
    .replace(/^[._-]+|[._-]+$/g, "");
  const name = `inbox.${slug || "anonymous"}`;
  if (name.length <= 64) return name;
  return `${name.slice(0, 55).replace(/[._-]+$/, "")}-${sha256Hex(agent).slice(0, 8)}`;
}

export function isAddress(name: string): boolean {
  return name === "@self" || name === "@parent";
}

/** Resolves `@self` / `@parent` to an inbox channel name; other names pass through unchanged. */
export async function resolveAddress(name: string, cwd?: string): Promise<string> {
  if (!isAddress(name)) return name;
  const identity = await resolveIdentity({ cwd });
  if (name === "@self") return inboxName(identity.agent);
  if (identity.parent === undefined) {
    throw new AbqError("E_USAGE", "@parent needs a git repository (or ABQ_PARENT when ABQ_AGENT is set)");
  }
  return inboxName(identity.parent);
}
