/**
 * Every state, built the way users meet it (a handler asking for a retry, attempts running out, a TTL
 * passing, a bad file dropped in, an answer arriving after its lease was lost), then looked for in
 * `status --json`, `ls <state> --json` and `show --json`: nothing a message can become is invisible.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, makeBus, parseJson, startNode, until, type Bus } from "./helpers.ts";

const HANDLERS = join(import.meta.dirname, "fixtures", "handlers");

async function sendJson(bus: Bus, ch: string, content: string, extra: string[] = []): Promise<string> {
  const r = await bus.abq(["send", ch, "command", content, "--json", ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return parseJson<{ id: string }>(r.stdout).id;
}

async function counts(bus: Bus, ch: string): Promise<Record<string, number>> {
  const json = parseJson<{ channels: Array<{ name: string } & Record<string, number>> }>(
    (await bus.abq(["status", "--json"])).stdout,
  );
  return json.channels.find((c) => c.name === ch)!;
}

async function listed(bus: Bus, ch: string, state: string): Promise<Array<Record<string, unknown>>> {
  const out = (await bus.abq(["ls", ch, state, "--json"])).stdout.trim();
  return out === "" ? [] : out.split("\n").map((l) => parseJson(l));
}

async function shown(bus: Bus, id: string): Promise<{ state: string; reason?: Record<string, unknown> }> {
  const r = await bus.abq(["show", id, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return parseJson(r.stdout);
}

describe("every state, built for real", () => {
  it("a retry with backoff is delayed; attempts running out is dead, with the handler's last error", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "r", "--max-attempts", "2", "--backoff", "600"]);
    await bus.abq(["channel", "create", "d", "--max-attempts", "1"]);
    const retried = await sendJson(bus, "r", "75"); // exit-code.sh exits with its content: 75 = retry
    const doomed = await sendJson(bus, "d", "75");
    for (const ch of ["r", "d"]) {
      const w = await startNode([CLI, "watch", ch, "--handler", join(HANDLERS, "exit-code.sh"), "--once"], {
        env: bus.env,
      }).done;
      expect(w.code, w.stderr).toBe(0);
    }
    expect(await counts(bus, "r")).toMatchObject({ pending: 0, delayed: 1, processing: 0, dead: 0 });
    expect((await listed(bus, "r", "delayed")).map((e) => e["id"])).toEqual([retried]);
    expect((await shown(bus, retried)).state).toBe("delayed");

    expect(await counts(bus, "d")).toMatchObject({ pending: 0, delayed: 0, dead: 1 });
    const [dead] = await listed(bus, "d", "dead");
    expect(dead).toMatchObject({ id: doomed, reason: { exit_code: 75, attempts: 1, max_attempts: 1 } });
    const d = await shown(bus, doomed);
    expect(d.state).toBe("dead");
    expect(d.reason).toMatchObject({ reason: expect.stringMatching(/exit 75/) as unknown, exit_code: 75 });
  });

  it("a passed TTL is expired; a bad file is rejected; both with their reasons", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "c"]);
    const stale = await sendJson(bus, "c", "old news", ["--ttl", "1"]);
    const bad = join(bus.home, "channels", "c", "requests", "req_00000000000000000000000000000001.json");
    writeFileSync(bad, "{ not json");
    await new Promise((r) => setTimeout(r, 1100));
    const recv = await bus.abq(["recv", "c"]);
    expect(recv.code).toBe(4);
    expect(recv.stderr).toMatch(/expired 1 message.*\n?.*rejected 1 \(invalid|rejected 1 \(invalid.*expired 1/s);
    expect(await counts(bus, "c")).toMatchObject({ pending: 0, expired: 1, rejected: 1 });
    expect(await listed(bus, "c", "expired")).toMatchObject([{ id: stale, reason: { reason: "expired", ttl: 1 } }]);
    const [rejected] = await listed(bus, "c", "rejected");
    expect(String((rejected!["reason"] as Record<string, unknown>)["reason"])).toMatch(/invalid JSON/);
    const e = await shown(bus, stale);
    expect(e).toMatchObject({ state: "expired", reason: { ttl: 1 } });
    expect((await shown(bus, "req_00000000000000000000000000000001")).state).toBe("rejected");
  });

  it("an answer after the lease was lost is late: kept aside, counted, listed, never delivered", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "c"]);
    const id = await sendJson(bus, "c", "work");
    const first = parseJson<{ id: string }>((await bus.abq(["recv", "c", "--json"])).stdout);
    expect(first.id).toBe(id);
    // The first worker dies: its lease names a process that is gone, so requeue takes the claim back.
    const leaseFile = join(bus.home, "channels", "c", "leases", `${id}.json`);
    const lease = parseJson<{ token: string; owner: { pid: number } }>(readFileSync(leaseFile, "utf8"));
    writeFileSync(leaseFile, JSON.stringify({ ...lease, owner: { ...lease.owner, pid: 2 ** 22 + 17 } }));
    expect((await bus.abq(["requeue", "c", "--dead-owners"])).code).toBe(0);
    await until(async () => (await bus.abq(["recv", "c"])).code === 0, 5000);
    const late = await bus.abq(["respond", "c", id, "--result", "too late", "--lease", lease.token]);
    expect(late.code).toBe(7);
    expect(late.stderr).toMatch(/lease .* was lost/);
    expect(await counts(bus, "c")).toMatchObject({ processing: 1, late: 1 });
    expect(await listed(bus, "c", "late")).toMatchObject([{ id, result: "too late" }]);
    expect((await shown(bus, id)).state).toBe("claimed"); // the second worker still holds it
  });
});
