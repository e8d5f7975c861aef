/**
 * The dashboard's watched folder index (src/ui/folder-index.ts) when two readers ask at once: the live
 * stream's snapshot and a page request both refresh the same folder. Each must get the names as of its
 * call, even while the other is halfway through reading the folder whole.
 */
import { mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FolderIndex } from "../src/ui/folder-index.ts";

describe("FolderIndex", () => {
  it("a refresh that starts while another reads the folder whole waits for that read", async () => {
    const dir = mkdtempSync(join(tmpdir(), "abq-test-fi-"));
    for (let i = 0; i < 200; i++) writeFileSync(join(dir, `req_${String(i).padStart(4, "0")}.json`), "{}");
    const index = new FolderIndex(dir, () => {});
    try {
      const first = index.refresh();
      const second = index.refresh(); // the page's request, while the snapshot's read is in flight
      await second;
      expect([...index.list()].length).toBe(200);
      await first;
    } finally {
      index.close();
    }
  });

  it("names reported while a whole read is in flight are not lost when it lands", async () => {
    const dir = mkdtempSync(join(tmpdir(), "abq-test-fi-"));
    for (let i = 0; i < 2000; i++) writeFileSync(join(dir, `req_${String(i).padStart(5, "0")}.json`), "{}");
    let changed = 0;
    const index = new FolderIndex(dir, () => changed++);
    try {
      await index.refresh();
      index.resync();
      const whole = index.refresh(); // reads 2000 names
      await new Promise((r) => setImmediate(r)); // the watch is on and the read under way
      // A message arrives (staged elsewhere, renamed in) during that read; a second reader refreshes.
      const staged = join(tmpdir(), `abq-test-fi-staged-${process.pid}.json`);
      writeFileSync(staged, "{}");
      renameSync(staged, join(dir, "req_99999.json"));
      await until(() => changed > 0);
      expect(changed).toBeGreaterThan(0);
      await Promise.all([whole, index.refresh()]);
      await index.refresh();
      expect(new Set(index.list()).has("req_99999.json")).toBe(true);
      expect([...index.list()].length).toBe(2001);
    } finally {
      index.close();
    }
  });
});

async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
}
