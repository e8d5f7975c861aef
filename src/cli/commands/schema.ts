import type { Command } from "commander";
import { AbqError } from "../../protocol/errors.ts";
import { withExamples } from "../help.ts";
import { printJson } from "../output.ts";
import { suggestChoice } from "../suggest.ts";

export function registerSchema(program: Command): void {
  const schemaCmd = program
    .command("schema [kind]")
    .description("print the JSON Schema of a request (default) or response, generated from abq's zod schemas")
    .action(async (kind: string | undefined) => {
      const which = kind ?? "request";
      suggestChoice("schema", which, ["request", "response"]);
      if (which !== "request" && which !== "response") {
        throw new AbqError("E_USAGE", `unknown schema '${which}': use request or response`);
      }
      const { schema } = await import("../../index.ts");
      printJson(schema(which));
    });
  withExamples(schemaCmd, "abq schema", "abq schema response | jq .properties");
}
