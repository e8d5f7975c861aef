/**
 * The key registry: which agent identity each known key speaks for, and which keys are revoked (files in
 * src/security/keyfiles.ts). A key speaks for one identity, forever: binding it to a second one is
 * E_CONFLICT, so an agent cannot reuse its key to sign as another. Revocation is a record, not a deletion:
 * the key stays known, so its messages are rejected as "key revoked" rather than "unknown key".
 */
import { AbqError, errnoCode } from "../protocol/errors.ts";
import { formatTimestamp } from "../protocol/schema.ts";
import { listDir, pathExists } from "../spool/files.ts";
import {
  assertSafeKeys,
  ensureKeysDir,
  KEYID_PATTERN,
  keyPath,
  keysDir,
  parsePublicKey,
  readKeyFile,
  readRecord,
  writeRecord,
} from "./keyfiles.ts";
import { join } from "node:path";

export interface KeyRecord {
  keyid: string;
  /** The identity the key speaks for; undefined for a key made before the registry (bind it: keys add). */
  agent?: string | undefined;
  added_at?: string | undefined;
  /** The private key is on this bus (`keygen` made it here). */
  private: boolean;
  revoked_at?: string | undefined;
  revoke_reason?: string | undefined;
  revoked_by?: string | undefined;
  /** A registry file exists but cannot be read: the key is treated as revoked (fail closed). */
  damaged?: string | undefined;
}

/** Agent identities end up in files and on terminals: bounded, no control characters. */
export function checkAgentName(agent: string): string {
  const a = agent.trim();
  if (a === "" || a.length > 512 || /\p{Cc}/u.test(a))
    throw new AbqError("E_USAGE", "an agent identity is 1-512 characters without control characters");
  return a;
}

/** One key's record, or undefined when its public key is not on this bus. */
export async function keyRecord(home: string, keyid: string): Promise<KeyRecord | undefined> {
  if (!KEYID_PATTERN.test(keyid)) return undefined;
  await assertSafeKeys(home);
  const [pub, binding, revoked, priv] = await Promise.all([
    readKeyFile(keyPath(home, keyid, "pub")),
    readRecord(keyPath(home, keyid, "agent.json")),
    readRecord(keyPath(home, keyid, "revoked.json")),
    // Only whether it is there: a verifier has no business reading private keys.
    pathExists(keyPath(home, keyid, "key")).catch(() => true),
  ]);
  if (pub === undefined) return undefined;
  const rec: KeyRecord = { keyid, private: priv };
  if (binding === null) rec.damaged = `${keyid}.agent.json is unreadable`;
  else if (binding !== undefined) {
    rec.agent = str(binding["agent"]);
    rec.added_at = str(binding["added_at"]);
  } else rec.agent = await legacyBinding(home, keyid);
  if (revoked === null) rec.damaged = `${keyid}.revoked.json is unreadable`;
  if (revoked !== undefined) {
    rec.revoked_at = str(revoked?.["revoked_at"]) ?? "(unknown time)";
    rec.revoke_reason = str(revoked?.["reason"]);
    rec.revoked_by = str(revoked?.["revoked_by"]);
  }
  return rec;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** Keys made by `abq keygen` before the registry existed name their agent in default.json only. */
async function legacyBinding(home: string, keyid: string): Promise<string | undefined> {
  const def = await readRecord(join(keysDir(home), "default.json"));
  return def?.["keyid"] === keyid ? str(def["agent"]) : undefined;
}

/** Every key on this bus, sorted by agent then keyid. */
export async function listKeyRecords(home: string): Promise<KeyRecord[]> {
  await assertSafeKeys(home);
  const ids = (await listDir(keysDir(home)))
    .filter((f) => f.endsWith(".pub"))
    .map((f) => f.slice(0, -4))
    .filter((id) => KEYID_PATTERN.test(id));
  const records = (await Promise.all(ids.map((id) => keyRecord(home, id)))).filter((r) => r !== undefined);
  const sortKey = (r: KeyRecord): string => `${r.agent ?? "\uffff"}\u0000${r.keyid}`;
  return records.sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));
}

