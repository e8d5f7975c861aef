/**
 * `abq share` / `abq unshare`: kernel-enforced sharing of one channel with another Unix user or group,
 * through POSIX ACLs. Read-only grantees can list, show and tail; the kernel refuses their sends, claims
 * and answers (EACCES, reported as exit 9). Revoking removes the entries from the channel's own folder
 * first, so the grantee's next operation fails, a running watcher's included.
 *
 * Sequence of a share: plan (nothing changes if a folder on the way is not ours) → record → traversal
 * entries → the channel's tree (its own folder last). Of an unshare: the channel's tree (its own folder
 * first) → traversal entries no longer needed → record. Killed anywhere, the record names every entry
 * that may be left, and running the same command again completes it.
 */
import * as fs from "../fs-promised.ts";
import { AbqError, isAbqError } from "../protocol/errors.ts";
import { channelName } from "../protocol/names.ts";
import { formatTimestamp } from "../protocol/schema.ts";
import { queueOf, resolveHome } from "../spool/paths.ts";
import { readPolicy } from "../spool/policy.ts";
import { requireChannel } from "../spool/registry.ts";
import { ensureSubdir, listDir } from "../spool/files.ts";
import { join } from "node:path";
import { assertSafeHome, assertSafeQueue } from "../spool/safety.ts";
import { withShareLock } from "./lock.ts";
import { type Principal, principalKey, resolvePrincipal } from "./principal.ts";
import { type Access, type Grant, readRecord, writeRecord } from "./record.ts";
import { applyTraverse, dropTraverse, planTraverse } from "./traverse.ts";
import { applyTree } from "./tree.ts";

export interface ShareOptions {
  /** Bus directory. Default: `$ABQ_HOME`, else `~/.abq`. */
  home?: string | undefined;
  /** `user:NAME` or `group:NAME`. */
  with: string;
  /** Default: read-only. */
  access?: Access | undefined;
  /** Must be unset or a file bus: sharing over NATS is the server's accounts (docs/sharing.md). */
  url?: string | undefined;
}

export interface ShareResult {
  channel: string;
  /** The channel's folder: the path to hand over. */
  path: string;
  home: string;
  grantee: string;
  access: Access;
  /** The access the grantee had before (an upgrade or downgrade), or null. */
  previous: Access | null;
  /** Folders above the channel that got an execute-only entry for the grantee. */
  traverse_added: string[];
  /** Files other users wrote (a read-write grantee): only their owner or root may change their ACL. */
  not_owned: number;
}

export interface UnshareOptions {
  home?: string | undefined;
  with?: string | undefined;
  all?: boolean | undefined;
  url?: string | undefined;
}

export interface UnshareResult {
  channel: string;
  removed: string[];
  /** Folders above the channel whose execute-only entries were removed (the grantee's last share). */
  traverse_removed: string[];
  /** Files other users own that keep the entries they inherited (only their owner or root can change them). */
  not_owned: number;
}

/** Checks what every share command needs and returns the home, the channel and its folder. */
export async function ownedChannel(
  channel: string,
  opts: { home?: string | undefined; url?: string | undefined },
): Promise<{ home: string; name: ReturnType<typeof channelName>; dir: string }> {
  const url = opts.url ?? process.env["ABQ_URL"];
  if (url !== undefined && url !== "" && !url.startsWith("file:")) {
    throw new AbqError(
      "E_USAGE",
      "abq share works on a file bus; over NATS, sharing is the server's user permissions",
      {
        hint: "see 'Over NATS' in docs/sharing.md, or unset ABQ_URL",
      },
    );
  }
  const home = resolveHome(opts);
  const name = channelName(channel);
  await assertSafeHome(home);
  const dir = await requireChannel(home, name);
  await assertSafeQueue(dir, home); // never a linked folder: setfacl would follow it out of the bus
  const st = await fs.lstat(dir);
  const uid = process.getuid?.() ?? 0;
  if (st.uid !== uid) {
    throw new AbqError("E_UNSAFE", `channel ${name} is owned by uid ${st.uid}: only its owner can share it`, {
      hint: "ask the owner to run abq share",
    });
  }
  return { home, name, dir };
}

