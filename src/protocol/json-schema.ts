/**
 * JSON Schema (draft 2020-12) for `abq schema`, generated from the zod schemas. A module of its own so
 * the JSON Schema generator is loaded only by the commands that print schemas.
 */
import { toJSONSchema } from "zod/mini";
import { requestSchema, responseSchema } from "./schema.ts";

export function jsonSchemaFor(kind: "request" | "response"): unknown {
  return toJSONSchema(kind === "request" ? requestSchema() : responseSchema(), { io: "input" });
}
