/**
 * Signatures over the JetStream transport, against a real nats-server. Each "machine" has its own
 * ABQ_HOME and so its own key registry; the claimer's registry decides. A signed message that is
 * altered, spoofed (right name, another agent's key), or by an unknown or revoked key is rejected at
 * claim (a `rejected` record with the reason: `ls rejected`, `show`); unsigned messages pass, since
 * JetStream has no per-channel policy: `channel config` (allowlists, require_signed) is refused there.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Bus, parseJson } from "./helpers.ts";
import { natsBusFactory } from "./nats/bus.ts";
import { natsAvailable, type NatsServer, startServer } from "./nats/server.ts";
import { fresh } from "./nats/shared-cases.ts";

const HUMAN = "HumanOverseer";

describe.skipIf(!natsAvailable())("signatures over NATS", () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function keygen(bus: Bus, agent: string): Promise<{ keyid: string; public_key_file: string }> {
    const r = await bus.abq(["keygen", "--json"], { env: { ABQ_AGENT: agent } });
    expect(r.code, r.stderr).toBe(0);
    return parseJson(r.stdout);
  }

  async function send(bus: Bus, agent: string, ch: string, content: string, sign = true): Promise<string> {
    const r = await bus.abq(["send", ch, "signal", content, "--json", ...(sign ? ["--sign"] : [])], {
      env: { ABQ_AGENT: agent },
    });
    expect(r.code, r.stderr).toBe(0);
    return parseJson<{ id: string }>(r.stdout).id;
  }

  it("the claimer's registry rejects spoofed and revoked senders; allowed and unsigned pass", async () => {
    const bus = natsBusFactory(() => server);
    const human = bus({ ABQ_AGENT: HUMAN });
    const evil = bus({ ABQ_AGENT: HUMAN });
    const worker = bus({ ABQ_AGENT: "worker/main" });
    const ch = fresh("signed");
    expect((await worker.abq(["channel", "create", ch])).code).toBe(0);

    const humanKey = await keygen(human, HUMAN);
    const evilKey = await keygen(evil, HUMAN);
    // The worker's registry: HUMAN's real key, and evil's key under evil's own name.
    expect((await worker.abq(["keys", "add", HUMAN, humanKey.public_key_file])).code).toBe(0);
    expect((await worker.abq(["keys", "add", "evil/agent", evilKey.public_key_file])).code).toBe(0);

    const allowed = await send(human, HUMAN, ch, "from the overseer");
    const spoofed = await send(evil, HUMAN, ch, "posing as the overseer");
    const unsigned = await send(worker, "someone/else", ch, "unsigned", false);

    const first = await worker.abq(["recv", ch, "--json"]);
    expect(parseJson<{ id: string }>(first.stdout).id).toBe(allowed);
    const second = await worker.abq(["recv", ch, "--json"]);
    expect(parseJson<{ id: string }>(second.stdout).id).toBe(unsigned);
    expect(second.stderr).toMatch(/"rejected":1/);

    const rejected = await worker.abq(["ls", ch, "rejected", "--json"]);
    expect(rejected.stdout).toContain(spoofed);
    expect(rejected.stdout).toMatch(
      /spoofed: from\.agent is 'HumanOverseer' but key [0-9a-f]{16} is registered to 'evil\/agent'/,
    );

    // Revoked in the worker's registry: HUMAN's later messages (and queued ones) are rejected there.
    const queued = await send(human, HUMAN, ch, "signed before the revocation");
    expect((await worker.abq(["keys", "revoke", humanKey.keyid, "--reason", "leaked"])).code).toBe(0);
    const after = await worker.abq(["recv", ch]);
    expect(after.code).toBe(4);
    const show = await worker.abq(["show", queued, "--channel", ch, "--json"]);
    expect(show.stdout).toMatch(/key revoked: [0-9a-f]{16} was revoked at \S+: leaked/);
  });

  it("channel config (allowlists, require_signed) is refused over NATS with one clear line", async () => {
    const worker = natsBusFactory(() => server)({ ABQ_AGENT: "worker/main" });
    const ch = fresh("cfg");
    await worker.abq(["channel", "create", ch]);
    const r = await worker.abq(["channel", "config", ch, "--require-signed"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^abq: the nats transport has no supervis.*unset ABQ_URL/);
  });
});
