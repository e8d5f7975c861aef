/**
 * Heartbeats: who is alive on the bus. A heartbeat is `$ABQ_HOME/agents/<file>.json`:
 *
 *   { name, channel?, agent, pid, host, watch, kind?, at, ttl_s, expires }
 *
 * `abq heartbeat <name>` writes one (for a channel when a channel of that name exists, else for an
 * agent); `abq watch` writes one for its channel every third of its TTL and removes it when it stops,
 * and so does `abq mcp` for its agent's inbox (src/liveness/presence.ts, `kind: "mcp"`). A heartbeat is
 * live until it expires; a process's heartbeat (`watch: true`) on this host also dies with its process,
 * so a SIGKILLed watcher or MCP server stops counting at once. `abq check --channel X --alive` asks "is anyone
 * consuming X?", the question the seed's supervisor loop asks.
 */
import * as fs from "../fs-promised.ts";
import { join } from "node:path";
import { ensureDir, listDir, publishFile } from "../spool/files.ts";
import { HOST, ownerAlive } from "../spool/lease.ts";
import { assertSafeDir, assertUsableHome } from "../spool/safety.ts";
import { inboxName } from "../identity/index.ts";

export interface Heartbeat {
  name: string;
  channel?: string | undefined;
  agent: string;
  pid: number;
  host: string;
  /** Written by a running process, `abq watch` or `abq mcp` (so its pid says whether it is alive). */
  watch: boolean;
  /** Which process wrote a `watch: true` heartbeat; absent for `abq watch` (files written before this field). */
  kind?: "mcp" | undefined;
  at: string;
  ttl_s: number;
  expires: string;
}

export interface HeartbeatStatus extends Heartbeat {
  live: boolean;
  file: string;
}

export const DEFAULT_HEARTBEAT_TTL_S = 30;
/** Homes whose agents/ folders this process has checked and made. */
const checkedHomes = new Set<string>();

function agentsDir(home: string): string {
  return join(home, "agents");
}

/** Which heartbeat a file holds: one file per name, or per process for a running watcher or server. */
export type HeartbeatKey = Pick<Heartbeat, "name" | "watch" | "host" | "pid" | "kind">;

export function heartbeatFile(home: string, hb: HeartbeatKey): string {
  const slug = inboxName(hb.name).replace(/^inbox\./, "");
  const prefix = hb.kind ?? "watch";
  return join(agentsDir(home), hb.watch ? `${prefix}.${slug}.${hb.host}.${hb.pid}.json` : `${slug}.json`);
}

export async function writeHeartbeat(
  home: string,
  beat: Omit<Heartbeat, "at" | "expires" | "host"> & { host?: string },
): Promise<Heartbeat> {
  const now = Date.now();
  const hb: Heartbeat = {
    ...beat,
    host: beat.host ?? HOST,
    at: new Date(now).toISOString(),
    expires: new Date(now + beat.ttl_s * 1000).toISOString(),
  };
  const dir = agentsDir(home);
  if (!checkedHomes.has(home)) {
    // Once per process (a watcher beats every few seconds): a heartbeat must not land outside the bus
    // through a linked agents/ or be written into someone else's folder.
    await assertUsableHome(home);
    await assertSafeDir(home, "bus home");
    await assertSafeDir(dir, "folder");
    await ensureDir(join(dir, "tmp"));
    await assertSafeDir(join(dir, "tmp"), "folder");
    checkedHomes.add(home);
  }
  await publishFile(join(dir, "tmp"), heartbeatFile(home, hb), `${JSON.stringify(hb, null, 2)}\n`, {
    sync: false,
    replace: true,
  });
  return hb;
}

export async function removeHeartbeat(home: string, hb: HeartbeatKey): Promise<void> {
  await fs.removeFile(heartbeatFile(home, hb));
}

export async function listHeartbeats(home: string): Promise<HeartbeatStatus[]> {
  const out: HeartbeatStatus[] = [];
  const now = Date.now();
  for (const name of (await listDir(agentsDir(home))).sort()) {
    if (!name.endsWith(".json")) continue;
    const file = join(agentsDir(home), name);
    try {
      const hb = JSON.parse(await fs.readFile(file, "utf8")) as Heartbeat;
      const expired = !(Date.parse(hb.expires) > now);
      const gone = hb.watch && ownerAlive({ agent: hb.agent, pid: hb.pid, host: hb.host }) === false;
      out.push({ ...hb, live: !expired && !gone, file });
    } catch {
      // a torn or foreign file: not a heartbeat
    }
  }
  return out;
}

/** Is a live consumer attached to `channel`? */
export async function channelAlive(home: string, channel: string): Promise<HeartbeatStatus[]> {
  return (await listHeartbeats(home)).filter((hb) => hb.live && hb.channel === channel);
}
