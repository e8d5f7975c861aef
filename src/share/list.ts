/**
 * `abq shares`: who can see what, from the record, each grant checked against the ACL the kernel
 * enforces; and the drift `abq check` reports (an entry missing or hidden by the mask, an entry nobody
 * granted, a parent folder that no longer lets a grantee through).
 */
import { join } from "node:path";
import { isChannelName } from "../protocol/names.ts";
import { listDir, pathExists } from "../spool/files.ts";
import { channelsDir, resolveHome } from "../spool/paths.ts";
import { effective, readAcls } from "./acl.ts";
import { grants as allows } from "./principal.ts";
import { type Access, type Grant, readRecord, type ShareRecord } from "./record.ts";
import { misapplied, walkTree } from "./tree.ts";

export interface ShareEntry {
  channel: string;
  path: string;
  grantee: string;
  access: Access;
  granted_at: string;
  /** `ok`; `missing` (no entry on the channel's folder); `differs` (the entry grants something else). */
  on_disk: "ok" | "missing" | "differs";
}

export async function listShares(
  opts: { home?: string | undefined; channel?: string | undefined } = {},
): Promise<ShareEntry[]> {
  const home = resolveHome(opts);
  const record = await readRecord(home);
  const names = Object.keys(record.channels)
    .filter((c) => opts.channel === undefined || c === opts.channel)
    .sort();
  const dirs = names.map((c) => join(channelsDir(home), c));
  const acls = await readAcls(await existing(dirs));
  const out: ShareEntry[] = [];
  for (const [i, channel] of names.entries()) {
    const acl = acls.find((a) => a.path === dirs[i]);
    for (const g of record.channels[channel] ?? []) {
      const got = acl === undefined ? "" : effective(acl, g.kind, g.id);
      const want = g.access === "read-write" ? "rwx" : "r-x";
      const state = got === "" ? "missing" : got === want ? "ok" : "differs";
      out.push({
        channel,
        path: dirs[i]!,
        grantee: g.grantee,
        access: g.access,
        granted_at: g.granted_at,
        on_disk: state,
      });
    }
  }
  return out;
}

async function existing(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) if (await pathExists(p)) out.push(p);
  return out;
}

export interface ShareFinding {
  level: "warn" | "error" | "info";
  check: string;
  channel?: string | undefined;
  message: string;
}

/**
 * What `abq check` reports about sharing: each grant (info), and every way the ACLs drifted from them.
 * Appends to `into` (the doctor's findings) and returns the shared channels' names.
 */
export async function checkShares(
  home: string,
  into: ShareFinding[] = [],
): Promise<{ shared: string[]; findings: ShareFinding[] }> {
  const record = await readRecord(home);
  const shared = Object.keys(record.channels).sort();
  const add = (level: ShareFinding["level"], message: string, channel?: string): void =>
    void into.push({ level, check: "shares", channel, message });
  for (const channel of shared) {
    for (const g of record.channels[channel] ?? []) add("info", `shared with ${g.grantee}, ${g.access}`, channel);
  }
  try {
    await checkAcls(home, record, add);
  } catch (err) {
    // Without the acl tools (macOS, a minimal system) an unshared bus has nothing to check.
    if (shared.length > 0) add("error", `cannot read the ACLs: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { shared, findings: into };
}

type Add = (level: ShareFinding["level"], message: string, channel?: string) => void;

async function checkAcls(home: string, record: ShareRecord, add: Add): Promise<void> {
  const channels: string[] = (await listDir(channelsDir(home))).filter(isChannelName).sort();
  for (const gone of Object.keys(record.channels).filter((c) => !channels.includes(c))) {
    add("warn", `shared channel ${gone} no longer exists (abq unshare ${gone} --all removes its grants)`, gone);
  }
  const roots = channels.map((c) => join(channelsDir(home), c));
  for (const acl of await readAcls(roots)) {
    const channel = channels[roots.indexOf(acl.path)]!;
    const grants: Grant[] = record.channels[channel] ?? [];
    const stray = acl.entries.filter(
      (e) => e.id !== undefined && !e.isDefault && !grants.some((g) => g.kind === e.tag && g.id === e.id),
    );
    if (stray.length > 0) {
      const who = stray.map((e) => `${e.tag}:${e.id}`).join(", ");
      add("warn", `ACL entries abq did not grant: ${who} (abq unshare ${channel} --all removes them)`, channel);
    }
    if (grants.length === 0) continue;
    const tree = await walkTree(acl.path);
    const wrong = await misapplied(tree, grants, []);
    const bad = wrong.dirs.length + wrong.files.length;
    if (bad > 0) {
      const first = [...wrong.dirs, ...wrong.files][0]!;
      add(
        "error",
        `${bad} path(s) do not carry the share, such as ${first} (abq share ${channel} again repairs it)`,
        channel,
      );
    }
    if (tree.foreign.length > 0) {
      add(
        "warn",
        `${tree.foreign.length} path(s) written by other users: only their owner or root can change their ACL`,
        channel,
      );
    }
  }
  const paths = await existing([...new Set(record.traverse.map((t) => t.path))]);
  const byPath = new Map((await readAcls(paths)).map((a) => [a.path, a]));
  for (const t of record.traverse) {
    const acl = byPath.get(t.path);
    if (acl === undefined) continue;
    if (!allows(acl, { kind: t.kind, name: t.grantee, id: t.id, gids: t.kind === "group" ? [t.id] : [] }, "x")) {
      add(
        "error",
        `${t.grantee} can no longer pass through ${t.path} (its mode or ACL changed; abq share again repairs it)`,
      );
    }
  }
}
