/**
 * Message signatures (ed25519, node:crypto). `from.agent` is self-declared; a signature proves which key
 * sent a message, and the key registry (src/security/registry.ts) says which agent that key speaks for.
 *
 * The signature covers the protocol fields (id, version, type, from, to, content, timestamp, ttl,
 * reply_to) and abq's `thread` and `attachments`, each only when present, serialised with sorted keys:
 * bookkeeping abq adds later (`attempts`, `in_reply_to`) does not break it, and adding or removing a
 * covered field does. Messages signed before `thread`/`attachments` existed verify unchanged.
 *
 *   "signature": { "alg": "ed25519", "key": "<keyid>", "sig": "<base64>" }
 */
import { nodeCrypto } from "../protocol/random.ts";
import { join } from "node:path";
import { AbqError } from "../protocol/errors.ts";
import type { Request } from "../protocol/schema.ts";
import type { KeyObject } from "node:crypto";
import {
  ensureKeysDir,
  KEYID_PATTERN,
  keyPath,
  keysDir,
  parsePublicKey,
  readKeyFile,
  readPrivateKeyFile,
  readRecord,
  writePrivateKeyFile,
  writeRecord,
} from "./keyfiles.ts";
import { bindKey, keyRecord, listKeyRecords } from "./registry.ts";
import { writeNewFile } from "../spool/files.ts";

const SIGNED_FIELDS = [
  ...["id", "version", "type", "from", "to", "content", "timestamp", "ttl", "reply_to"],
  ...["thread", "attachments"],
] as const;

export interface Signature {
  [key: string]: unknown;
  alg: "ed25519";
  key: string;
  sig: string;
}

