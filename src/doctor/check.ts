/**
 * `abq check` (no mode): the doctor. Looks over the whole bus and reports, honestly counted, what is
 * wrong or worth attention; with `fix` it repairs what can be repaired safely (permissions, stale
 * staging files, torn files → rejected/, orphaned and stale leases, registry drift, missing folders).
 * Never deletes a message.
 */
import * as fs from "../fs-promised.ts";
import { join } from "node:path";
import { ioError } from "../protocol/errors.ts";
import { listDir } from "../spool/files.ts";
import { readLease } from "../spool/lease.ts";
import { channelsDir, type Queue, queueOf, registryPath, STATE_DIRS } from "../spool/paths.ts";
import { readPolicy } from "../spool/policy.ts";
import { readRequest, rejectFile } from "../spool/read.ts";
import { listChannels, type SpoolChannelInfo, writeRegistry } from "../spool/registry.ts";
import { requeueQueue } from "../spool/requeue.ts";
import { STAGING_MAX_AGE_MS } from "../spool/sweep.ts";
import { channelAlive } from "../liveness/heartbeat.ts";
import { idTime } from "../protocol/ids.ts";
import { checkShares } from "../share/list.ts";

export interface Finding {
  level: "warn" | "error" | "info"; // info: reported, not a problem (who a channel is shared with)
  check: string;
  channel?: string | undefined;
  message: string;
  fixed?: boolean | undefined;
}

export interface DoctorReport {
  home: string;
  channels: number;
  findings: Finding[];
  /** Problems still there after any fixing. */
  problems: number;
}

type DoctorOptions = { fix: boolean; actor: string; acl?: string[] }; // acl: channels shared by abq share
type Add = (f: Finding) => void;

/** How many files per folder the doctor parses (a deep backlog is reported, not read in full). */
const MAX_FILES_CHECKED = 10_000;
const OLD_PENDING_MS = 3600 * 1000;

export async function runDoctor(home: string, opts: DoctorOptions): Promise<DoctorReport> {
  const findings: Finding[] = [];
  const add = (f: Finding): void => void findings.push(f);
  const uid = process.getuid?.();

  const st = await fs.lstat(home).catch(() => undefined);
  if (!st) {
    add({ level: "error", check: "home", message: `${home} does not exist (run: abq init)` });
    return { home, channels: 0, findings, problems: 1 };
  }
  const channels = await listChannels(home);
  const acl = (await checkShares(home, findings)).shared; // abq share: grantees pass through the home (x)
  let mode = acl.length > 0 ? 0o710 : 0o700; // and --group channels need it readable by the group (0750)
  for (const info of channels) if ((await readPolicy(queueOf(home, info.name))).group) mode |= 0o750;
  await checkDir(home, "home", undefined, mode, uid, opts.fix, add);

  const registry = (await fs.readFile(registryPath(home), "utf8").then(JSON.parse, () => undefined)) as
    { channels?: Record<string, unknown> } | undefined;
  const listed = Object.keys(registry?.channels ?? {})
    .sort()
    .join(",");
  if (registry === undefined || listed !== channels.map((c) => c.name).join(",")) {
    const fixed = opts.fix ? await writeRegistry(home).then(() => true) : undefined;
    add({
      level: "warn",
      check: "registry",
      message: registry ? "registry.json differs from the channel folders" : "registry.json is missing or unreadable",
      fixed,
    });
  }
  for (const stray of (await listDir(channelsDir(home))).filter((n) => n.startsWith(".removing-"))) {
    add({ level: "warn", check: "tidy", message: `half-removed channel ${stray} (abq sweep removes it)` });
  }

  for (const info of channels) {
    try {
      await checkChannel(home, info, { ...opts, acl }, add);
    } catch (err) {
      // A broken channel (a file where a folder should be, a folder we may not read) is a finding for
      // that channel; the doctor goes on with the others.
      const e = ioError(`cannot check channel ${info.name}`, err);
      add({ level: "error", check: "layout", channel: info.name, message: e.message });
    }
  }
  const problems = findings.filter((f) => f.fixed !== true && f.level !== "info").length;
  return { home, channels: channels.length, findings, problems };
}

/** One channel's findings: permissions, each of its queues, and whether anyone consumes its backlog. */
async function checkChannel(home: string, info: SpoolChannelInfo, opts: DoctorOptions, add: Add): Promise<void> {
  const uid = process.getuid?.();
  const queues = [queueOf(home, info.name), ...(info.subscribers ?? []).map((s) => queueOf(home, info.name, s))];
  const policy = await readPolicy(queues[0]!);
  const want = policy.group || opts.acl?.includes(info.name) === true ? 0o2770 : 0o700;
  await checkDir(queues[0]!.dir, "permissions", info.name, want, uid, opts.fix, add);
  for (const q of queues) await checkQueue(q, policy.lease_s, opts, add);
  const pending = (await listDir(join(queues[0]!.dir, "requests"))).filter((n) => !n.startsWith("."));
  if (pending.length > 0 && (await channelAlive(home, info.name)).length === 0) {
    add({
      level: "warn",
      check: "consumers",
      channel: info.name,
      message: `${pending.length} pending, no live consumer (abq watch ${info.name})`,
    });
  }
  const oldest = Math.min(...pending.map((n) => idTime(n.replace(/\.json$/, "")) ?? Date.now()));
  if (pending.length > 0 && Date.now() - oldest > OLD_PENDING_MS) {
    add({
      level: "warn",
      check: "age",
      channel: info.name,
      message: `oldest pending message waited ${Math.round((Date.now() - oldest) / 60000)} min`,
    });
  }
}

