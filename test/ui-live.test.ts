/**
 * The dashboard's live counts on the file spool come from watched folders (src/ui/spool-index.ts), not from
 * listing them on each update: after a burst of every kind of change made by other processes while it
 * runs, its counts must settle on exactly what `abq status --json` says, and its pages must hold what
 * `abq ls` holds, at any depth.
 */
import { describe, expect, it } from "vitest";
import { makeBus, parseJson, until } from "./helpers.ts";
import { follow } from "./fixtures/ui/events.ts";
import { http } from "./fixtures/ui/http.ts";
import { claim, deadLetter } from "./fixtures/ui/populate.ts";
import { startUi } from "./fixtures/ui/serve.ts";

interface StatusJson {
  channels: Array<Record<string, number | string | null> & { name: string; subscriber?: string }>;
}
const COUNTS = ["pending", "delayed", "processing", "responses", "archived", "dead", "expired", "rejected", "late"];

describe("abq ui: live counts", () => {
  it("settle on status --json after a burst of sends, claims, answers, dead letters, requeues and purges", async () => {
    const bus = makeBus();
    expect((await bus.abq(["channel", "create", "work"])).code).toBe(0);
    const ui = await startUi(bus);
    const stream = follow(ui.port, ui.token);
    await until(() => stream.latest() !== undefined);

    const lines = Array.from({ length: 300 }, (_, i) => JSON.stringify({ type: "command", content: `job ${i}` }));
    const sent = await bus.abq(["send", "work", "--batch"], { input: `${lines.join("\n")}\n` });
    expect(sent.code, sent.stderr).toBe(0);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await claim(bus, "work", "github.com/acme/w/main"));
    for (const id of ids.slice(0, 3)) expect((await bus.abq(["respond", "work", id, "--result", "ok"])).code).toBe(0);
    const dead = await deadLetter(bus, "work", "doomed", "no");
    await deadLetter(bus, "other", "doomed too", "no");
    for (const args of [
      ["requeue", "work", "--from-dead", "--id", dead],
      ["release", "work", ids[3]!, "--delay", "10m"],
    ]) {
      const r = await bus.abq(args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
    }
    expect((await bus.abq(["channel", "create", "news", "--topic"])).code).toBe(0);
    expect((await bus.abq(["subscribe", "news", "alice"])).code).toBe(0);
    expect((await bus.abq(["send", "news", "signal", "hi"])).code).toBe(0);
    expect((await bus.abq(["purge", "other", "--yes"])).code).toBe(0);

    const status = parseJson<StatusJson>((await bus.abq(["status", "--json"])).stdout).channels;
    const expected = Object.fromEntries(
      status.map((c) => [c.subscriber !== undefined ? `${c.name}/${c.subscriber}` : c.name, COUNTS.map((k) => c[k])]),
    );
    const shown = () =>
      Object.fromEntries((stream.latest()?.channels ?? []).map((c) => [c.key, COUNTS.map((k) => c[k])]));
    await until(() => JSON.stringify(shown()) === JSON.stringify(expected), 5000).catch(() => {
      expect(shown()).toEqual(expected);
    });
    // The sparkline saw the burst.
    expect(stream.latest()!.rates["work"]!.sent.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(300);
    // The claims held, by their lease owner.
    const worker = stream.latest()!.agents.find((a) => a.agent === "github.com/acme/w/main");
    expect(worker?.claims.map((c) => c.id)).toEqual([ids[4]]);

    // Pages: the newest, one deep in the middle, and the oldest, against abq ls.
    const ls = async (n: number) =>
      (await bus.abq(["ls", "work", "-n", String(n), "--json"])).stdout
        .trim()
        .split("\n")
        .map((l) => parseJson<{ id: string }>(l).id);
    const all = await ls(1000);
    const page = async (q: string) =>
      parseJson<{ entries: Array<{ id: string }> }>(
        (await http(ui.port, `/api/page?channel=work&${q}`, { headers: { "X-Abq-Token": ui.token } })).body,
      ).entries.map((e) => e.id);
    expect(await page("limit=50")).toEqual(all.slice(0, 50));
    expect(await page("offset=150&limit=20")).toEqual(all.slice(150, 170));
    expect(await page("order=oldest&limit=10")).toEqual([...all].reverse().slice(0, 10));
    expect(await page("offset=5000")).toEqual([]);
  });
});
