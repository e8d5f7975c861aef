/**
 * Finishing a claim from the command line: `abq ack`, `abq release [--delay]` and `abq term`, each fenced
 * by the lease `abq recv` printed like `abq respond` is, through the built CLI as a child process.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, makeBus, parseJson, until, type Bus } from "./helpers.ts";

interface Found {
  state: string;
  reason?: Record<string, unknown>;
  lease?: { token: string };
  request?: { attempts?: number };
}

/** A bus with channel q and one message in it, claimed; returns the id and the claim's lease token. */
async function claimedOne(bus: Bus, content = "job"): Promise<{ id: string; token: string }> {
  if (!existsSync(join(bus.home, "channels", "q"))) expect((await bus.abq(["channel", "create", "q"])).code).toBe(0);
  const sent = parseJson<{ id: string }>((await bus.abq(["send", "q", "command", content, "--json"])).stdout);
  const recv = await bus.abq(["recv", "q"]);
  expect(recv.code, recv.stderr).toBe(0);
  const token = /^Lease: (\S+) until /m.exec(recv.stdout)?.[1];
  expect(token).toBeDefined();
  return { id: sent.id, token: token! };
}

const found = async (bus: Bus, id: string): Promise<Found> =>
  parseJson<Found>((await bus.abq(["show", id, "--json"])).stdout);

const filesIn = (bus: Bus, state: string): string[] => {
  const dir = join(bus.home, "channels", "q", state);
  return existsSync(dir) ? readdirSync(dir) : [];
};

