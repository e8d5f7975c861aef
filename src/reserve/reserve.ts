/**
 * File reservations: "don't touch src/api/**, I'm refactoring it". A reservation is an agent's claim on
 * some globs (paths relative to the repository), exclusive or shared, until it expires. All of them live in
 * one record of the compare-and-set store (src/kv/store.ts), so adding one is read-check-put: two agents
 * reserving overlapping globs at once cannot both succeed. `checkReservations` tells whether paths (or the
 * files staged in git) fall under another live agent's exclusive reservation: the pre-commit guard.
 *
 * Live means not expired and, when a process owns it (the MCP server does), that process still runs on
 * this host. Reservations are scoped by repository when both sides know theirs (identities from git).
 */
import type { CommonOptions } from "../api/options.ts";
import { resolveIdentity } from "../identity/index.ts";
import { MAX_SPAN_S } from "../protocol/constants.ts";
import { AbqError } from "../protocol/errors.ts";
import { randomHex } from "../protocol/random.ts";
import { type RevStore, withStore } from "../kv/store.ts";
import { liveness, makeOwner, type Owner } from "../lock/owner.ts";
import { checkGlob, globMatches, globsOverlap } from "./glob.ts";
import { repoPaths, stagedPaths } from "./git-paths.ts";

export const DEFAULT_RESERVE_TTL_S = 3600;
const AREA = { kind: "reservations" } as const;
const KEY = "table";
const MAX_ATTEMPTS = 1000;

export interface Reservation {
  id: string;
  agent: string;
  repo?: string | undefined;
  globs: string[];
  mode: "exclusive" | "shared";
  reason?: string | undefined;
  owner: Owner;
  created_at: string;
  expires_at: string;
}

function isLive(r: Reservation, now: number): boolean {
  return Date.parse(r.expires_at) > now && liveness(r.owner) !== "dead";
}

/** Same repository, or either side does not know its own. */
function sameScope(a: Reservation, repo: string | undefined): boolean {
  return a.repo === undefined || repo === undefined || a.repo === repo;
}

/** Reads the table, lets `change` edit a copy of its live entries, and puts it back (retrying on a race). */
async function update<T>(
  opts: CommonOptions,
  change: (live: Reservation[]) => T,
): Promise<{ result: T; pruned: number }> {
  return withStore(opts, AREA, async (s: RevStore) => {
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const cur = await s.get(KEY);
      const all = ((cur?.record["reservations"] as Reservation[] | undefined) ?? []).slice();
      const now = Date.now();
      const live = all.filter((r) => isLive(r, now));
      const result = change(live);
      if ((await s.put(KEY, { reservations: live }, cur?.revision ?? 0)) !== undefined) {
        return { result, pruned: all.length - all.filter((r) => isLive(r, now)).length };
      }
    }
    throw new AbqError("E_CONFLICT", `the reservation table kept changing: gave up after ${MAX_ATTEMPTS} attempts`);
  });
}

export interface ReserveOptions extends CommonOptions {
  globs: string[];
  /** Seconds until it expires. Default 3600. */
  ttl?: number | undefined;
  reason?: string | undefined;
  /** exclusive (the default): nobody else may reserve or commit there; shared: others may share it. */
  mode?: "exclusive" | "shared" | undefined;
}

