/**
 * The transport an `abq mcp` session's message tools share (src/mcp/session.ts, issue 18): it caches
 * safety checks, so it is retired RECHECK_MS after it opened; a folder swapped for a symbolic link
 * mid-session is refused once that has passed, as the CLI refuses it. A call that outlives its transport
 * (a waiting recv) finishes on it while later calls use a fresh one, and the session's heartbeat is not
 * touched by any of it. (The same session over NATS across a server restart: test/nats-mcp.test.ts.)
 */
import { mkdirSync, readdirSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RECHECK_MS } from "../src/mcp/session.ts";
import { connect } from "./fixtures/agents/mcp-client.ts";
import { makeBus } from "./helpers.ts";

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const send = { type: "signal", content: "hello" };

describe("abq mcp session transport", () => {
  it("a channel folder swapped for a symbolic link mid-session is refused once RECHECK_MS has passed", async () => {
    const bus = makeBus();
    expect((await bus.abq(["channel", "create", "work"])).code).toBe(0);
    const s = await connect(bus);
    expect((await s.call("abq_send", { channel: "work", ...send })).isError).toBeFalsy();

    // The swap: the real folder moves out of the bus, a link to it takes its place.
    const dir = join(bus.home, "channels", "work");
    const elsewhere = join(bus.root, "elsewhere");
    renameSync(dir, elsewhere);
    symlinkSync(elsewhere, dir);
    await pause(RECHECK_MS + 300);
    const sent = await s.call("abq_send", { channel: "work", ...send });
    expect(sent.isError).toBe(true);
    expect(sent.text).toMatch(/^E_UNSAFE: .*symbolic link/);
    const got = await s.call("abq_recv", { channel: "work" });
    expect(got.isError).toBe(true);
    expect(got.text).toMatch(/^E_UNSAFE: /);
    expect(readdirSync(join(elsewhere, "requests"))).toHaveLength(1); // only the message from before

    // Put back: the refusal retired the transport, so the next call checks again and works.
    rmSync(dir);
    renameSync(elsewhere, dir);
    expect((await s.call("abq_send", { channel: "work", ...send })).isError).toBeFalsy();
    expect(readdirSync(join(dir, "requests"))).toHaveLength(2);
  });

  it("a new channel made a link before its first use is refused at once", async () => {
    const bus = makeBus();
    expect((await bus.abq(["channel", "create", "first"])).code).toBe(0);
    const s = await connect(bus);
    expect((await s.call("abq_send", { channel: "first", ...send })).isError).toBeFalsy();
    // A folder the session's transport never checked is checked on its first use, however warm it is.
    const outside = join(bus.root, "outside");
    mkdirSync(join(outside, "requests"), { recursive: true });
    symlinkSync(outside, join(bus.home, "channels", "linked"));
    const sent = await s.call("abq_send", { channel: "linked", ...send });
    expect(sent.isError).toBe(true);
    expect(sent.text).toMatch(/^E_UNSAFE: /);
    expect(readdirSync(join(outside, "requests"))).toHaveLength(0);
  });

  it("a recv waiting past RECHECK_MS gets a message sent meanwhile through the same session; the heartbeat stays", async () => {
    const bus = makeBus();
    expect((await bus.abq(["channel", "create", "later"])).code).toBe(0);
    const s = await connect(bus);
    const waiting = s.call("abq_recv", { channel: "later", wait: true, timeout: 30 });
    await pause(RECHECK_MS + 300);
    const sent = await s.call("abq_send", { channel: "later", type: "signal", content: "late" });
    expect(sent.isError).toBeFalsy();
    const got = await waiting;
    expect(got.json).toMatchObject({ claimed: true, message: { id: sent.json["id"], content: "late" } });
    const answered = await s.call("abq_respond", { channel: "later", id: sent.json["id"], result: "done" });
    expect(answered.isError, answered.text).toBeFalsy();

    const agents = await bus.abq(["agents", "--json"]);
    const beats = agents.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { pid?: number; live?: boolean });
    expect(
      beats.some((h) => h.pid === s.pid() && h.live === true),
      agents.stdout,
    ).toBe(true);
  });
});
