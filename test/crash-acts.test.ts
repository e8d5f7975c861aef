/**
 * Crash points of the claim handle's acts (lifecycle steps 5–7 and 11 in src/protocol/index.ts), proven
 * with real SIGKILLs: a release or term killed after taking the claim, and an ack or cancel killed after
 * archiving, each leave a state that is visible, recoverable, and loses nothing.
 */
import { readdirSync, readFileSync, renameSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LIB, makeBus, parseJson, runNode, startNode, type Bus } from "./helpers.ts";

const ls = (bus: Bus, dir: string): string[] => readdirSync(join(bus.home, "channels", "c", dir)).sort();

async function claimed(bus: Bus): Promise<string> {
  expect((await bus.abq(["send", "c", "command", "work", "--create"])).code).toBe(0);
  const r = await bus.abq(["recv", "c", "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return parseJson<{ id: string }>(r.stdout).id;
}

async function status(bus: Bus): Promise<Record<string, number>> {
  const json = parseJson<{ channels: Array<Record<string, number> & { name: string }> }>(
    (await bus.abq(["status", "--json"])).stdout,
  );
  return json.channels.find((c) => c.name === ("c" as unknown))!;
}

describe("crash points of the claim's acts", () => {
  for (const act of [
    ["release", "c"],
    ["term", "c", "--reason", "poison"],
  ]) {
    it(`${act[0]} killed after taking the claim: still counted as claimed, and the sweep puts it back`, async () => {
      const bus = makeBus();
      const id = await claimed(bus);
      const killed = await bus.abq([act[0]!, act[1]!, id, ...act.slice(2)], { env: { ABQ_CRASH_AT: "release:taken" } });
      expect(killed.signal).toBe("SIGKILL");
      const [taken] = ls(bus, "processing");
      expect(taken).toMatch(new RegExp(`^\\.retry-${id}\\.\\d+\\.[0-9a-f]{14}$`));
      expect(await status(bus)).toMatchObject({ pending: 0, processing: 1 });
      const listed = (await bus.abq(["ls", "c", "processing", "--json"])).stdout;
      expect(parseJson<{ id: string }>(listed)).toMatchObject({ id, content: "work" });

      // Taken by a process that still runs, it may still be moving, however old the message (its mtime):
      // the sweep leaves it. (Shown by naming a live process as the taker.) So it does when the taker ran
      // on another host (the name's host tag): a pid says nothing there.
      const processing = join(bus.home, "channels", "c", "processing");
      const live = startNode(["-e", "setTimeout(() => {}, 60000)"]);
      const tag = taken!.slice(-14, -6);
      const foreign = tag === "00000000" ? "11111111" : "00000000";
      const old = new Date(Date.now() - 3_600_000);
      let current = taken!;
      for (const name of [
        taken!.replace(/\.\d+\.([0-9a-f]{14})$/, `.${live.child.pid!}.$1`),
        taken!.replace(/([0-9a-f]{8})([0-9a-f]{6})$/, `${foreign}$2`),
      ]) {
        renameSync(join(processing, current), join(processing, name));
        utimesSync(join(processing, name), old, old);
        current = name;
        expect((await bus.abq(["sweep", "c"])).code).toBe(0);
        expect(ls(bus, "processing")).toEqual([name]);
      }
      live.child.kill("SIGKILL");
      await live.done;
      renameSync(join(processing, current), join(processing, taken!));
      // Its taker gone, the sweep puts it back at once, and the log says so.
      expect((await bus.abq(["sweep", "c"])).code).toBe(0);
      expect(ls(bus, "processing")).toEqual([]);
      expect(readFileSync(join(bus.home, "channels", "c", "events.jsonl"), "utf8")).toMatch(
        new RegExp(`"event":"requeued","id":"${id}".*"detail":"put back: the process releasing it is gone"`),
      );
      const again = await bus.abq(["recv", "c", "--json"]);
      expect(parseJson<{ id: string; content: string }>(again.stdout)).toMatchObject({ id, content: "work" });
    });
  }

  it("ack killed after archiving: retired, never handed out again, and its stray lease is swept", async () => {
    const bus = makeBus();
    const id = await claimed(bus);
    const killed = await bus.abq(["ack", "c", id], { env: { ABQ_CRASH_AT: "archive:moved" } });
    expect(killed.signal).toBe("SIGKILL");
    expect(ls(bus, "archive")).toEqual([`${id}_request.json`]); // the reason was not written yet
    expect(ls(bus, "processing")).toEqual([]);
    expect((await bus.abq(["recv", "c"])).code).toBe(4);
    const shown = parseJson<{ state: string; response?: unknown }>((await bus.abq(["show", id, "--json"])).stdout);
    expect(shown.state).toBe("done");
    expect(shown.response).toBeUndefined();
    expect(await status(bus)).toMatchObject({ processing: 0, archived: 1 });
  });

  it("cancel killed after archiving: an asker waiting on it is told it will not be answered", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "c"]);
    const sent = parseJson<{ id: string }>((await bus.abq(["send", "c", "command", "x", "--json"])).stdout);
    const killed = await bus.abq(["cancel", "c", sent.id], { env: { ABQ_CRASH_AT: "archive:moved" } });
    expect(killed.signal).toBe("SIGKILL");
    expect(ls(bus, "archive")).toEqual([`${sent.id}_request.json`]);
    // A waiter for its answer stops at once instead of waiting out its timeout.
    const script = `const { FsTransport } = await import(${JSON.stringify(LIB)});
      const t = new FsTransport({ home: process.env.ABQ_HOME });
      const t0 = Date.now();
      try { await t.waitForResponse("c", ${JSON.stringify(sent.id)}, 20000); console.log("answered?"); }
      catch (err) { console.log(err.code, Date.now() - t0 < 5000, err.message); }`;
    const r = await runNode(["--input-type=module", "-e", script], { env: bus.env });
    expect(r.stdout).toMatch(/^E_CONFLICT true message req_[0-9a-f]+ will not be answered: archived without an answer/);
  });
});
