/**
 * Long-running commands (watch, bridge) trade a little speed for a heap that stays small. Each handler
 * run allocates short-lived objects (child process, pipes, buffers) at a rate that makes V8 grow its
 * young generation to 48 MB and let garbage pile up in the old one; a watcher draining a queue peaked
 * at ~135 MB. V8's "optimize for size" mode keeps both small (~90–100 MB peak, with ~10–15% less
 * throughput on a trivial handler; README "Performance"). It is a heuristic V8 reads while running, so
 * switching it on here takes effect, where heap limits set at start-up (--max-semi-space-size) would not;
 * Node warns that flags changed at run time may do nothing or worse, and this one is measured (B10) and
 * run by every watch test. Library users keep their own process's settings: only the CLI calls this.
 */
export function preferSmallHeap(): void {
  // node:v8 is loaded here, not at the top: every other command would pay for it.
  if (process.env["ABQ_SMALL_HEAP"] !== "0")
    process.getBuiltinModule("node:v8").setFlagsFromString("--optimize-for-size");
}
