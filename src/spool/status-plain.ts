/**
 * `abq status` without the library's core: the counts of every queue on the local spool, by the code the
 * spool transport's status() runs (counts.ts), after the same folder checks (safety.ts, as SpoolBase.safe
 * makes them). Counting reads folder listings only, so nothing here needs zod or the core
 * (docs/performance.md). Undefined when the bus is not the local spool, or when anything fails (a missing
 * or unsafe folder): the full path then answers, with its own error. Status only reads, so asking twice
 * changes nothing. test/fast-path.test.ts compares both.
 */
import type { ChannelStatus } from "../lifecycle/transport.ts";
import { statusAll } from "./counts.ts";
import { onLocalSpool } from "./local-queue.ts";
import { resolveHome } from "./paths.ts";
import { assertSafeHome, assertSafeQueue } from "./safety.ts";

export async function statusPlain(opts: {
  home?: string | undefined;
  url?: string | undefined;
}): Promise<ChannelStatus[] | undefined> {
  if (!onLocalSpool(opts)) return undefined;
  try {
    const home = resolveHome(opts);
    await assertSafeHome(home);
    return await statusAll(home, async (q) => {
      await assertSafeQueue(q.dir, home);
      return q;
    });
  } catch {
    return undefined;
  }
}