/**
 * Registers a public key (PEM) for `agent`: writes `<keyid>.pub` if new, then its binding. The same key
 * for the same agent again changes nothing; for another agent, or once revoked, it is E_CONFLICT.
 */
export async function bindKey(
  home: string,
  agent: string,
  publicKeyPem: string,
  by: string,
): Promise<{ record: KeyRecord; added: boolean }> {
  const who = checkAgentName(agent);
  const { keyid, pem } = parsePublicKey(publicKeyPem);
  await ensureKeysDir(home);
  const pubFile = keyPath(home, keyid, "pub");
  // link(2) publishing: a key added twice at once is written once; an existing file is the same key.
  await writeRecord(home, pubFile, pem, false).catch((err: unknown) => {
    if (!(err instanceof AbqError && err.code === "E_CONFLICT") && errnoCode(err) !== "EEXIST") throw err;
  });
  const current = await keyRecord(home, keyid);
  if (current?.revoked_at !== undefined)
    throw new AbqError("E_CONFLICT", `key ${keyid} was revoked at ${current.revoked_at}: it cannot be added again`, {
      hint: "make a new key with: abq keygen",
    });
  if (current?.damaged !== undefined) throw new AbqError("E_IO", `key ${keyid}: ${current.damaged}`);
  if (current?.agent !== undefined && current.agent !== who)
    throw new AbqError("E_CONFLICT", `key ${keyid} is registered to '${current.agent}', not '${who}'`, {
      hint: "a key speaks for one agent: make another key for this one (abq keygen)",
    });
  if (current?.agent === who && current.added_at !== undefined) return { record: current, added: false };
  const binding = { agent: who, added_at: formatTimestamp(), added_by: by };
  await writeRecord(home, keyPath(home, keyid, "agent.json"), `${JSON.stringify(binding, null, 2)}\n`, false).catch(
    (err: unknown) => {
      if (!(err instanceof AbqError && err.code === "E_CONFLICT") && errnoCode(err) !== "EEXIST") throw err;
    },
  );
  const record = await keyRecord(home, keyid);
  // Another process bound it to someone else between our read and our write: theirs stands.
  if (record?.agent !== who) throw new AbqError("E_CONFLICT", `key ${keyid} is registered to '${record?.agent}'`);
  return { record, added: true };
}

/** Revokes a key, keeping the record; a key revoked already keeps its first record (`already: true`). */
export async function revokeKeyRecord(
  home: string,
  keyid: string,
  reason: string,
  by: string,
): Promise<{ record: KeyRecord; already: boolean }> {
  if (!KEYID_PATTERN.test(keyid))
    throw new AbqError("E_USAGE", `'${keyid.slice(0, 40)}' is not a key id (16 hex digits, as abq keys list shows)`);
  if (/\p{Cc}/u.test(reason) || reason.length > 1000)
    throw new AbqError("E_USAGE", "the reason is at most 1000 characters, without control characters");
  const current = await keyRecord(home, keyid);
  if (current === undefined)
    throw new AbqError("E_USAGE", `no key ${keyid} on this bus`, { hint: "abq keys list shows the keys" });
  if (current.revoked_at !== undefined) return { record: current, already: true };
  const note = { revoked_at: formatTimestamp(), reason, revoked_by: by };
  let already = false;
  await writeRecord(home, keyPath(home, keyid, "revoked.json"), `${JSON.stringify(note, null, 2)}\n`, false).catch(
    (err: unknown) => {
      if (!(err instanceof AbqError && err.code === "E_CONFLICT") && errnoCode(err) !== "EEXIST") throw err;
      already = true;
    },
  );
  const record = await keyRecord(home, keyid);
  return { record: record ?? current, already };
}
