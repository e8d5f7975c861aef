// B5: B4 with `abq watch --poll 100` (timer only, no file events).
import { runDirect } from "./lib.mjs";
import { latency } from "./b4-watch-latency.mjs";

export const run = () => latency({ poll: 100 });

await runDirect(import.meta.url, run);