export async function reserve(opts: ReserveOptions): Promise<{ reservation: Reservation; pruned: number }> {
  if (!Array.isArray(opts.globs) || opts.globs.length === 0) throw new AbqError("E_USAGE", "give at least one glob");
  const globs = [...new Set(opts.globs.map(checkGlob))];
  const ttl = opts.ttl ?? DEFAULT_RESERVE_TTL_S;
  if (!(ttl > 0 && ttl <= MAX_SPAN_S))
    throw new AbqError("E_USAGE", `ttl must be more than 0 and at most ${MAX_SPAN_S} seconds`);
  if (opts.reason !== undefined && opts.reason.length > 500)
    throw new AbqError("E_USAGE", "reason is over 500 characters");
  const id = await resolveIdentity({ cwd: opts.cwd });
  const now = Date.now();
  const reservation: Reservation = {
    id: `rsv_${randomHex(6)}`,
    agent: id.agent,
    ...(id.repo !== undefined ? { repo: id.repo } : {}),
    globs,
    mode: opts.mode ?? "exclusive",
    ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
    owner: makeOwner(id.agent, opts.ownerPid ?? process.pid),
    created_at: new Date(now).toISOString(),
    expires_at: new Date(now + ttl * 1000).toISOString(),
  };
  const { pruned } = await update(opts, (live) => {
    const clashes = live.flatMap((other) =>
      other.agent === reservation.agent || !sameScope(other, reservation.repo)
        ? []
        : other.mode === "exclusive" || reservation.mode === "exclusive"
          ? other.globs.flatMap((g) => globs.filter((m) => globsOverlap(g, m)).map((m) => ({ other, g, m })))
          : [],
    );
    if (clashes.length > 0) {
      const { other, g, m } = clashes[0]!;
      throw new AbqError(
        "E_CONFLICT",
        `${m} overlaps ${g}, reserved (${other.mode}) by ${other.agent} until ${other.expires_at}` +
          `${other.reason !== undefined ? `: ${other.reason}` : ""}${clashes.length > 1 ? ` (and ${clashes.length - 1} more)` : ""}`,
        { hint: "ask them to release it, or wait until it expires (abq reserve list)" },
      );
    }
    live.push(reservation);
  });
  return { reservation, pruned };
}

export interface ReleaseReservationsOptions extends CommonOptions {
  /** Only these globs (as reserved); default: all of the caller's. */
  globs?: string[] | undefined;
  /** Only this reservation. */
  id?: string | undefined;
}

/** Releases the caller's reservations (or some globs of them); says which, and how many expired ones went. */
export async function releaseReservations(
  opts: ReleaseReservationsOptions,
): Promise<{ released: Reservation[]; pruned: number }> {
  const only = opts.globs?.length ? new Set(opts.globs.map(checkGlob)) : undefined;
  const agent = (await resolveIdentity({ cwd: opts.cwd })).agent;
  const { result, pruned } = await update(opts, (live) => {
    const released: Reservation[] = [];
    for (let i = live.length - 1; i >= 0; i--) {
      const r = live[i]!;
      if (r.agent !== agent || (opts.id !== undefined && r.id !== opts.id)) continue;
      const keep = only ? r.globs.filter((g) => !only.has(g)) : [];
      if (keep.length === r.globs.length) continue;
      released.push({ ...r, globs: r.globs.filter((g) => !keep.includes(g)) });
      if (keep.length === 0) live.splice(i, 1);
      else live[i] = { ...r, globs: keep };
    }
    return released;
  });
  return { released: result, pruned };
}

/** Live reservations, and how many in the table have expired (or lost their owner) but are not yet pruned. */
export async function listReservations(opts: CommonOptions): Promise<{ reservations: Reservation[]; expired: number }> {
  return withStore(opts, AREA, async (s) => {
    const all = ((await s.get(KEY))?.record["reservations"] as Reservation[] | undefined) ?? [];
    const now = Date.now();
    const reservations = all.filter((r) => isLive(r, now));
    return { reservations, expired: all.length - reservations.length };
  });
}

export interface CheckOptions extends CommonOptions {
  /** Paths relative to `cwd` (or absolute). */
  paths?: string[] | undefined;
  /** Check the files staged in git at `cwd`. */
  staged?: boolean | undefined;
}

export interface CheckConflict {
  path: string;
  glob: string;
  reservation: Reservation;
}

/** Which of the paths fall under another live agent's exclusive reservation; `ok` when none do. */
export async function checkReservations(
  opts: CheckOptions,
): Promise<{ ok: boolean; checked: number; conflicts: CheckConflict[] }> {
  const cwd = opts.cwd ?? process.cwd();
  const paths = [
    ...(opts.staged ? await stagedPaths(cwd) : []),
    ...(opts.paths?.length ? await repoPaths(cwd, opts.paths) : []),
  ];
  const id = await resolveIdentity({ cwd });
  const { reservations } = await listReservations(opts);
  const conflicts: CheckConflict[] = [];
  for (const r of reservations) {
    if (r.agent === id.agent || r.mode !== "exclusive" || !sameScope(r, id.repo)) continue;
    for (const path of paths) {
      const glob = r.globs.find((g) => globMatches(g, path));
      if (glob !== undefined) conflicts.push({ path, glob, reservation: r });
    }
  }
  return { ok: conflicts.length === 0, checked: paths.length, conflicts };
}
