/**
 * `abq bridge`: a machine that only speaks files (no ABQ_URL) asks through its local channel; the bridge
 * forwards to JetStream, a watcher on another "machine" answers, and the answer comes back as a file.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, makeBus, parseJson, startNode } from "./helpers.ts";
import { natsBusFactory } from "./nats/bus.ts";
import { natsAvailable, type NatsServer, startServer } from "./nats/server.ts";
import { fresh, shown } from "./nats/shared-cases.ts";

describe.skipIf(!natsAvailable())("abq bridge", () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("forwards local requests to JetStream and brings the answers back", async () => {
    const local = makeBus({ ABQ_AGENT: "files-only/agent" }); // no ABQ_URL: the filesystem bus
    const remote = natsBusFactory(() => server)({ ABQ_AGENT: "remote/agent" });
    const ch = fresh("bridged");
    expect((await local.abq(["channel", "create", ch])).code).toBe(0);
    expect((await remote.abq(["channel", "create", ch])).code).toBe(0);
    const bridge = startNode([CLI, "--url", server.url, "bridge", ch, "--json"], { env: local.env, timeoutMs: 60_000 });
    const watcher = startNode([CLI, "watch", ch, "--handler", `printf 'remote says %s' "$ABQ_MSG_CONTENT" && :`], {
      env: remote.env,
      timeoutMs: 60_000,
    });
    try {
      const asked = await local.abq(["ask", ch, "command", "hi", "--timeout", "30", "--json"]);
      expect(asked.code, asked.stderr).toBe(0);
      const answer = parseJson<{ id: string; result: string; from: { agent: string } }>(asked.stdout);
      expect(answer).toMatchObject({ result: "remote says hi", from: { agent: "remote/agent" } });
      // Same message on both sides: the local file and the JetStream copy.
      const here = await shown(local, answer.id);
      const there = await shown(remote, answer.id);
      expect(there.request).toEqual(here.request);
      expect(here.request?.["from"]).toMatchObject({ agent: "files-only/agent" });
    } finally {
      bridge.child.kill("SIGTERM");
      watcher.child.kill("SIGTERM");
    }
    const done = await bridge.done;
    await watcher.done;
    expect(done.stdout, done.stderr).toContain('"type":"answered"');
  });
});
