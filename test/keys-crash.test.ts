/**
 * SIGKILL while the registry is being written: `keygen`, `keys add` and `keys revoke` killed at random
 * moments never leave a record that parses wrong or a key that speaks for two agents, and a revocation,
 * once its command has reported it, holds.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, makeBus, parseJson, startNode } from "./helpers.ts";

/** Starts `abq args` and SIGKILLs it after `ms` (if it is still running). */
async function killedAfter(env: NodeJS.ProcessEnv, args: string[], ms: number): Promise<boolean> {
  const run = startNode([CLI, ...args], { env, timeoutMs: 30_000 });
  const timer = setTimeout(() => run.child.kill("SIGKILL"), ms);
  const r = await run.done;
  clearTimeout(timer);
  return r.signal === "SIGKILL";
}

describe("the key registry under SIGKILL", () => {
  it("keygen, keys add and keys revoke killed at random moments leave a consistent registry", async () => {
    const bus = makeBus();
    const donor = makeBus();
    const pubs: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await donor.abq(["keygen", "--json"], { env: { ABQ_AGENT: `donor/${i}` } });
      pubs.push(parseJson<{ public_key_file: string }>(r.stdout).public_key_file);
    }
    // Kills spread from half of a whole keygen's time to just past it: start-up, the writes, the exit.
    const started = Date.now();
    expect((await bus.abq(["keygen"], { env: { ABQ_AGENT: "timing/run" } })).code).toBe(0);
    const full = Date.now() - started;
    const killed: boolean[] = [];
    for (let i = 0; i < 18; i++) {
      const ms = Math.round(full * (0.5 + ((i * 7) % 18) / 30));
      const which = i % 3;
      if (which === 0) killed.push(await killedAfter({ ...bus.env, ABQ_AGENT: `gen/${i}` }, ["keygen"], ms));
      else if (which === 1)
        killed.push(await killedAfter(bus.env, ["keys", "add", `add/${i}`, pubs[i % pubs.length] ?? ""], ms));
      else {
        const ids = listKeys(bus.home).filter((f) => f.endsWith(".pub"));
        const id = ids[i % Math.max(ids.length, 1)]?.slice(0, 16) ?? "0123456789abcdef";
        killed.push(await killedAfter(bus.env, ["keys", "revoke", id, "--reason", `kill ${i}`], ms));
      }
    }
    expect(killed.some(Boolean)).toBe(true);
    const list = await bus.abq(["keys", "list", "--json"]);
    expect(list.code, list.stderr).toBe(0);
    const records = list.stdout
      .trim()
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => parseJson<{ keyid: string; agent?: string; damaged?: string }>(l));
    expect(records.filter((r) => r.damaged !== undefined)).toEqual([]);
    // Every record on disk parses, and each key names at most one agent.
    for (const f of listKeys(bus.home).filter((n) => n.endsWith(".json"))) {
      expect(() => {
        JSON.parse(readFileSync(join(bus.home, "keys", f), "utf8"));
      }, f).not.toThrow();
    }
    expect(new Set(records.map((r) => r.keyid)).size).toBe(records.length);
    // The registry still works: a fresh key, registered and used, end to end.
    await bus.abq(["channel", "create", "c", "--require-signed"]);
    expect((await bus.abq(["keygen"], { env: { ABQ_AGENT: "after/kill" } })).code).toBe(0);
    const sent = await bus.abq(["send", "c", "signal", "x", "--sign", "--json"], { env: { ABQ_AGENT: "after/kill" } });
    expect(parseJson<{ id: string }>((await bus.abq(["recv", "c", "--json"])).stdout).id).toBe(
      parseJson<{ id: string }>(sent.stdout).id,
    );
  });
});

function listKeys(home: string): string[] {
  try {
    return readdirSync(join(home, "keys"));
  } catch {
    return [];
  }
}
