/** Signing keys for `abq keygen` / `send --sign` (see src/security/sign.ts). */
import { callerAgent } from "./options.ts";
import { resolveHome } from "../spool/paths.ts";
import { generateKey } from "../security/sign.ts";
import type { CommonOptions } from "./options.ts";

export async function keygen(opts: CommonOptions = {}): Promise<{ keyid: string; publicKeyFile: string }> {
  const agent = await callerAgent(opts);
  return generateKey(resolveHome(opts), agent);
}
