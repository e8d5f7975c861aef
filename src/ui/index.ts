/**
 * `abq ui`: a live dashboard of the bus in a browser. This barrel sits in the core chunk that every
 * command loads (scripts/bundle.mjs), so it holds only types and a lazy wrapper: node:http, the page and
 * the rest of src/ui load when a dashboard starts, and no other command starts slower.
 */
import type { UiOptions, UiServer } from "./types.ts";

export type { UiOptions, UiServer } from "./types.ts";

/**
 * Serves the dashboard on 127.0.0.1 until `close()`. Throws E_CONFLICT when the port is taken, E_USAGE
 * for a port out of range.
 */
export async function startUi(opts: UiOptions = {}): Promise<UiServer> {
  const { serveUi } = await import("./server.ts");
  return serveUi(opts);
}
