/** `abq mcp` given lines that are not JSON-RPC: it must answer each with an error and keep serving. */
import { it, expect } from "vitest";
import { makeBus } from "./helpers.ts";

it("answers a line that is not JSON with a parse error, then serves the next request", async () => {
  const bus = makeBus();
  const input = 'not json\n[1,2\n{"jsonrpc":"2.0","id":7,"method":"ping"}\n';
  const r = await bus.abq(["mcp"], { input, timeoutMs: 10_000 });
  const replies = r.stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const parseError = { jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } };
  expect(replies.slice(0, 2)).toEqual([parseError, parseError]);
  expect(replies[2]).toMatchObject({ jsonrpc: "2.0", id: 7, result: {} });
  expect(r.code).toBe(0);
});

it("answers every request it was given before stdin closed: a piped send gets its reply", async () => {
  const bus = makeBus();
  expect((await bus.abq(["channel", "create", "q"])).code).toBe(0);
  const call = (id: number, content: string): string =>
    JSON.stringify({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name: "abq_send", arguments: { channel: "q", type: "signal", content } },
    });
  // No initialize, all input written and stdin closed at once: what `cat requests | abq mcp` does.
  const r = await bus.abq(["mcp"], { input: `${call(1, "one")}\n${call(2, "two")}\n`, timeoutMs: 10_000 });
  expect(r.code, r.stderr).toBe(0);
  const replies = r.stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as { id: number; result?: { isError?: boolean } });
  expect(replies.map((x) => x.id).sort()).toEqual([1, 2]);
  for (const x of replies) expect(x.result?.isError ?? false).toBe(false);
  expect((await bus.abq(["ls", "q", "-c"])).stdout).toBe("2\n");
});
