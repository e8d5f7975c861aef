/**
 * Who may send on a channel: the claim-time check behind `require_signed`, `allow_senders` and
 * `deny_senders` (src/protocol/policy.ts). It runs where a message is claimed (src/spool/leased-work.ts),
 * so `recv`, `watch` and the MCP tools all see the same verdict, and a message that fails it is set aside
 * in rejected/ with the reason: never handed out.
 *
 * | message                                   | plain channel | require_signed | allowlist   |
 * | ----------------------------------------- | ------------- | -------------- | ----------- |
 * | unsigned                                  | delivered     | rejected       | rejected    |
 * | signed, altered / unknown / revoked key   | rejected      | rejected       | rejected    |
 * | signed by a key registered to another     | rejected (spoofed)                           |
 * | signed by a key bound to no one (legacy)  | delivered     | rejected       | rejected    |
 * | signed by the sender's registered key     | delivered     | delivered      | if listed   |
 *
 * An allowlist is about identities, and only a signature proves one: a non-empty allowlist requires
 * signatures whatever `require_signed` says. The deny list needs no proof (refusing a name is always
 * safe), so it also matches unsigned messages by their declared name, and wins over the allowlist.
 */
import type { Policy } from "../protocol/policy.ts";
import type { Request } from "../protocol/schema.ts";
import { KEYID_PATTERN } from "./keyfiles.ts";
import { quoted, verifyMessage } from "./sign.ts";

export type SenderVerdict = { ok: true } | { ok: false; problem: string };

type SenderRules = Pick<Policy, "require_signed" | "allow_senders" | "deny_senders">;

/** Does the channel need to look at this message at all? (Most channels have no rules: no file reads.) */
export function needsSenderCheck(rules: SenderRules, message: Request): boolean {
  return (
    rules.require_signed ||
    rules.allow_senders.length > 0 ||
    rules.deny_senders.length > 0 ||
    message["signature"] !== undefined
  );
}

export async function checkSender(home: string, rules: SenderRules, message: Request): Promise<SenderVerdict> {
  const agent = message.from.agent;
  const listed = rules.allow_senders.length > 0;
  let key: string | undefined;
  if (message["signature"] !== undefined) {
    // Checked on every channel: a bad or spoofed signature is an attack, whatever the channel accepts.
    const verdict = await verifyMessage(home, message);
    if (!verdict.ok) return verdict;
    if ((rules.require_signed || listed) && verdict.agent === undefined)
      return {
        ok: false,
        problem: `unbound key: ${verdict.key} is registered to no agent (abq keys add <agent> <file>.pub)`,
      };
    key = verdict.key;
  } else if (listed) {
    return { ok: false, problem: "unsigned: this channel accepts only the senders on its allowlist, signed" };
  } else if (rules.require_signed) {
    return { ok: false, problem: "unsigned message on a channel that requires signatures" };
  }
  const denied = rules.deny_senders.find((entry) => matchesDeny(entry, agent, key));
  if (denied !== undefined)
    return { ok: false, problem: `sender denied: ${quoted(agent)} matches deny entry ${quoted(denied)}` };
  if (listed && !rules.allow_senders.some((entry) => entry === key || entry === agent))
    return { ok: false, problem: `sender not allowed: ${quoted(agent)} (key ${key}) is not on the allowlist` };
  return { ok: true };
}

/** A deny entry names a key, an identity, or a whole-segment suffix of one (case aside). */
function matchesDeny(entry: string, agent: string, key: string | undefined): boolean {
  if (KEYID_PATTERN.test(entry)) return entry === key;
  const a = agent.toLowerCase();
  const e = entry.toLowerCase();
  return a === e || a.endsWith(`/${e}`);
}
