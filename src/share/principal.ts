/**
 * Who a channel is shared with: `user:NAME` or `group:NAME`, resolved once to a numeric id through the
 * system's name service (`id`, `getent`), so LDAP and sssd users work as local ones do.
 */
import { nodeChildProcess } from "../protocol/random.ts";
import { AbqError } from "../protocol/errors.ts";
import type { PathAcl } from "./acl.ts";

export interface Principal {
  kind: "user" | "group";
  name: string;
  /** uid for a user, gid for a group. */
  id: number;
  /** A user's groups (gids), for deciding what it can already reach; [id] for a group. */
  gids: number[];
}

/** POSIX portable user and group names (plus the `$` of machine accounts), at most 32 characters. */
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,30}\$?$/;

function query(tool: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    nodeChildProcess().execFile(tool, args, { encoding: "utf8" }, (err, stdout) =>
      resolve(err ? undefined : stdout.trim()),
    );
  });
}

/** Parses and resolves `user:NAME` / `group:NAME`; E_USAGE (exit 2) for a bad form or an unknown name. */
export async function resolvePrincipal(spec: string): Promise<Principal> {
  const m = /^(user|group):(.*)$/.exec(spec);
  if (!m || !NAME.test(m[2]!)) {
    throw new AbqError("E_USAGE", `'${spec.slice(0, 80)}' is not a grantee`, {
      hint: "use --with user:NAME or --with group:NAME",
    });
  }
  const kind = m[1] as "user" | "group";
  const name = m[2]!;
  if (kind === "user") {
    const uid = await query("id", ["-u", "--", name]);
    const gids = await query("id", ["-G", "--", name]);
    if (uid === undefined || !/^\d+$/.test(uid)) throw new AbqError("E_USAGE", `there is no user named ${name}`);
    return { kind, name, id: Number(uid), gids: (gids ?? "").split(/\s+/).filter(Boolean).map(Number) };
  }
  const line = await query("getent", ["group", "--", name]);
  const gid = line?.split(":")[2];
  if (gid === undefined || !/^\d+$/.test(gid)) throw new AbqError("E_USAGE", `there is no group named ${name}`);
  return { kind, name, id: Number(gid), gids: [Number(gid)] };
}

export function principalKey(p: Pick<Principal, "kind" | "name">): string {
  return `${p.kind}:${p.name}`;
}

/**
 * Whether `who` gets `bit` ("r", "w" or "x") on a path, by the POSIX ACL algorithm (owner, named user,
 * groups, other). For a group, what any member gets through the group alone.
 */
export function grants(acl: PathAcl, who: Principal, bit: "r" | "w" | "x"): boolean {
  const at = { r: 0, w: 1, x: 2 }[bit];
  const has = (perms: string | undefined): boolean => perms?.[at] === bit;
  const access = acl.entries.filter((e) => !e.isDefault);
  const mask = access.find((e) => e.tag === "mask")?.perms;
  const masked = (perms: string | undefined): boolean => has(perms) && (mask === undefined || has(mask));
  if (who.kind === "user") {
    if (who.id === 0) return true;
    if (who.id === acl.owner) return has(access.find((e) => e.tag === "user" && e.id === undefined)?.perms);
    const named = access.find((e) => e.tag === "user" && e.id === who.id);
    if (named) return masked(named.perms);
  }
  const groupEntries = access.filter(
    (e) => e.tag === "group" && (e.id === undefined ? who.gids.includes(acl.group) : who.gids.includes(e.id)),
  );
  if (groupEntries.length > 0) return groupEntries.some((e) => masked(e.perms));
  return has(access.find((e) => e.tag === "other")?.perms);
}