/** Stable bytes to sign: the covered fields that are present, keys sorted at every level. */
export function signedBytes(message: Request): Buffer {
  const picked: Record<string, unknown> = {};
  for (const k of SIGNED_FIELDS) if (message[k] !== undefined) picked[k] = message[k];
  return Buffer.from(stableStringify(picked), "utf8");
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * Makes a key pair, registers it for `agent`, and makes it the bus's default key. The private half goes
 * to `keys/<keyid>.key`, or to `privateKeyFile` (then sign with ABQ_SIGNING_KEY=<that file>): a key
 * kept outside the bus is one that other agents of the same bus do not find by using abq.
 */
export async function generateKey(
  home: string,
  agent: string,
  privateKeyFile?: string,
): Promise<{ keyid: string; publicKeyFile: string; privateKeyFile: string }> {
  const { generateKeyPairSync } = nodeCrypto();
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const pubPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  await ensureKeysDir(home);
  const { keyid } = parsePublicKey(pubPem);
  const privPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const privPath = privateKeyFile ?? keyPath(home, keyid, "key");
  // The private key first: a crash after it leaves an unused key file, never a registered key nobody holds.
  if (privateKeyFile !== undefined) await writePrivateKeyFile(privateKeyFile, privPem);
  else await writeNewFile(privPath, privPem, true);
  await bindKey(home, agent, pubPem, agent);
  const def = { keyid, agent, created: new Date().toISOString() };
  await writeRecord(home, join(keysDir(home), "default.json"), `${JSON.stringify(def, null, 2)}\n`, true);
  return { keyid, publicKeyFile: keyPath(home, keyid, "pub"), privateKeyFile: privPath };
}

/** ABQ_SIGNING_KEY: a private key file outside the bus to sign with (see generateKey). */
function signingKeyFile(): string | undefined {
  const file = process.env["ABQ_SIGNING_KEY"];
  return file !== undefined && file !== "" ? file : undefined;
}

/**
 * The key to sign as `agent` with: ABQ_SIGNING_KEY's when set; else the newest unrevoked key registered
 * to `agent` whose private half is on this bus (the default key when it is one of them). Undefined: none.
 */
export async function signingKeyFor(home: string, agent: string): Promise<string | undefined> {
  const file = signingKeyFile();
  if (file !== undefined) return (await readPrivateKeyFile(file)).keyid;
  const mine = (await listKeyRecords(home)).filter(
    (r) => r.agent === agent && r.private && r.revoked_at === undefined && r.damaged === undefined,
  );
  const def = await readRecord(join(keysDir(home), "default.json"));
  const preferred = mine.find((r) => r.keyid === def?.["keyid"]);
  const newest = mine.sort((a, b) => ((a.added_at ?? "") < (b.added_at ?? "") ? 1 : -1))[0];
  return (preferred ?? newest)?.keyid;
}

/** The key each (bus, agent) signs with, for a moment: `send --batch --sign` looks it up once, not per line. */
const signers = new Map<string, { id: string; key: KeyObject; at: number }>();
const SIGNER_CACHE_MS = 2000;

/** Signs as `message.from.agent` with its registered key, or with ABQ_SIGNING_KEY's. */
export async function signMessage(home: string, message: Request): Promise<Request> {
  const { id, key } = await signerFor(home, message.from.agent);
  const sig = nodeCrypto().sign(null, signedBytes(message), key).toString("base64");
  const signature: Signature = { alg: "ed25519", key: id, sig };
  return { ...message, signature };
}

async function signerFor(home: string, agent: string): Promise<{ id: string; key: KeyObject }> {
  const file = signingKeyFile();
  const cacheKey = `${home}\u0000${agent}\u0000${file ?? ""}`;
  const hit = signers.get(cacheKey);
  if (hit !== undefined && Date.now() - hit.at < SIGNER_CACHE_MS) return hit;
  const fromFile = file !== undefined ? await readPrivateKeyFile(file) : undefined;
  const id = fromFile?.keyid ?? (await signingKeyFor(home, agent));
  if (id === undefined)
    throw new AbqError("E_USAGE", `no signing key for '${agent}' on this bus`, {
      hint: "make one with: abq keygen (it registers the key for the agent running it)",
    });
  const rec = await keyRecord(home, id);
  if (rec?.revoked_at !== undefined)
    throw new AbqError("E_USAGE", `signing key ${id} was revoked at ${rec.revoked_at}`, {
      hint: "make a new one with: abq keygen",
    });
  const pem = fromFile?.pem ?? (await readKeyFile(keyPath(home, id, "key")));
  if (pem === undefined)
    throw new AbqError("E_USAGE", `signing key ${id} not found in ${keysDir(home)}`, {
      hint: "make one with: abq keygen",
    });
  const signer = { id, key: nodeCrypto().createPrivateKey(pem), at: Date.now() };
  signers.set(cacheKey, signer);
  return signer;
}

/**
 * What a signature proves. `agent` is the identity the key is registered to (undefined: a key from before
 * the registry, bound to no one); a key registered to someone other than `from.agent` is never ok.
 */
export type Verdict = { ok: true; key: string; agent: string | undefined } | { ok: false; problem: string };

/** Checks a signed message against this bus's key registry: known, intact, not revoked, not spoofed. */
export async function verifyMessage(home: string, message: Request): Promise<Verdict> {
  const s = message["signature"] as Partial<Signature> | undefined;
  if (s === undefined) return { ok: false, problem: "unsigned message on a channel that requires signatures" };
  if (s.alg !== "ed25519" || typeof s.key !== "string" || typeof s.sig !== "string" || !KEYID_PATTERN.test(s.key)) {
    return { ok: false, problem: "malformed signature" };
  }
  const rec = await keyRecord(home, s.key);
  if (rec === undefined)
    return { ok: false, problem: `signed by unknown key ${s.key} (not in this bus's key registry)` };
  const pem = await readKeyFile(keyPath(home, s.key, "pub"));
  const { createPublicKey, verify } = nodeCrypto();
  let good: boolean;
  try {
    good = verify(null, signedBytes(message), createPublicKey(pem ?? ""), Buffer.from(s.sig, "base64"));
  } catch {
    return { ok: false, problem: `key ${s.key}: its public key file is not a valid key` };
  }
  if (!good) return { ok: false, problem: `bad signature (key ${s.key}): the message was altered` };
  if (rec.damaged !== undefined) return { ok: false, problem: `key ${s.key}: ${rec.damaged}` };
  if (rec.revoked_at !== undefined) {
    const why = rec.revoke_reason ? `: ${rec.revoke_reason}` : "";
    return { ok: false, problem: `key revoked: ${s.key} was revoked at ${rec.revoked_at}${why}` };
  }
  const claimed = message.from.agent;
  if (rec.agent !== undefined && rec.agent !== claimed)
    return {
      ok: false,
      problem: `spoofed: from.agent is ${quoted(claimed)} but key ${s.key} is registered to ${quoted(rec.agent)}`,
    };
  // A key bound to no one (made before the registry) must not speak for an identity that has keys.
  if (rec.agent === undefined && (await listKeyRecords(home)).some((r) => r.agent === claimed))
    return {
      ok: false,
      problem: `spoofed: from.agent is ${quoted(claimed)} but key ${s.key} is not one registered to it`,
    };
  return { ok: true, key: s.key, agent: rec.agent };
}

/** A name inside a reason: in quotes, control characters escaped, long ones cut (it comes from a message). */
export function quoted(name: string): string {
  const cut = name.length > 200 ? `${name.slice(0, 197)}...` : name;
  return `'${cut.replace(/\p{Cc}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)}'`;
}
