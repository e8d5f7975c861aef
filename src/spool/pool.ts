/**
 * Running independent per-message steps a few at a time. Why: a durable step waits on fsync, and
 * fsyncs issued together share the file system's journal commits, so bulk operations (requeue, topic
 * fan-out) run at the disk's commit rate rather than one commit per message; the width bounds the
 * memory and the files held open however many items there are.
 */

/**
 * Calls `step` on every item, at most `width` at once. After a failure no new step starts; the ones
 * already running finish, then the first error is thrown (what was not started stays as it was).
 */
export async function eachInPool<T>(
  items: readonly T[],
  width: number,
  step: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const failures: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (next < items.length && failures.length === 0) {
      await step(items[next++] as T).catch((err: unknown) => failures.push(err));
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  if (failures.length > 0) throw failures[0];
}
