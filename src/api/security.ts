/**
 * Signing keys and the key registry: the calls behind `abq keygen`, `abq keys list|add|revoke`, and the
 * sender lists of `abq channel config --allow-sender/--deny-sender` (src/security/).
 */
import { callerAgent } from "./options.ts";
import { resolveHome } from "../spool/paths.ts";
import { AbqError, errnoCode } from "../protocol/errors.ts";
import { generateKey, signingKeyFor } from "../security/sign.ts";
import { KEYID_PATTERN } from "../security/keyfiles.ts";
import { bindKey, checkAgentName, type KeyRecord, listKeyRecords, revokeKeyRecord } from "../security/registry.ts";
import { isFullIdentity } from "../identity/address.ts";
import type { CommonOptions } from "./options.ts";

export type { KeyRecord } from "../security/registry.ts";

/**
 * Makes an ed25519 key, registers it for the caller's identity and makes it the default signing key.
 * `privateKeyFile`: keep the private half there instead of in the bus (sign with ABQ_SIGNING_KEY).
 */
export async function keygen(
  opts: CommonOptions & { privateKeyFile?: string | undefined } = {},
): Promise<{ keyid: string; agent: string; publicKeyFile: string; privateKeyFile: string }> {
  const agent = await callerAgent(opts);
  return { ...(await generateKey(resolveHome(opts), agent, opts.privateKeyFile)), agent };
}

/**
 * Registers a public key for an agent identity: `publicKey` is the PEM text, or `publicKeyFile` a file
 * holding it. `added: false` when it was registered to that agent already.
 */
export async function addKey(
  opts: CommonOptions & { agent: string; publicKey?: string | undefined; publicKeyFile?: string | undefined },
): Promise<{ record: KeyRecord; added: boolean }> {
  const pem = opts.publicKey ?? (await readPublicKeyFile(opts.publicKeyFile));
  return bindKey(resolveHome(opts), opts.agent, pem, await callerAgent(opts));
}

async function readPublicKeyFile(path: string | undefined): Promise<string> {
  if (path === undefined) throw new AbqError("E_USAGE", "give the public key: its PEM text or a .pub file");
  const { readFile, stat } = await import("../fs-promised.ts");
  const st = await stat(path).catch((err: unknown) => {
    throw new AbqError("E_USAGE", `cannot read ${path}: ${errnoCode(err) ?? String(err)}`);
  });
  // A public key is a few hundred bytes: refuse a device, a folder or a huge file before reading it.
  if (!st.isFile() || st.size > 16 * 1024)
    throw new AbqError("E_USAGE", `${path} is not a public key file (a .pub file of a few hundred bytes)`);
  return readFile(path, "utf8");
}

/** Every key on the bus with its agent and revocation, if any. */
export async function listKeys(opts: CommonOptions = {}): Promise<KeyRecord[]> {
  return listKeyRecords(resolveHome(opts));
}

/** Revokes a key: from now on every message signed with it, queued ones included, is rejected. */
export async function revokeKey(
  opts: CommonOptions & { keyid: string; reason?: string | undefined },
): Promise<{ record: KeyRecord; already: boolean }> {
  return revokeKeyRecord(resolveHome(opts), opts.keyid, opts.reason ?? "", await callerAgent(opts));
}

/** The key the caller would sign with (its newest registered, unrevoked key with a private half), if any. */
export async function signingKey(opts: CommonOptions = {}): Promise<string | undefined> {
  return signingKeyFor(resolveHome(opts), await callerAgent(opts));
}

/**
 * Resolves `channel config --allow-sender` entries: a key id must be on the bus; an identity that some
 * key is registered to stays as it is; a whole-segment suffix (`api/main`) becomes the one registered
 * identity it matches (E_USAGE naming them when several do). Anything else is kept as written when it
 * can be a whole identity, so keys may be registered later; otherwise it is E_BAD_NAME (a typo must not
 * silently allow nobody). Deny entries are only checked: they match by suffix at claim time.
 */
export async function resolveSenders(
  opts: CommonOptions & { entries: readonly string[]; list: "allow" | "deny" },
): Promise<string[]> {
  const records = await listKeyRecords(resolveHome(opts));
  const agents = [...new Set(records.flatMap((r) => (r.agent !== undefined ? [r.agent] : [])))];
  const out: string[] = [];
  for (const raw of opts.entries) {
    const entry = checkAgentName(raw);
    // Entries are names, suffixes or key ids, never patterns: 'a*' would be stored and match no one.
    if (/[*?[\]]/.test(entry)) {
      throw new AbqError("E_USAGE", `'${entry.slice(0, 70)}' looks like a pattern; sender lists take names`, {
        hint: "give an agent's identity, a unique suffix such as api/main, or a key id",
      });
    }
    if (KEYID_PATTERN.test(entry)) {
      if (!records.some((r) => r.keyid === entry))
        throw new AbqError("E_USAGE", `no key ${entry} on this bus`, { hint: "abq keys list shows the keys" });
      out.push(entry);
    } else if (opts.list === "deny" || agents.includes(entry)) out.push(entry);
    else out.push(resolveAllowed(entry, agents));
  }
  return [...new Set(out)];
}

function resolveAllowed(entry: string, agents: readonly string[]): string {
  const wanted = entry.toLowerCase();
  const found = agents.filter((a) => a.toLowerCase() === wanted || a.toLowerCase().endsWith(`/${wanted}`));
  if (found.length === 1 && found[0] !== undefined) return found[0];
  if (found.length > 1)
    throw new AbqError("E_USAGE", `'${entry}' matches ${found.length} registered agents: ${found.join(", ")}`, {
      hint: "give more of the agent's name, or its whole identity",
    });
  // No key is registered to it yet: a whole identity (or a plain name such as ABQ_AGENT sets) is kept.
  if (!entry.includes("/") || isFullIdentity(entry)) return entry;
  throw new AbqError("E_BAD_NAME", `no agent with a registered key matches '${entry.slice(0, 70)}'`, {
    hint: "abq keys list shows who has keys; a whole identity (host/org/repo/branch) is accepted as is",
  });
}
