import type { Command } from "commander";
import { withExamples } from "../help.ts";
import { commonOptions } from "../output.ts";

export function registerMcp(program: Command): void {
  const mcp = program
    .command("mcp")
    .description("serve the bus as MCP tools over stdio (abq_send, abq_ask, abq_recv, …), for MCP clients")
    .action(async (_opts: unknown, cmd: Command) => {
      const { serveStdio } = await import("../../mcp/server.ts");
      await serveStdio(commonOptions(cmd), cmd.parent?.version() ?? "0.0.0");
    });
  withExamples(mcp, "abq mcp", "claude mcp add abq -- abq mcp");
}