describe("ack, release, term", () => {
  it("recv names the commands that finish the claim, each with its lease", async () => {
    const bus = makeBus();
    const { id, token } = await claimedOne(bus);
    const r = await bus.abq(["show", id]);
    expect(r.stdout).toContain(`State: claimed\nLease: ${token} held by test/agent`);
    await bus.abq(["send", "q", "command", "next"]);
    const text = (await bus.abq(["recv", "q"])).stdout;
    const lease = /^Lease: (\S+)/m.exec(text)?.[1];
    for (const verb of ["respond", "ack", "release"])
      expect(text).toMatch(new RegExp(`abq ${verb} q req_\\w+ --lease ${lease}`));
  });

  it("ack archives the message as acknowledged, in text and JSON", async () => {
    const bus = makeBus();
    const { id, token } = await claimedOne(bus);
    expect(await bus.abq(["ack", "q", id, "--lease", token])).toMatchObject({
      code: 0,
      stdout: `Acknowledged: ${id}\n`,
      stderr: "",
    });
    expect(filesIn(bus, "processing")).toEqual([]);
    expect(filesIn(bus, "archive")).toContain(`${id}_request.json`);
    expect(await found(bus, id)).toMatchObject({ state: "acknowledged", reason: { by: "test/agent" } });
    expect((await bus.abq(["show", id])).stdout).toMatch(
      /State: acknowledged\nReason: acknowledged by test\/agent\nBy: test\/agent\n/,
    );

    const second = await claimedOne(bus);
    const json = await bus.abq(["ack", "q", second.id, "--json"]); // unfenced: whoever holds the claim now
    expect(parseJson(json.stdout)).toEqual({ channel: "q", id: second.id, acknowledged: true });
    expect((await bus.abq(["ack", "q", second.id])).code).toBe(7); // acknowledged already: a conflict
  });

  it("release puts it back at once, without counting an attempt", async () => {
    const bus = makeBus();
    const { id, token } = await claimedOne(bus);
    expect(await bus.abq(["release", "q", id, "--lease", token])).toMatchObject({
      code: 0,
      stdout: `Released: ${id} (released)\n`,
    });
    expect(filesIn(bus, "requests")).toEqual([`${id}.json`]);
    const again = parseJson<{ id: string; attempts?: number }>((await bus.abq(["recv", "q", "--json"])).stdout);
    expect(again.id).toBe(id);
    expect(again.attempts ?? 0).toBe(0);
  });

  it("release --delay 2s holds it in delayed/: listed there, not claimable before, claimable after", async () => {
    const bus = makeBus();
    const { id, token } = await claimedOne(bus);
    const t0 = Date.now();
    const r = await bus.abq(["release", "q", id, "--lease", token, "--delay", "2s", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(parseJson(r.stdout)).toEqual({ channel: "q", id, outcome: "delayed", delay_s: 2 });
    expect((await bus.abq(["ls", "q", "delayed"])).stdout).toMatch(
      new RegExp(`^${id}\\s+command\\s+test/agent\\s+in \\ds`),
    );
    expect((await bus.abq(["ls", "q", "delayed", "-c"])).stdout).toBe("1\n");
    expect(await found(bus, id)).toMatchObject({ state: "delayed" });
    // On a slow machine this first recv may already run past the due time and take it: then it is the
    // late claim. Either way, what must hold is when the claim was made (its lease says), never before due.
    let got: { id: string; attempts?: number } | undefined;
    await until(async () => {
      const late = await bus.abq(["recv", "q", "--json"]);
      if (late.code === 0) got = parseJson(late.stdout);
      else expect(late.code).toBe(4);
      return late.code === 0;
    }, 15_000);
    const lease = parseJson<{ claimed_at: string }>(
      readFileSync(join(bus.home, "channels", "q", "leases", `${id}.json`), "utf8"),
    );
    expect(Date.parse(lease.claimed_at) - t0).toBeGreaterThanOrEqual(1900);
    expect(got).toMatchObject({ id });
    expect(got!.attempts ?? 0).toBe(0); // a release is not a failed attempt
    expect((await bus.abq(["release", "q", id, "--delay", "10m"])).stdout).toBe(`Released: ${id} (delayed 10m)\n`);
    expect((await bus.abq(["release", "q", id, "--delay", "soon"])).code).toBe(2);
  });

  it("term dead-letters it with the reason: ls dead and show print it", async () => {
    const bus = makeBus();
    const { id, token } = await claimedOne(bus);
    const r = await bus.abq(["term", "q", id, "--lease", token, "--reason", "input is not JSON"]);
    expect(r).toMatchObject({ code: 0, stdout: `Dead-lettered: ${id} (see: abq show ${id})\n` });
    expect(filesIn(bus, "dead")).toContain(`${id}.json`);
    const dead = (await bus.abq(["ls", "q", "dead"])).stdout;
    expect(dead).toMatch(new RegExp(`^${id}\\s+command\\s+test/agent\\s+\\d+s\\s+input is not JSON`));
    expect(parseJson((await bus.abq(["ls", "q", "dead", "--json"])).stdout)).toMatchObject({
      id,
      reason: { reason: "input is not JSON" },
    });
    const shown = (await bus.abq(["show", id])).stdout;
    expect(shown).toMatch(/State: dead\nReason: input is not JSON\n/);
    expect(await found(bus, id)).toMatchObject({ state: "dead", reason: { reason: "input is not JSON" } });
    expect((await bus.abq(["term", "q", id])).code).toBe(2); // --reason is required
  });

  it.each([
    ["ack", []],
    ["release", []],
    ["release", ["--delay", "1m"]],
    ["term", ["--reason", "stale"]],
    ["respond", ["--result", "late answer"]],
  ])("%s with a stale --lease %j exits 7 and moves nothing", async (verb, extra) => {
    const bus = makeBus();
    const { id, token: stale } = await claimedOne(bus);
    // The claim is given back and taken again: the first lease is stale from now on.
    expect((await bus.abq(["release", "q", id, "--lease", stale])).code).toBe(0);
    const current = /^Lease: (\S+)/m.exec((await bus.abq(["recv", "q"])).stdout)?.[1];
    expect(current).not.toBe(stale);

    const r = await bus.abq([verb, "q", id, "--lease", stale, ...extra]);
    expect(r.code).toBe(7);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^abq: the lease on req_\w+ was lost.*nothing changed.*\n$/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(filesIn(bus, "processing")).toEqual([`${id}.json`]);
    for (const state of ["requests", "delayed", "archive", "dead", "responses"])
      expect(filesIn(bus, state)).toEqual([]);
    expect(await found(bus, id)).toMatchObject({ state: "claimed", lease: { token: current } });
    // The current holder still can.
    expect((await bus.abq(["ack", "q", id, "--lease", current!])).code).toBe(0);
  });
});

describe("a claim made by a short-lived shell", () => {
  it("outlives the shell that ran recv: sweep keeps it, renew extends it, respond finishes it", async () => {
    const bus = makeBus();
    expect((await bus.abq(["channel", "create", "q"])).code).toBe(0);
    const sent = parseJson<{ id: string }>((await bus.abq(["send", "q", "command", "job", "--json"])).stdout);
    // What an agent's shell tool does: a new shell per command, gone as soon as recv returns.
    const shell = spawnSync("sh", ["-c", `node '${CLI}' recv q --json`], { env: bus.env, encoding: "utf8" });
    expect(shell.status, shell.stderr).toBe(0);
    const lease = () =>
      parseJson<{ owner: { pid: number }; deadline: string; token: string }>(
        readFileSync(join(bus.home, "channels", "q", "leases", `${sent.id}.json`), "utf8"),
      );
    expect(lease().owner.pid).toBe(0); // held by its lease alone
    const swept = await bus.abq(["sweep", "--json"]);
    expect(swept.code, swept.stderr).toBe(0);
    expect((await found(bus, sent.id)).state).toBe("claimed"); // the shell is gone; the claim stays

    const before = Date.parse(lease().deadline);
    await new Promise((r) => setTimeout(r, 50));
    const renewed = await bus.abq(["renew", "q", sent.id, "--lease", lease().token, "--json"]);
    expect(renewed.code, renewed.stderr).toBe(0);
    expect(Date.parse(parseJson<{ deadline: string }>(renewed.stdout).deadline)).toBeGreaterThan(before);
    expect(Date.parse(lease().deadline)).toBeGreaterThan(before);

    const answered = await bus.abq(["respond", "q", sent.id, "--result", "done", "--lease", lease().token]);
    expect(answered.code, answered.stderr).toBe(0);
    expect((await found(bus, sent.id)).state).toBe("done");
    expect((await bus.abq(["renew", "q", sent.id])).code).toBe(7); // nothing left to renew: it is done
  });
});
