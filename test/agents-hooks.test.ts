/**
 * The mailbox reminders agents see: reminder lines for replies (status and first line of the result,
 * and the request it answers), and the Claude Code hook format (`formatHook`, `parseHookInput`,
 * `inboxHook`) for each event, on real buses with real messages. docs/agents.md's hook setup: agents-docs.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  checkInbox,
  formatHook,
  HOOK_EVENTS,
  type HookEvent,
  inboxHook,
  parseHookInput,
  reminderLines,
} from "../src/index.ts";
import { type Bus, makeBus, parseJson } from "./helpers.ts";
import { API, APP, HOOK_INPUT, abqOk } from "./fixtures/agents/agents.ts";

/** app asks api (by name) with reply_to @self; api answers; the answer lands in app's inbox. */
async function answeredRequest(bus: Bus, content: string, answer: string[]): Promise<string> {
  const sent = await abqOk(bus, ["send", API, "command", content, "--reply-to", "@self", "--json"], APP);
  const id = parseJson<{ id: string }>(sent).id;
  expect(parseJson<{ id: string }>(await abqOk(bus, ["recv", "@self", "--json"], API)).id).toBe(id);
  await abqOk(bus, ["respond", "@self", id, ...answer], API);
  return id;
}

describe("reminder lines for replies", () => {
  it("show sender, type, the request answered, and the answer's status and first line of result", async () => {
    const bus = makeBus();
    const ok = await answeredRequest(bus, "review PR 7", ["--result", "LGTM\none nit in README"]);
    const bad = await answeredRequest(bus, "deploy", ["--status", "error", "--error", "build failed\nat step 3"]);
    const plain = parseJson<{ id: string }>(
      await abqOk(bus, ["send", "@self", "signal", "{not a reply", "--json"], APP),
    );

    const r = await bus.abq(["check", "--inbox", "@self", "--inject"], { env: { ABQ_AGENT: APP } });
    const lines = r.stdout.split("\n");
    const reply = (to: string, text: string): RegExp =>
      new RegExp(`^- req_[0-9a-f]{32} status from ${API.replace(/\./g, "\\.")} \\(reply to ${to}\\): ${text}$`);
    expect(lines[1]).toBe(
      "abq: 3 messages pending in inbox.github.com.acme.app.main. Claim one with: abq recv " +
        "inbox.github.com.acme.app.main (or the abq_recv tool).",
    );
    expect(lines[2]).toMatch(reply(ok, "success: LGTM"));
    expect(lines[3]).toMatch(reply(bad, "error: build failed"));
    expect(lines[4]).toBe(`- ${plain.id} signal from ${APP}: {not a reply`);

    const summary = parseJson<{ messages: unknown[] }>(
      (await bus.abq(["check", "--inbox", "@self", "--json"], { env: { ABQ_AGENT: APP } })).stdout,
    );
    expect(summary.messages).toMatchObject([
      { type: "status", from: API, in_reply_to: ok, first_line: "success: LGTM" },
      { type: "status", from: API, in_reply_to: bad, first_line: "error: build failed" },
      { id: plain.id, first_line: "{not a reply" },
    ]);
    expect(summary.messages[2]).not.toHaveProperty("in_reply_to");
  });

  it("a reply that is not a JSON answer shows its text; tags in an answer are escaped", async () => {
    const bus = makeBus();
    await abqOk(bus, ["channel", "create", "q"], APP);
    const write = (id: string, content: string): void => {
      const message = {
        id,
        version: "1.0.0",
        type: "status",
        from: { agent: API, pid: 1, pwd: "/" },
        to: "q",
        content,
        timestamp: "2026-01-01T00:00:00.000000+00:00",
        ttl: 0,
        in_reply_to: "req_00000000000000000000000000000099",
      };
      writeFileSync(join(bus.home, "channels", "q", "requests", `${id}.json`), JSON.stringify(message));
    };
    write("req_00000000000000000000000000000001", "done by hand\nsecond line");
    write("req_00000000000000000000000000000002", JSON.stringify({ status: "success", result: "<b>ok</b>" }));
    write("req_00000000000000000000000000000003", JSON.stringify({ status: "success", result: "" }));
    const lines = reminderLines(await checkInbox({ home: bus.home, channel: "q" }));
    const head = `status from ${API} (reply to req_00000000000000000000000000000099)`;
    expect(lines.slice(1)).toEqual([
      `- req_00000000000000000000000000000001 ${head}: done by hand`,
      `- req_00000000000000000000000000000002 ${head}: success: &lt;b&gt;ok&lt;/b&gt;`,
      `- req_00000000000000000000000000000003 ${head}: success`,
    ]);
  });
});

