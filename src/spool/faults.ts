/**
 * Crash points for tests. When `ABQ_CRASH_AT` names one of these points, the process kills itself with
 * SIGKILL right there, so the test suite can prove what each step of the lifecycle leaves behind after a
 * real, uncatchable crash. Unset (always, outside tests) it costs one environment lookup.
 *
 * Points: `send:staged` (staging file written, not yet renamed into requests/), `claim:renamed` (moved to
 * processing/, not yet read), `respond:answered` (answer published, request not yet archived),
 * `publish:committed` (topic message committed to fanout/, not yet copied to subscribers),
 * `release:taken` (a claim taken for a release, retry or term: renamed to its dot-name, not yet moved on),
 * `archive:moved` (a request renamed into archive/ by ack, cancel or purge, its reason not yet written),
 * `bulk:slice` (a bulk operation between two slices: the last one durable and logged, the next not begun).
 *
 * `<point>@<n>` kills at the n-th time the point is reached, so a test can stop a bulk run part way
 * through for certain, however fast the machine runs it.
 */
export type CrashPoint =
  | "send:staged"
  | "claim:renamed"
  | "respond:answered"
  | "publish:committed"
  | "release:taken"
  | "archive:moved"
  | "bulk:slice";

let reached = 0;

export function crashPoint(point: CrashPoint): void {
  const at = process.env["ABQ_CRASH_AT"];
  if (at === undefined) return;
  if (at === point || (at.startsWith(`${point}@`) && ++reached === Number(at.slice(point.length + 1)))) {
    process.kill(process.pid, "SIGKILL");
  }
}
