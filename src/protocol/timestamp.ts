/**
 * The seed's timestamp form: UTC with microseconds and `+00:00` (Python's isoformat), which both Python's
 * `fromisoformat` (any version) and JavaScript's `Date.parse` read.
 */
export function formatTimestamp(ms: number = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000+00:00");
}
