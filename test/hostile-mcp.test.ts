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
