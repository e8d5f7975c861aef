/**
 * Giving a claim back to its queue, and saying so. It is the one place a watcher releases a message, so
 * every message it sets aside is reported: put back (with why), or dead-lettered past the channel's
 * max_attempts, when the reason stays beside it in dead/ for `abq show` and `abq dead`.
 */
import type { ClaimHandle, FailureInfo } from "../lifecycle/transport.ts";
import type { WatchEvent } from "./watch-types.ts";

/** `failure` makes it a failed attempt (backoff, dead letter); without it the attempt does not count. */
export async function giveBack(
  claimed: ClaimHandle,
  reason: string,
  failure: FailureInfo | undefined,
  emit: (event: WatchEvent) => void,
): Promise<void> {
  const id = claimed.message.id;
  try {
    const outcome = await claimed.release({ failure });
    emit({ type: "released", id, reason: outcome === "dead" ? `${reason}; dead-lettered` : reason });
  } catch (err) {
    emit({
      type: "warning",
      id,
      message: `could not put ${id} back: ${err instanceof Error ? err.message : String(err)}`,
    });
  }
}
