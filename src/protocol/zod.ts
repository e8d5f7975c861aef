/**
 * The library's one zod import: zod's tree-shakable "mini" API, with English messages. Classic zod gives
 * every schema every method, so a bundle has to carry all of it (about 20 ms of start-up per CLI call);
 * the mini functions the CLI uses cost about 3 ms (README "Performance").
 */
import { config, globalRegistry, type ZodMiniType } from "zod/mini";
import en from "zod/v4/locales/en.js";

config(en());
// A CLI call parses a handful of values, and compiling a parser for each schema (zod's JIT) costs more
// than it saves there (~1 ms per call). The CLI entry (bin/abq.ts) raises this flag; library users keep
// zod's default, since the setting is global to their zod.
if ((globalThis as Record<symbol, unknown>)[Symbol.for("abq.cli")] === true) config({ jitless: true });

// Importers write `import * as z from ".../zod.ts"` and use `z.object(…)`: a namespace import whose
// members are only read lets the bundler drop every zod function the CLI never calls.
export * from "zod/mini";

/**
 * A value built on first use. Building zod schemas takes real time (about 4 ms for all of abq's), and a
 * CLI call needs only a few of them, so schemas are built when first needed rather than at import.
 */
export function lazy<T>(build: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= build());
}

/**
 * `schema`, registered with `text` as its description (what `abq schema` and MCP clients show). It
 * registers the instance instead of cloning it (zod's `describe`), which halves the cost of building the
 * message schemas at start-up; so give each described use its own instance.
 */
export function described<S extends ZodMiniType>(schema: S, text: string): S {
  globalRegistry.add(schema, { description: text });
  return schema;
}
