/**
 * `abq send --batch`: many messages from NDJSON on stdin in one process, through the built CLI.
 * (Split from test/cli.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { makeBus, parseJson, type SentMessage as Msg } from "./helpers.ts";

describe("send --batch", () => {
  it("sends one message per NDJSON line from one process, in order; --json prints each as stored", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "q"]);
    await bus.abq(["channel", "create", "other"]);
    const lines = [
      { type: "signal", content: "one" },
      { type: "command", content: "two", ttl: 60, reply_to: "other" },
      { type: "status", channel: "other" },
    ];
    const r = await bus.abq(["send", "q", "--batch", "--json"], {
      input: lines.map((l) => JSON.stringify(l)).join("\n"),
    });
    expect(r.code, r.stderr).toBe(0);
    const sent = r.stdout
      .trim()
      .split("\n")
      .map((l) => parseJson<Msg>(l));
    expect(sent.map((m) => [m.to, m.type, m.content])).toEqual([
      ["q", "signal", "one"],
      ["q", "command", "two"],
      ["other", "status", ""],
    ]);
    expect(sent[1]).toMatchObject({ ttl: 60, reply_to: "other" });
    expect([...sent.map((m) => m.id)].sort()).toEqual(sent.map((m) => m.id));
    expect((await bus.abq(["ls", "q", "-c"])).stdout).toBe("2\n");
    expect((await bus.abq(["send", "q", "--batch"], { input: '{"type":"signal"}\n' })).stdout).toBe(
      "Sent 1 message(s) to q\n",
    );
  });

  it("a bad line stops the batch with its line number; the lines before it are sent", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "q"]);
    const r = await bus.abq(["send", "q", "--batch"], { input: '{"type":"signal"}\nnot json\n{"type":"signal"}\n' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^abq: line 2: not JSON \(1 message\(s\) before it were sent\)/);
    expect((await bus.abq(["ls", "q", "-c"])).stdout).toBe("1\n");
    expect((await bus.abq(["send", "q", "signal", "x", "--batch"], { input: "" })).code).toBe(2);
  });
});

describe("send --batch through a pipe", () => {
  it("a short piped input is read completely even though the CLI starts slowly", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "q"]);
    for (let i = 0; i < 3; i++) {
      const r = await bus.abq(["send", "q", "--batch"], {
        input: '{"type":"signal","content":"a"}\n{"type":"signal"}\n',
      });
      expect(r).toMatchObject({ code: 0, stdout: "Sent 2 message(s) to q\n" });
    }
  });
});
