import type { Command } from "commander";
import { AbqError } from "../../protocol/errors.ts";
import { printJson } from "../output.ts";

export function registerSchema(program: Command): void {
  program
    .command("schema [kind]")
    .description("print the JSON Schema of a request (default) or response, generated from abq's zod schemas")
    .action(async (kind: string | undefined) => {
      const which = kind ?? "request";
      if (which !== "request" && which !== "response") {
        throw new AbqError("E_USAGE", `unknown schema '${which}': use request or response`);
      }
      const { schema } = await import("../../index.ts");
      printJson(schema(which));
    });
}
