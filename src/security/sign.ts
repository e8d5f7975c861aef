/**
 * Optional message signatures (ed25519, node:crypto). `from.agent` is self-declared; a signature proves
 * which key sent a message. Keys live in `$ABQ_HOME/keys/`: `<keyid>.key` (private, 0600) and
 * `<keyid>.pub`; a key is trusted on this bus when its `.pub` file is there (copy another user's `.pub`
 * in to trust it). `keys/default.json` names the key `send --sign` uses.
 *
 * The signature covers the protocol fields only (id, version, type, from, to, content, timestamp, ttl,
 * reply_to), serialised with sorted keys, so bookkeeping abq adds later (`attempts`) does not break it:
 *
 *   "signature": { "alg": "ed25519", "key": "<keyid>", "sig": "<base64>" }
 */
import { nodeCrypto } from "../protocol/random.ts";
import * as fs from "../fs-promised.ts";
import { join } from "node:path";
import { ensureDir, writeNewFile } from "../spool/files.ts";
import { AbqError, errnoCode } from "../protocol/errors.ts";
import type { Request } from "../protocol/schema.ts";

const SIGNED_FIELDS = ["id", "version", "type", "from", "to", "content", "timestamp", "ttl", "reply_to"] as const;

export interface Signature {
  [key: string]: unknown;
  alg: "ed25519";
  key: string;
  sig: string;
}

function keysDir(home: string): string {
  return join(home, "keys");
}

/** Stable bytes to sign: the protocol fields, keys sorted at every level. */
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

export async function generateKey(home: string, agent: string): Promise<{ keyid: string; publicKeyFile: string }> {
  const { createHash, generateKeyPairSync } = nodeCrypto();
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const pubPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  const keyid = createHash("sha256")
    .update(publicKey.export({ type: "spki", format: "der" }))
    .digest("hex")
    .slice(0, 16);
  const dir = keysDir(home);
  await ensureDir(dir);
  await writeNewFile(join(dir, `${keyid}.key`), privateKey.export({ type: "pkcs8", format: "pem" }).toString(), true);
  await writeNewFile(join(dir, `${keyid}.pub`), pubPem, true);
  await fs.writeFile(
    join(dir, "default.json"),
    `${JSON.stringify({ keyid, agent, created: new Date().toISOString() }, null, 2)}\n`,
    { mode: 0o600 },
  );
  return { keyid, publicKeyFile: join(dir, `${keyid}.pub`) };
}

/** Signs with the bus's default key (or `keyid`). */
export async function signMessage(home: string, message: Request, keyid?: string): Promise<Request> {
  const dir = keysDir(home);
  let id = keyid;
  if (id === undefined) {
    const def = (await fs.readFile(join(dir, "default.json"), "utf8").then(JSON.parse, () => undefined)) as
      { keyid?: string } | undefined;
    id = def?.keyid;
  }
  if (id === undefined)
    throw new AbqError("E_USAGE", "no signing key on this bus", { hint: "make one with: abq keygen" });
  const pem = await fs.readFile(join(dir, `${id}.key`), "utf8").catch(() => {
    throw new AbqError("E_USAGE", `signing key ${id} not found in ${dir}`, { hint: "make one with: abq keygen" });
  });
  const { createPrivateKey, sign } = nodeCrypto();
  const sig = sign(null, signedBytes(message), createPrivateKey(pem)).toString("base64");
  const signature: Signature = { alg: "ed25519", key: id, sig };
  return { ...message, signature };
}

export type Verdict = { ok: true; key: string } | { ok: false; problem: string };

/** Checks a message's signature against the trusted keys of this bus. */
export async function verifyMessage(home: string, message: Request): Promise<Verdict> {
  const s = message["signature"] as Partial<Signature> | undefined;
  if (s === undefined) return { ok: false, problem: "unsigned message on a channel that requires signatures" };
  if (s.alg !== "ed25519" || typeof s.key !== "string" || typeof s.sig !== "string" || !/^[0-9a-f]{16}$/.test(s.key)) {
    return { ok: false, problem: "malformed signature" };
  }
  let pem: string;
  try {
    pem = await fs.readFile(join(keysDir(home), `${s.key}.pub`), "utf8");
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return { ok: false, problem: `signed by unknown key ${s.key}` };
    throw err;
  }
  const { createPublicKey, verify } = nodeCrypto();
  const good = verify(null, signedBytes(message), createPublicKey(pem), Buffer.from(s.sig, "base64"));
  return good
    ? { ok: true, key: s.key }
    : { ok: false, problem: `bad signature (key ${s.key}): the message was altered` };
}
