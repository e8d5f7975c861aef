/**
 * The files of the key registry, `$ABQ_HOME/keys/`:
 *
 * | file                   | what                                                                  |
 * | ---------------------- | --------------------------------------------------------------------- |
 * | `<keyid>.pub`          | an ed25519 public key (PEM, SPKI); the key is known to this bus        |
 * | `<keyid>.key`          | its private key (PEM, PKCS#8, 0600), when it was made here             |
 * | `<keyid>.agent.json`   | the agent identity the key speaks for: `{agent, added_at, added_by}`   |
 * | `<keyid>.revoked.json` | its revocation: `{revoked_at, reason, revoked_by}`; never removed      |
 * | `default.json`         | the key `abq keygen` made last (older buses: its agent binding too)    |
 *
 * A keyid is the first 16 hex digits of the SHA-256 of the public key (DER), so it names the key itself.
 * Every file is written by staging + rename (or link), so a crash leaves the old state or the new one.
 */
import { join } from "node:path";
import { nodeCrypto } from "../protocol/random.ts";
import { AbqError, errnoCode, ioError } from "../protocol/errors.ts";
import { assertSafeDir } from "../spool/safety.ts";
import * as fs from "../fs-promised.ts";
import { ensureDir, publishFile, readBounded } from "../spool/files.ts";

export const KEYID_PATTERN = /^[0-9a-f]{16}$/;
/** PEM keys are a few hundred bytes; anything much larger is not one. */
const MAX_KEY_BYTES = 16 * 1024;

export function keysDir(home: string): string {
  return join(home, "keys");
}

export function keyPath(home: string, keyid: string, kind: "pub" | "key" | "agent.json" | "revoked.json"): string {
  if (!KEYID_PATTERN.test(keyid))
    throw new AbqError("E_USAGE", `'${keyid.slice(0, 40)}' is not a key id (16 hex digits)`);
  return join(keysDir(home), `${keyid}.${kind}`);
}

const checked = new Set<string>();

/**
 * The registry decides whose messages are trusted, so its folder must be writable by its owner alone:
 * anyone else who could write it could register a key under any agent's name.
 */
export async function assertSafeKeys(home: string): Promise<void> {
  const dir = keysDir(home);
  if (checked.has(dir)) return;
  await assertSafeDir(dir, "keys folder");
  const st = await fs.lstat(dir).catch((err: unknown) => {
    if (errnoCode(err) === "ENOENT") return undefined;
    throw err;
  });
  if (st !== undefined && (st.mode & 0o022) !== 0) {
    throw new AbqError(
      "E_UNSAFE",
      `keys folder ${dir} is writable by others (mode ${(st.mode & 0o7777).toString(8)})`,
      {
        hint: `chmod go-w ${dir}: whoever can write it can register a key under any agent's name`,
      },
    );
  }
  if (st !== undefined) checked.add(dir);
}

export async function ensureKeysDir(home: string): Promise<string> {
  const dir = keysDir(home);
  await ensureDir(dir);
  checked.delete(dir);
  await assertSafeKeys(home);
  return dir;
}

/** A key file's text, or undefined when there is none. */
export async function readKeyFile(path: string): Promise<string | undefined> {
  try {
    return await readBounded(path, MAX_KEY_BYTES);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return undefined;
    // Something planted in place of a key (a link, a FIFO, a huge file): stop, and say where.
    if (errnoCode(err) === "ELOOP")
      throw new AbqError("E_UNSAFE", `${path} is a symbolic link; abq does not follow links in the keys folder`);
    if (err instanceof AbqError) throw new AbqError("E_UNSAFE", `${path}: ${err.message}`);
    throw ioError(`cannot read ${path}`, err);
  }
}

/** A small JSON record of the registry; undefined when missing, `null` when present but unreadable. */
export async function readRecord(path: string): Promise<Record<string, unknown> | null | undefined> {
  const text = await readKeyFile(path).catch(() => "");
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** Writes a registry file atomically; `replace: false` fails with EEXIST when it is there already. */
export async function writeRecord(home: string, path: string, text: string, replace: boolean): Promise<void> {
  await publishFile(join(keysDir(home), "tmp"), path, text, { sync: true, replace });
}

export interface PublicKeyInfo {
  keyid: string;
  /** The key re-exported as PEM (SPKI), whatever whitespace the input had. */
  pem: string;
}

/** Parses an ed25519 public key in PEM; a private key, another algorithm or garbage is E_USAGE. */
export function parsePublicKey(text: string): PublicKeyInfo {
  const { createHash, createPublicKey } = nodeCrypto();
  if (text.includes("PRIVATE KEY"))
    throw new AbqError("E_USAGE", "that is a private key: give the public one (the .pub file)", {
      hint: "never copy a .key file: it lets its holder sign as you",
    });
  let key;
  try {
    key = createPublicKey({ key: text, format: "pem" });
  } catch {
    throw new AbqError("E_USAGE", "not a public key in PEM format (-----BEGIN PUBLIC KEY-----)");
  }
  if (key.asymmetricKeyType !== "ed25519")
    throw new AbqError("E_USAGE", `a ${key.asymmetricKeyType ?? "unknown"} key: abq signs with ed25519 only`);
  const der = key.export({ type: "spki", format: "der" });
  const keyid = createHash("sha256").update(der).digest("hex").slice(0, 16);
  return { keyid, pem: key.export({ type: "spki", format: "pem" }).toString() };
}

/** A private key file must be its owner's alone: anyone who can read it can sign as its agent. */
export async function readPrivateKeyFile(path: string): Promise<{ keyid: string; pem: string }> {
  let text: string | undefined;
  try {
    const st = await fs.stat(path);
    if ((st.mode & 0o077) !== 0)
      throw new AbqError("E_UNSAFE", `private key ${path} is open to others (mode ${(st.mode & 0o777).toString(8)})`, {
        hint: `chmod 600 ${path}`,
      });
    text = await readKeyFile(path);
  } catch (err) {
    if (err instanceof AbqError && err.code !== "E_TOO_LARGE") throw err;
    text = undefined;
  }
  if (text === undefined) throw new AbqError("E_USAGE", `cannot read the private key ${path} (ABQ_SIGNING_KEY)`);
  const { createPrivateKey, createPublicKey } = nodeCrypto();
  let pub: string;
  try {
    const key = createPrivateKey(text);
    if (key.asymmetricKeyType !== "ed25519") throw new Error("not ed25519");
    pub = createPublicKey(key).export({ type: "spki", format: "pem" }).toString();
  } catch {
    throw new AbqError("E_USAGE", `${path} is not an ed25519 private key in PEM format`);
  }
  return { keyid: parsePublicKey(pub).keyid, pem: text };
}

/** Writes a new private key file, 0600, never over an existing file or through a link. */
export async function writePrivateKeyFile(path: string, pem: string): Promise<void> {
  const { constants } = await import("node:fs");
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const fd = await fs.open(path, flags, 0o600).catch((err: unknown) => {
    throw new AbqError(
      errnoCode(err) === "EEXIST" ? "E_CONFLICT" : "E_USAGE",
      `cannot create ${path}: ${errnoCode(err)}`,
    );
  });
  try {
    await fs.writeFile(fd, pem, "utf8");
    await fs.fsync(fd);
  } catch (err) {
    // A torn key is no key: never leave half of one behind.
    await fs.close(fd).catch(() => undefined);
    await fs.removeFile(path).catch(() => undefined);
    throw err;
  }
  await fs.close(fd);
}