describe("formatHook: the Claude Code hook format", () => {
  it("context events add the reminder as additionalContext; Stop blocks with it unless stop_hook_active", async () => {
    const bus = makeBus();
    await abqOk(bus, ["send", "@self", "command", "rebase on main"], APP);
    const summary = await checkInbox({ home: bus.home, channel: "@self", cwd: bus.root });
    expect(summary.pending).toBe(0); // the test agent's inbox, not app's
    const mail = await checkInbox({ home: bus.home, channel: "inbox.github.com.acme.app.main" });
    const text = reminderLines(mail).join("\n");
    expect(text).toMatch(/^abq: 1 message pending in inbox\.github\.com\.acme\.app\.main\./);
    for (const event of ["SessionStart", "UserPromptSubmit", "PostToolUse"] as const) {
      const out = formatHook(mail, { format: "claude-code", event });
      expect(out).toEqual({
        stdout: `${JSON.stringify({ hookSpecificOutput: { hookEventName: event, additionalContext: text } })}\n`,
        exitCode: 0,
      });
      expect(formatHook(summary, { format: "claude-code", event })).toEqual({ stdout: "", exitCode: 0 });
    }
    expect(formatHook(mail, { format: "claude-code", event: "Stop" })).toEqual({
      stdout: `${JSON.stringify({ decision: "block", reason: text })}\n`,
      exitCode: 0,
    });
    expect(formatHook(mail, { format: "claude-code", event: "Stop", stopHookActive: true })).toEqual({
      stdout: "",
      exitCode: 0,
    });
    expect(formatHook(summary, { format: "claude-code", event: "Stop" })).toEqual({ stdout: "", exitCode: 0 });
    expect(() => formatHook(mail, { format: "claude-code", event: "Notification" as HookEvent })).toThrow(
      /unknown hook event 'Notification': use one of SessionStart, UserPromptSubmit, PostToolUse, Stop/,
    );
  });

  it("parseHookInput reads the fields abq needs and never fails on odd input", () => {
    expect(parseHookInput(JSON.stringify(HOOK_INPUT.Stop))).toEqual({
      sessionId: "abc123",
      transcriptPath: "/home/me/.claude/projects/app/abc123.jsonl",
      cwd: "/home/me/src/app",
      event: "Stop",
      stopHookActive: false,
    });
    expect(parseHookInput(JSON.stringify({ ...HOOK_INPUT.Stop, stop_hook_active: true })).stopHookActive).toBe(true);
    for (const event of HOOK_EVENTS) expect(parseHookInput(JSON.stringify(HOOK_INPUT[event])).event).toBe(event);
    for (const odd of ["", "not json", "[1,2]", "null", "42", '{"stop_hook_active":"true","hook_event_name":"X"}']) {
      const input = parseHookInput(odd);
      expect(input.stopHookActive).toBe(false);
      expect(input.event).toBeUndefined();
    }
  });

  it("inboxHook: stdin gives the event and stop_hook_active; flags and formats are checked", async () => {
    const bus = makeBus({ ABQ_AGENT: APP });
    await abqOk(bus, ["send", "@self", "command", "rebase on main"], APP);
    process.env["ABQ_AGENT"] = APP;
    try {
      const base = { home: bus.home, channel: "@self", format: "claude-code" };
      const stdin = (e: HookEvent, extra = {}): string => JSON.stringify({ ...HOOK_INPUT[e], ...extra });
      const fromStdin = await inboxHook({ ...base, stdin: stdin("UserPromptSubmit") });
      expect(parseJson(fromStdin.stdout)).toMatchObject({ hookSpecificOutput: { hookEventName: "UserPromptSubmit" } });
      expect(parseJson((await inboxHook({ ...base, event: "Stop", stdin: stdin("Stop") })).stdout)).toMatchObject({
        decision: "block",
      });
      const active = await inboxHook({ ...base, event: "Stop", stdin: stdin("Stop", { stop_hook_active: true }) });
      expect(active).toEqual({ stdout: "", exitCode: 0 });
      await expect(inboxHook({ ...base, stdin: "" })).rejects.toThrow(/give the hook event \(--event\)/);
      await expect(inboxHook({ ...base, format: "json", event: "Stop" })).rejects.toThrow(/unknown hook format 'json'/);
    } finally {
      delete process.env["ABQ_AGENT"];
    }
  });
});
