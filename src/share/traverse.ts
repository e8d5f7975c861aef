/**
 * Letting a grantee reach a shared channel: every folder from `/` down to `channels/` must let it through
 * (search permission, x). Where a folder does not, and it is ours, abq adds an execute-only entry for the
 * grantee (it can pass, never list); the record remembers exactly those entries, and the grantee's last
 * unshare removes them. A folder that blocks the grantee and is not ours stops the share before anything
 * changes: only its owner could open it, so the bus has to live elsewhere (docs/sharing.md).
 */
import * as fs from "../fs-promised.ts";
import { realpath } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { AbqError } from "../protocol/errors.ts";
import { entrySpec, hasExtendedEntries, readAcls, setAcl } from "./acl.ts";
import { grants, type Principal, principalKey } from "./principal.ts";
import type { ShareRecord, Traverse } from "./record.ts";

/** The folders a grantee passes through to reach a channel: `/` … the home, then `channels/`. */
export async function pathToChannels(home: string): Promise<string[]> {
  const real = await promisify(realpath)(home);
  const dirs: string[] = [];
  for (let d = real; ; d = dirname(d)) {
    dirs.unshift(d);
    if (dirname(d) === d) break;
  }
  return [...dirs, join(real, "channels")];
}

/** The entries to add so `who` can reach `channels/`; throws (changing nothing) when a folder is not ours. */
export async function planTraverse(home: string, who: Principal, ours: Traverse[]): Promise<Traverse[]> {
  const uid = process.getuid?.() ?? 0;
  const plan: Traverse[] = [];
  for (const acl of await readAcls(await pathToChannels(home))) {
    if (grants(acl, who, "x")) continue;
    const label = `${who.kind} ${who.name}`;
    if (acl.owner !== uid && uid !== 0) {
      const mode = ((await fs.stat(acl.path)).mode & 0o7777).toString(8);
      throw new AbqError(
        "E_UNSAFE",
        `${label} cannot pass through ${acl.path} (owner uid ${acl.owner}, mode ${mode}), and only its owner can open it`,
        {
          hint: "put the bus in a folder they can reach: see 'A bus outside your home' in docs/sharing.md",
        },
      );
    }
    // Our own entry, hidden since by a chmod (abq init makes the home 0700 again): set it again.
    const mine = ours.find((t) => t.path === acl.path && t.kind === who.kind && t.id === who.id);
    if (mine !== undefined) {
      plan.push(mine);
      continue;
    }
    const existing = acl.entries.find((e) => !e.isDefault && e.tag === who.kind && e.id === who.id);
    const mask = acl.entries.find((e) => !e.isDefault && e.tag === "mask");
    if (existing !== undefined || (mask !== undefined && mask.perms[2] !== "x")) {
      throw new AbqError(
        "E_UNSAFE",
        `${acl.path} already has an ACL that keeps ${label} out; abq will not rewrite it`,
        {
          hint: `give them search permission yourself (setfacl -m ${who.kind === "user" ? "u" : "g"}:${who.name}:x ${acl.path}), then share again`,
        },
      );
    }
    plan.push({ path: acl.path, grantee: principalKey(who), kind: who.kind, id: who.id });
  }
  return plan;
}

export async function applyTraverse(entries: Traverse[]): Promise<void> {
  for (const t of entries) await setAcl(["-m", entrySpec(t.kind, t.id, "--x")], [t.path]);
}

/**
 * Removes the traversal entries of grantees that no longer have any channel shared with them; returns
 * them. A folder left with no entry at all gets its plain mode back (no ACL).
 */
export async function dropTraverse(record: ShareRecord): Promise<Traverse[]> {
  const stillShared = new Set(Object.values(record.channels).flatMap((gs) => gs.map((g) => g.grantee)));
  const drop = record.traverse.filter((t) => !stillShared.has(t.grantee));
  // Deepest first: the grantee loses its way in at channels/ before anything above changes.
  for (const t of [...drop].reverse()) {
    const exists = await fs.lstat(t.path).then(
      () => true,
      () => false,
    );
    if (!exists) continue;
    await setAcl(["-x", entrySpec(t.kind, t.id, "")], [t.path]);
    const [acl] = await readAcls([t.path]);
    if (acl !== undefined && !hasExtendedEntries(acl)) await setAcl(["-b"], [t.path]);
  }
  return drop;
}
