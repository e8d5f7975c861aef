/**
 * An answer larger than readers accept (ABQ_MAX_BYTES) is never stored unreadable: `respond` refuses it
 * before writing (exit 2, the message stays claimed), and a handler whose output is too large gets its
 * message answered with an error that says so, which `ask` and `show` can read.
 */
import { chmodSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeBus, parseJson } from "./helpers.ts";

describe("answers over the size cap", () => {
  it("respond refuses an answer over ABQ_MAX_BYTES before storing it; the claim stays", async () => {
    const bus = makeBus({ ABQ_MAX_BYTES: "20000" });
    await bus.abq(["send", "c", "command", "x", "--create"]);
    const { id } = parseJson<{ id: string }>((await bus.abq(["recv", "c", "--json"])).stdout);
    const r = await bus.abq(["respond", "c", id, "--result", "y".repeat(30_000)]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/^abq: the answer to req_\w+ is \d+ bytes, over the 20000-byte cap/),
    ]);
    const dir = join(bus.home, "channels", "c");
    expect(readdirSync(join(dir, "responses"))).toEqual([]);
    expect(readdirSync(join(dir, "tmp"))).toEqual([]);
    expect(readdirSync(join(dir, "processing"))).toEqual([`${id}.json`]);
    expect((await bus.abq(["respond", "c", id, "--result", "small"])).code).toBe(0);
  });

  it("a handler printing more than the cap: the message is answered with an error saying so", async () => {
    const bus = makeBus({ ABQ_MAX_BYTES: "20000" });
    const handler = join(bus.root, "big.sh");
    writeFileSync(handler, "#!/bin/sh\nhead -c 50000 /dev/zero | tr '\\0' x\n");
    chmodSync(handler, 0o755);
    await bus.abq(["channel", "create", "c"]);
    const sent = parseJson<{ id: string }>((await bus.abq(["send", "c", "command", "go", "--json"])).stdout);
    const w = await bus.abq(["watch", "c", "--handler", handler, "--once"]);
    expect(w.code, w.stderr).toBe(0);
    const shown = parseJson<{ state: string; response: { status: string; error: string } }>(
      (await bus.abq(["show", sent.id, "--json"])).stdout,
    );
    expect(shown.state).toBe("done");
    expect(shown.response.status).toBe("error");
    expect(shown.response.error).toMatch(/handler output is too large to answer with: .*over the 20000-byte cap/);
    expect(readdirSync(join(bus.home, "channels", "c", "processing"))).toEqual([]);
  });
});
