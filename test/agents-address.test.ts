/**
 * Addressing an agent by its identity wherever a channel is taken: the library's resolveAddress (whole
 * identities, unique suffixes looked up among heartbeats and inbox channels, ambiguity, unknown names,
 * plain channel names untouched), and end to end through the built CLI between two real git repositories.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { inboxName, isAddress, knownAgents, resolveAddress } from "../src/index.ts";
import { type Bus, makeBus, makeRepo, parseJson } from "./helpers.ts";

async function rejection(p: Promise<unknown>): Promise<{ code: string; message: string; hint?: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code: string; message: string; hint?: string };
  }
  throw new Error("expected a rejection");
}

/** Makes `agent` known to the bus the way a real agent would: a heartbeat, or first use of its inbox. */
async function announce(bus: Bus, agent: string, how: "heartbeat" | "inbox"): Promise<void> {
  const args = how === "heartbeat" ? ["heartbeat", agent] : ["send", "@self", "signal", "hello"];
  const r = await bus.abq(args, { env: { ABQ_AGENT: agent } });
  expect(r.code, r.stderr).toBe(0);
}

describe("resolveAddress: agent identities", () => {
  it("passes plain channel names and non-identities through untouched, without reading the bus", async () => {
    const home = join(makeBus().root, "no-such-home");
    for (const name of ["jobs", "inbox.x", "../x", "a//b", "/", "a/ b", "x/./y", "Q"]) {
      expect(await resolveAddress(name, { home })).toBe(name);
    }
    expect(isAddress("jobs")).toBe(false);
    expect(isAddress("../x")).toBe(false);
    expect(isAddress("api/main")).toBe(true);
  });

  it("a whole identity is its inbox, even for an agent the bus has never seen", async () => {
    const { home } = makeBus();
    expect(await resolveAddress("github.com/acme/api/main", { home })).toBe("inbox.github.com.acme.api.main");
    expect(await resolveAddress("gitlab.example.org/g/sub/repo/feature/x", { home })).toBe(
      inboxName("gitlab.example.org/g/sub/repo/feature/x"),
    );
    expect(await resolveAddress("local/app/main", { home })).toBe("inbox.local.app.main");
  });

  it("a suffix finds the one agent it matches, by heartbeat or by inbox, whole segments only", async () => {
    const bus = makeBus();
    const { home } = bus;
    expect(await rejection(resolveAddress("api/main", { home }))).toMatchObject({
      code: "E_BAD_NAME",
      message: expect.stringMatching(/no known agent matches 'api\/main'.*channel name uses 1-64 of a-z/) as string,
      hint: expect.stringContaining("github.com/org/repo/branch always works") as string,
    });
    await announce(bus, "github.com/acme/api/main", "heartbeat");
    await announce(bus, "github.com/other/web/dev", "inbox");
    for (const name of ["api/main", "acme/api/main", "API/Main"]) {
      expect(await resolveAddress(name, { home })).toBe("inbox.github.com.acme.api.main");
    }
    // Known only through its inbox channel: matched on the inbox's slug.
    expect(await resolveAddress("web/dev", { home })).toBe("inbox.github.com.other.web.dev");
    // `pi/main` is not a whole-segment suffix of `.../api/main`.
    expect(await rejection(resolveAddress("pi/main", { home }))).toMatchObject({
      code: "E_BAD_NAME",
      hint: expect.stringContaining("abq agents") as string,
    });
    expect((await knownAgents({ home })).map((k) => [k.agent, k.inbox, k.live])).toEqual([
      ["github.com/acme/api/main", "inbox.github.com.acme.api.main", true],
      [undefined, "inbox.github.com.other.web.dev", false],
    ]);
  });

  it("two matches are E_USAGE naming both; more of the name, or an exact name, picks one", async () => {
    const bus = makeBus();
    const { home } = bus;
    await announce(bus, "github.com/acme/api/main", "heartbeat");
    await announce(bus, "gitlab.com/beta/api/main", "heartbeat");
    await announce(bus, "github.com/acme/ci/runner", "inbox");
    await announce(bus, "github.com/beta/ci/runner", "inbox");
    const both = await rejection(resolveAddress("api/main", { home }));
    expect(both).toMatchObject({
      code: "E_USAGE",
      message: "'api/main' matches 2 agents: github.com/acme/api/main, gitlab.com/beta/api/main",
    });
    expect(both.hint).toMatch(/give more of the agent's name/);
    expect(await rejection(resolveAddress("ci/runner", { home }))).toMatchObject({
      code: "E_USAGE",
      message: "'ci/runner' matches 2 agents: inbox.github.com.acme.ci.runner, inbox.github.com.beta.ci.runner",
    });
    expect(await resolveAddress("acme/api/main", { home })).toBe("inbox.github.com.acme.api.main");
    expect(await resolveAddress("beta/ci/runner", { home })).toBe("inbox.github.com.beta.ci.runner");
    // An agent named exactly `api/main` (an ABQ_AGENT-style name) wins over the suffix matches.
    await announce(bus, "api/main", "heartbeat");
    expect(await resolveAddress("api/main", { home })).toBe("inbox.api.main");
  });
});

describe("the CLI takes agent identities wherever it takes a channel", () => {
  it("app sends to api by a suffix of api's git identity; api receives it in @self and answers", async () => {
    const bus = makeBus({ ABQ_AGENT: "" });
    const app = makeRepo(mkdirAt(bus, "app"), { remote: "git@github.com:acme/app.git" });
    const api = makeRepo(mkdirAt(bus, "api"), { remote: "https://github.com/acme/api.git" });

    // api has not used the bus yet: its suffix is unknown, its whole identity is not.
    const unknown = await bus.abq(["send", "api/main", "command", "x"], { cwd: app });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^abq: no known agent matches 'api\/main'/);
    const early = await bus.abq(["send", "github.com/acme/api/main", "signal", "welcome", "--json"], { cwd: app });
    expect(early.code, early.stderr).toBe(0);
    expect(parseJson(early.stdout)).toMatchObject({ to: "inbox.github.com.acme.api.main" });

    const sent = await bus.abq(["send", "api/main", "command", "add /health", "--reply-to", "@self", "--json"], {
      cwd: app,
    });
    expect(sent.code, sent.stderr).toBe(0);
    const request = parseJson<{ id: string; to: string; reply_to: string; from: { agent: string } }>(sent.stdout);
    expect(request).toMatchObject({
      to: "inbox.github.com.acme.api.main",
      reply_to: "inbox.github.com.acme.app.main",
      from: { agent: "github.com/acme/app/main" },
    });

    const inbox = await bus.abq(["ls", "inbox.github.com.acme.api.main", "--json"], { cwd: api });
    expect(inbox.stdout.trim().split("\n")).toHaveLength(2);
    await bus.abq(["recv", "@self"], { cwd: api }); // the welcome signal
    const got = await bus.abq(["recv", "@self", "--json"], { cwd: api });
    expect(parseJson<{ id: string }>(got.stdout).id).toBe(request.id);
    // api answers by naming app's inbox through app's identity suffix, as the sender did.
    const answered = await bus.abq(["respond", "acme/api/main", request.id, "--result", "done"], { cwd: api });
    expect(answered.code, answered.stderr).toBe(0);
    const reply = await bus.abq(["recv", "app/main", "--json"], { cwd: api });
    expect(reply.code, reply.stderr).toBe(0);
    expect(parseJson(reply.stdout)).toMatchObject({ in_reply_to: request.id, type: "status" });
  });
});

function mkdirAt(bus: Bus, name: string): string {
  const dir = join(bus.root, name);
  mkdirSync(dir);
  return dir;
}
