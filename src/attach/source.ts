/**
 * Where a process that holds no transport of its own (a watch handler's run, src/watch/handler.ts) gets
 * attachments from: the most recently opened transport that has its own blob store registers here. Kept
 * free of imports so a transport can register without loading any attachment code.
 */
let source: (() => Promise<unknown>) | undefined;

export function registerStoreSource(next: (() => Promise<unknown>) | undefined): void {
  source = next;
}

export function currentStoreSource(): (() => Promise<unknown>) | undefined {
  return source;
}
