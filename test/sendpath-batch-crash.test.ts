/**
 * `abq send --batch` writes a chunk at a time (src/spool/send-batch.ts): staged files in tmp/, fsynced,
 * renamed into requests/ in line order, one folder fsync, then reported. Real SIGKILLs at random moments
 * prove what that leaves: every message reported on stdout is in requests/, whole; nothing is there twice;
 * what is there is a prefix of the input in order; staging leftovers stay in tmp/ until the sweep.
 */
import { readdirSync, readFileSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, makeBus, parseJson, startNode, until, type Bus } from "./helpers.ts";

const LINES = 3000;
const input = Array.from({ length: LINES }, (_, i) => JSON.stringify({ type: "signal", content: `m${i}` })).join("\n");
const dir = (bus: Bus, sub: string): string => join(bus.home, "channels", "q", sub);

/** The messages in requests/, in listing (id) order; every file must parse whole. */
function pending(bus: Bus): { id: string; content: string }[] {
  return readdirSync(dir(bus, "requests"))
    .sort()
    .map((name) => {
      const m = parseJson<{ id: string; content: string }>(readFileSync(join(dir(bus, "requests"), name), "utf8"));
      expect(`${m.id}.json`).toBe(name);
      return m;
    });
}

/** What a batch killed at `when` left behind, checked; returns how many messages landed. */
async function killedBatch(bus: Bus, reportedBeforeKill: number, extraMs: number): Promise<number> {
  const run = startNode([CLI, "send", "q", "--batch", "--json"], { cwd: bus.root, env: bus.env, input });
  let exited = false;
  void run.done.then(() => (exited = true));
  let stdout = "";
  run.child.stdout!.on("data", (d: string) => (stdout += d));
  await until(() => exited || stdout.split("\n").length - 1 >= reportedBeforeKill, 60_000);
  await new Promise((r) => setTimeout(r, extraMs));
  run.child.kill("SIGKILL");
  const result = await run.done;
  // Only complete lines count as reported (a line cut by the kill was never fully said).
  const reported = result.stdout
    .split("\n")
    .slice(0, -1)
    .map((l) => parseJson<{ id: string; content: string }>(l));
  const landed = pending(bus);
  const ids = new Set(landed.map((m) => m.id));
  for (const m of reported) expect(ids.has(m.id), `reported ${m.id} (${m.content}) is in requests/`).toBe(true);
  // A prefix of the input, in order, each once: nothing duplicated, nothing skipped.
  expect(landed.map((m) => m.content)).toEqual(Array.from({ length: landed.length }, (_, i) => `m${i}`));
  return landed.length;
}

describe("send --batch killed mid-batch", () => {
  it("every reported message is in requests/ whole, once, in line order", { timeout: 180_000 }, async () => {
    const landings: number[] = [];
    for (let round = 0; round < 5; round++) {
      const bus = makeBus();
      await bus.abq(["channel", "create", "q"]);
      const target = Math.floor(Math.random() * LINES * 0.8);
      landings.push(await killedBatch(bus, target, Math.floor(Math.random() * 40)));
      // Whatever the kill left, the queue works: a later batch goes after it, and recv takes the oldest.
      const more = await bus.abq(["send", "q", "--batch"], { input: '{"type":"signal","content":"after"}\n' });
      expect(more.code, more.stderr).toBe(0);
      const after = pending(bus);
      expect(after.at(-1)?.content).toBe("after");
      if (after.length > 1)
        expect(parseJson((await bus.abq(["recv", "q", "--json"])).stdout)).toMatchObject({ content: "m0" });
    }
    expect(landings.some((n) => n < LINES)).toBe(true); // at least one kill landed mid-batch
  });

  it("killed after staging a chunk: nothing visible or reported, and the sweep removes the leftovers", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "q"]);
    const r = await bus.abq(["send", "q", "--batch", "--json"], { input, env: { ABQ_CRASH_AT: "send:staged" } });
    expect(r.signal).toBe("SIGKILL");
    expect(r.stdout).toBe("");
    expect(readdirSync(dir(bus, "requests"))).toEqual([]);
    const staged = readdirSync(dir(bus, "tmp"));
    expect(staged.length).toBeGreaterThan(0);
    for (const name of staged) {
      expect(parseJson(readFileSync(join(dir(bus, "tmp"), name), "utf8"))).toMatchObject({ type: "signal" });
    }
    expect((await bus.abq(["sweep"])).code).toBe(0);
    expect(readdirSync(dir(bus, "tmp"))).toHaveLength(staged.length); // a fresh one may be a live writer's
    const old = new Date(Date.now() - 2 * 3600 * 1000);
    for (const name of staged) utimesSync(join(dir(bus, "tmp"), name), old, old);
    expect((await bus.abq(["sweep"])).code).toBe(0);
    expect(readdirSync(dir(bus, "tmp"))).toEqual([]);
  });
});
