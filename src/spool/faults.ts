/**
 * Crash points for tests. When `ABQ_CRASH_AT` names one of these points, the process kills itself with
 * SIGKILL right there, so the test suite can prove what each step of the lifecycle leaves behind after a
 * real, uncatchable crash. Unset (always, outside tests) it costs one environment lookup.
 *
 * Points: `send:staged` (staging file written, not yet renamed into requests/), `claim:renamed` (moved to
 * processing/, not yet read), `respond:answered` (answer published, request not yet archived),
 * `publish:committed` (topic message committed to fanout/, not yet copied to subscribers),
 * `release:taken` (a claim taken for a release, retry or term: renamed to its dot-name, not yet moved on),
 * `archive:moved` (a request renamed into archive/ by ack, cancel or purge, its reason not yet written).
 */
export type CrashPoint =
  "send:staged" | "claim:renamed" | "respond:answered" | "publish:committed" | "release:taken" | "archive:moved";

export function crashPoint(point: CrashPoint): void {
  if (process.env["ABQ_CRASH_AT"] === point) process.kill(process.pid, "SIGKILL");
}