export async function share(channel: string, opts: ShareOptions): Promise<ShareResult> {
  const { home, name, dir } = await ownedChannel(channel, opts);
  const who = await resolvePrincipal(opts.with);
  const access = opts.access ?? "read-only";
  const uid = process.getuid?.() ?? 0;
  if (who.kind === "user" && who.id === uid) throw new AbqError("E_USAGE", "you already own this channel");
  return withShareLock(home, async () => {
    const record = await readRecord(home);
    const grants = record.channels[name] ?? [];
    const before = grants.find((g) => g.grantee === `${who.kind}:${who.name}`);
    const plan = await planTraverse(home, who, record.traverse);
    const grant: Grant = {
      grantee: `${who.kind}:${who.name}`,
      kind: who.kind,
      name: who.name,
      id: who.id,
      access,
      granted_at: before?.access === access ? before.granted_at : formatTimestamp(),
    };
    record.channels[name] = [...grants.filter((g) => g !== before), grant];
    record.traverse.push(...plan.filter((t) => !record.traverse.includes(t)));
    await writeRecord(home, record);
    await applyTraverse(plan);
    await makeQueueFolders(dir);
    const keepSetgid = (await readPolicy(queueOf(home, name))).group;
    const { foreign } = await applyTree(dir, record.channels[name], [], { ownerUid: uid, keepSetgid });
    return {
      channel: name,
      path: dir,
      home,
      grantee: grant.grantee,
      access,
      previous: before?.access ?? null,
      traverse_added: plan.map((t) => t.path),
      not_owned: foreign,
    };
  });
}

/**
 * Folders abq makes on first use, made now by the owner: made later by a read-write grantee, they would be
 * the grantee's, and only the grantee (or root) could take their ACL entries away again.
 */
async function makeQueueFolders(dir: string): Promise<void> {
  const subscribers = (await listDir(join(dir, "subscribers"))).map((s) => join(dir, "subscribers", s));
  for (const q of [dir, ...subscribers]) {
    for (const sub of LAZY_FOLDERS) await ensureSubdir(join(q, sub));
  }
}

const LAZY_FOLDERS = ["leases", "delayed", "dead", "expired", "late"];

export async function unshare(channel: string, opts: UnshareOptions): Promise<UnshareResult> {
  if ((opts.with === undefined) === (opts.all !== true)) {
    throw new AbqError("E_USAGE", "give either --with user:NAME|group:NAME or --all");
  }
  const { home, name, dir } = await ownedChannel(channel, opts).catch(async (err: unknown) => {
    // A shared channel removed since (abq channel rm): only the record and the way in are left to undo.
    const home = resolveHome(opts);
    if (!isAbqError(err) || err.code !== "E_NO_CHANNEL" || !(channel in (await readRecord(home)).channels)) throw err;
    return { home, name: channelName(channel), dir: undefined };
  });
  const who = opts.with !== undefined ? await resolvePrincipal(opts.with) : undefined;
  return withShareLock(home, async () => {
    const record = await readRecord(home);
    const grants = record.channels[name] ?? [];
    // Unrecorded but given (drift, or a share made by hand): its entries are removed all the same.
    const asGrant = (p: Principal): Grant => ({
      grantee: principalKey(p),
      kind: p.kind,
      name: p.name,
      id: p.id,
      access: "read-only",
      granted_at: "",
    });
    const removed = who === undefined ? grants : [grants.find((g) => g.grantee === principalKey(who)) ?? asGrant(who)];
    const remaining = grants.filter((g) => !removed.includes(g));
    let foreign = 0;
    if (dir !== undefined) {
      const keepSetgid = (await readPolicy(queueOf(home, name))).group;
      const uid = process.getuid?.() ?? 0;
      foreign = (await applyTree(dir, remaining, removed, { ownerUid: uid, keepSetgid })).foreign;
    }
    record.channels[name] = remaining;
    const dropped = await dropTraverse(record);
    record.traverse = record.traverse.filter((t) => !dropped.includes(t));
    await writeRecord(home, record);
    return {
      channel: name,
      removed: removed.filter((g) => grants.includes(g)).map((g) => g.grantee),
      traverse_removed: dropped.map((t) => t.path),
      not_owned: foreign,
    };
  });
}
