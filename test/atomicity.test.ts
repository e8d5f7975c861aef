/**
 * Atomic delivery and exclusive claims, with real processes on the real filesystem. The seed read torn
 * JSON in 2-38% of claims under the same load; abq must read none.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LIB, makeBus, runNode } from "./helpers.ts";

const FIXTURES = join(import.meta.dirname, "fixtures");

interface ConsumerReport {
  ids: string[];
  wrongSize: number;
}

describe("atomic delivery under a concurrent reader and competing consumers", () => {
  it.each([
    { size: 1, count: 2000 },
    { size: 200 * 1024, count: 300 },
  ])(
    "$count sends of $size bytes: no torn reads, every message claimed exactly once",
    { timeout: 150_000 },
    async ({ size, count }) => {
      const bus = makeBus();
      expect((await bus.abq(["channel", "create", "atom"])).code).toBe(0);
      const marker = join(bus.root, "producer-done");
      const consumersDone = join(bus.root, "consumers-done");
      // Four processes on a 2-core machine beside the rest of the suite: 17 s alone, 60 s+ on a busy run.
      const opts = { env: bus.env, timeoutMs: 140_000 };
      const requests = join(bus.home, "channels", "atom", "requests");

      const producer = runNode(
        [join(FIXTURES, "send-many.mjs"), LIB, bus.home, "atom", String(count), String(size), marker],
        opts,
      );
      const reader = runNode([join(FIXTURES, "raw-reader.mjs"), requests, consumersDone], opts);
      const consumers = [1, 2].map(() =>
        runNode([join(FIXTURES, "claim-loop.mjs"), LIB, bus.home, "atom", String(size), marker], opts),
      );

      const sent = await producer;
      expect(sent.stderr).toBe("");
      const reports = await Promise.all(consumers);
      await import("node:fs/promises").then((fs) => fs.writeFile(consumersDone, "done"));
      const read = JSON.parse((await reader).stdout) as { reads: number; torn: number };

      const results = reports.map((r) => {
        expect(r.stderr).toBe("");
        return JSON.parse(r.stdout) as ConsumerReport;
      });
      const all = results.flatMap((r) => r.ids);
      expect(read.reads).toBeGreaterThan(0); // the reader really saw files while they were being delivered
      expect(read.torn).toBe(0);
      expect(all).toHaveLength(count);
      expect(new Set(all).size).toBe(count);
      expect(results.every((r) => r.wrongSize === 0)).toBe(true);
      // Nothing was set aside as invalid, nothing is left anywhere but the archive.
      const dir = join(bus.home, "channels", "atom");
      expect(existsSync(join(dir, "rejected")) ? readdirSync(join(dir, "rejected")) : []).toEqual([]);
      expect(readdirSync(join(dir, "requests"))).toEqual([]);
      expect(readdirSync(join(dir, "processing"))).toEqual([]);
      expect(readdirSync(join(dir, "tmp"))).toEqual([]);
      expect(readdirSync(join(dir, "archive")).filter((n) => n.endsWith("_request.json"))).toHaveLength(count);
    },
  );
});

describe("competing consumers through the CLI", () => {
  it("four processes looping `abq recv` claim each of 60 messages exactly once", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "jobs"]);
    const sent = await runNode(
      [join(FIXTURES, "send-many.mjs"), LIB, bus.home, "jobs", "60", "10", join(bus.root, "sent")],
      { env: bus.env },
    );
    expect(sent.code).toBe(0);

    // Each worker: recv until exit 4 (empty), collecting the ids it got.
    const worker = async (): Promise<string[]> => {
      const got: string[] = [];
      for (;;) {
        const r = await bus.abq(["recv", "jobs", "--json"]);
        if (r.code === 4) return got;
        expect(r.code, r.stderr).toBe(0);
        got.push((JSON.parse(r.stdout) as { id: string }).id);
      }
    };
    const results = await Promise.all([worker(), worker(), worker(), worker()]);
    const all = results.flat();
    expect(all).toHaveLength(60);
    expect(new Set(all).size).toBe(60);
    expect(results.filter((r) => r.length > 0).length).toBeGreaterThan(1);
  });
});