async function checkDir(
  dir: string,
  check: string,
  channel: string | undefined,
  want: number,
  uid: number | undefined,
  fix: boolean,
  add: Add,
): Promise<void> {
  const st = await fs.lstat(dir).catch(() => undefined);
  if (!st) return;
  const where = channel !== undefined ? `channel ${channel}` : dir;
  if (st.isSymbolicLink())
    return add({
      level: "error",
      check,
      channel,
      message: `${where} is a symbolic link; abq does not follow links inside the bus`,
    });
  const sharedWithUs = (st.mode & 0o050) === 0o050 && (process.getgroups?.() ?? []).includes(st.gid);
  if (uid !== undefined && st.uid !== uid && !sharedWithUs)
    return add({ level: "error", check, channel, message: `${where} is owned by uid ${st.uid}, not you (${uid})` });
  const mode = st.mode & 0o7777;
  if ((mode & 0o002) !== 0 || (mode & ~want & 0o077) !== 0) {
    const fixed = fix
      ? await fs.chmod(dir, want).then(
          () => true,
          () => false,
        )
      : undefined;
    add({
      level: (mode & 0o002) !== 0 ? "error" : "warn",
      check,
      channel,
      message: `${where} has mode ${mode.toString(8)}, expected ${want.toString(8)}`,
      fixed,
    });
  }
}

async function checkQueue(q: Queue, leaseS: number, opts: DoctorOptions, add: Add): Promise<void> {
  const channel = q.subscriber !== undefined ? `${q.channel} (as ${q.subscriber})` : q.channel;
  for (const sub of STATE_DIRS) {
    if (await fs.stat(join(q.dir, sub)).catch(() => undefined)) continue;
    const fixed = opts.fix
      ? await fs.mkdir(join(q.dir, sub), { mode: 0o700 }).then(
          () => true,
          () => false,
        )
      : undefined;
    add({ level: "error", check: "layout", channel, message: `missing folder ${sub}/`, fixed });
  }
  for (const name of (await listDir(join(q.dir, "requests")))
    .filter((n) => !n.startsWith("."))
    .slice(0, MAX_FILES_CHECKED)) {
    const path = join(q.dir, "requests", name);
    const parsed = await readRequest(path, 64 * 1024 * 1024, name.replace(/\.json$/, "")).catch(() => undefined);
    if (!parsed || parsed.ok) continue;
    const fixed = opts.fix ? (await rejectFile(q.dir, path, parsed.problem, "requests")) !== null : undefined;
    add({ level: "warn", check: "files", channel, message: `${name}: ${parsed.problem}`, fixed });
  }
  const now = Date.now();
  const stale = [];
  for (const name of await listDir(join(q.dir, "tmp"))) {
    const st = await fs.stat(join(q.dir, "tmp", name)).catch(() => undefined);
    if (st && now - st.mtimeMs > STAGING_MAX_AGE_MS) stale.push(name);
  }
  if (stale.length > 0) {
    const fixed = opts.fix
      ? await Promise.all(stale.map((n) => fs.removeFile(join(q.dir, "tmp", n)))).then(() => true)
      : undefined;
    add({
      level: "warn",
      check: "staging",
      channel,
      message: `${stale.length} staging file(s) left by crashed writers`,
      fixed,
    });
  }
  const claimed = (await listDir(join(q.dir, "processing")))
    .filter((n) => n.endsWith(".json"))
    .map((n) => n.slice(0, -5));
  const orphans: string[] = [];
  for (const id of claimed) {
    const lease = await readLease(q, id);
    const deadline = lease
      ? Date.parse(lease.deadline)
      : ((await fs.stat(join(q.dir, "processing", `${id}.json`)).catch(() => undefined))?.ctimeMs ?? now) +
        leaseS * 1000;
    if (deadline < now) orphans.push(id);
  }
  if (orphans.length > 0) {
    const fixed = opts.fix
      ? (await requeueQueue(q, { ids: orphans, deadOwners: true }, opts.actor, true)).length > 0
      : undefined;
    add({
      level: "warn",
      check: "leases",
      channel,
      message: `${orphans.length} claim(s) past their lease (abq requeue ${q.channel})`,
      fixed,
    });
  }
  const strayLeases = (await listDir(join(q.dir, "leases"))).filter(
    (n) => n.endsWith(".json") && !n.startsWith(".") && !claimed.includes(n.slice(0, -5)),
  );
  if (strayLeases.length > 0) {
    const fixed = opts.fix
      ? await Promise.all(strayLeases.map((n) => fs.removeFile(join(q.dir, "leases", n)))).then(() => true)
      : undefined;
    add({
      level: "warn",
      check: "leases",
      channel,
      message: `${strayLeases.length} lease(s) for messages no longer claimed`,
      fixed,
    });
  }
  const dead = (await listDir(join(q.dir, "dead"))).filter((n) => n.endsWith(".json") && !n.endsWith(".reason.json"));
  if (dead.length > 0)
    add({ level: "warn", check: "dead", channel, message: `${dead.length} dead letter(s) (abq dead ${q.channel})` });
  const rejected = (await listDir(join(q.dir, "rejected"))).filter((n) => !n.endsWith(".reason.json"));
  if (rejected.length > 0)
    add({
      level: "warn",
      check: "rejected",
      channel,
      message: `${rejected.length} file(s) set aside as invalid (see rejected/)`,
    });
}
