/**
 * An answer larger than readers accept (ABQ_MAX_BYTES) is never stored unreadable: its result moves into
 * the attachment `result.txt` (docs/attachments.md), which `ask` and `show` read back in full; an answer
 * still too large after that (a huge error text) is refused before anything is stored, the claim kept.
 */
import { chmodSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeBus, parseJson } from "./helpers.ts";

describe("answers over the size cap", () => {
  it("respond spills a result over ABQ_MAX_BYTES into result.txt; show reads it back whole", async () => {
    const bus = makeBus({ ABQ_MAX_BYTES: "20000" });
    await bus.abq(["send", "c", "command", "x", "--create"]);
    const { id } = parseJson<{ id: string }>((await bus.abq(["recv", "c", "--json"])).stdout);
    const r = await bus.abq(["respond", "c", id, "--result", "y".repeat(30_000)]);
    expect(r.code, r.stderr).toBe(0);
    const dir = join(bus.home, "channels", "c");
    expect(readdirSync(join(dir, "processing"))).toEqual([]);
    expect(readdirSync(join(dir, "tmp"))).toEqual([]);
    const shown = parseJson<{ state: string; response: { result: string; attachments: { name: string }[] } }>(
      (await bus.abq(["show", id, "--json"])).stdout,
    );
    expect(shown.state).toBe("done");
    expect(shown.response.result).toBe("y".repeat(30_000));
    expect(shown.response.attachments.map((a) => a.name)).toEqual(["result.txt"]);
  });

  it("an answer too large even without its result (a huge error text) is refused; the claim stays", async () => {
    const bus = makeBus({ ABQ_MAX_BYTES: "20000" });
    await bus.abq(["send", "c", "command", "x", "--create"]);
    const { id } = parseJson<{ id: string }>((await bus.abq(["recv", "c", "--json"])).stdout);
    const r = await bus.abq(["respond", "c", id, "--status", "error", "--error", "e".repeat(30_000)]);
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

  it("a handler printing more than the cap: answered with its whole output, which ask and show read", async () => {
    const bus = makeBus({ ABQ_MAX_BYTES: "20000" });
    const handler = join(bus.root, "big.sh");
    writeFileSync(handler, "#!/bin/sh\nhead -c 50000 /dev/zero | tr '\\0' x\n");
    chmodSync(handler, 0o755);
    await bus.abq(["channel", "create", "c"]);
    const sent = parseJson<{ id: string }>((await bus.abq(["send", "c", "command", "go", "--json"])).stdout);
    const w = await bus.abq(["watch", "c", "--handler", handler, "--once"]);
    expect(w.code, w.stderr).toBe(0);
    const shown = parseJson<{ state: string; response: { status: string; result: string } }>(
      (await bus.abq(["show", sent.id, "--json"])).stdout,
    );
    expect(shown.state).toBe("done");
    expect(shown.response.status).toBe("success");
    expect(shown.response.result).toBe("x".repeat(50_000));
    expect(readdirSync(join(bus.home, "channels", "c", "processing"))).toEqual([]);
  });
});
