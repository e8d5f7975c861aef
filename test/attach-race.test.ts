/**
 * The retention sweep racing sends, between real processes: a sender re-sends the same few contents
 * (so most sends reuse a blob the sweep is about to judge unreferenced) and deletes each message right
 * after checking its attachment, while two sweepers run the retention pass with no grace window in a
 * tight loop. Every send must find its blob whole (src/attach/retention.ts explains the sequence that
 * guarantees it), and the sweepers must really have removed blobs meanwhile, or the race was not run.
 */
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LIB, makeBus, parseJson, runNode, startNode } from "./helpers.ts";

const ITERATIONS = 400;
const READS = 1500;

const SENDER = `
  import * as abq from ${JSON.stringify(LIB)};
  import { rmSync, writeFileSync } from "node:fs";
  import { join } from "node:path";
  const home = process.env.ABQ_HOME;
  const files = [0, 1, 2].map((i) => { const p = "f" + i + ".txt"; writeFileSync(p, "content " + i + "\\n".repeat(i * 1000)); return p; });
  let failures = 0;
  const errors = [];
  for (let i = 0; i < ${ITERATIONS}; i++) {
    const sent = await abq.send({ channel: "c", type: "command", content: "x", attachments: [files[i % 3]] });
    try {
      await abq.attachments({ id: sent.id, channel: "c" }); // reads and checks the blob
    } catch (err) {
      failures++;
      errors.push(String(err.message));
    }
    // Gone: its blob is unreferenced again, for the sweepers to race the next send of the same bytes.
    rmSync(join(home, "channels", "c", "requests", sent.id + ".json"));
  }
  writeFileSync("stop", "");
  console.log(JSON.stringify({ failures, errors: errors.slice(0, 3) }));
`;

// What a sweep does to a blob it judged unreferenced and then found referenced (retention.ts steps b and
// the restore), in a tight loop: the blob is out of place for a moment, then back.
const TRASHER = `
  import { linkSync, renameSync, unlinkSync, existsSync } from "node:fs";
  import { join } from "node:path";
  const [blob, trash] = [process.env.BLOB, process.env.TRASH];
  let moves = 0;
  while (!existsSync("stop")) {
    const name = join(trash, process.env.SHA + "." + process.pid + "." + moves);
    renameSync(blob, name);
    for (let i = 0; i < 50000; i++); // a sweep's rescan takes a while; keep the window open a little
    linkSync(name, blob);
    unlinkSync(name);
    moves++;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1); // in place most of the time, as in a real sweep
  }
  console.log(JSON.stringify({ moves }));
`;

const READER = `
  import * as abq from ${JSON.stringify(LIB)};
  import { mkdirSync, writeFileSync } from "node:fs";
  mkdirSync("out");
  let failures = 0;
  const errors = [];
  for (let i = 0; i < ${READS}; i++) {
    try {
      // Alternately checked in place and copied out (-o), the two ways a blob is read.
      await abq.attachments({ id: process.env.ID, channel: "c", ...(i % 2 ? { output: "out" } : {}) });
    } catch (err) {
      failures++;
      errors.push(String(err.message));
    }
  }
  writeFileSync("stop", "");
  console.log(JSON.stringify({ failures, errors: errors.slice(0, 3) }));
`;

const SWEEPER = `
  import * as abq from ${JSON.stringify(LIB)};
  import { existsSync } from "node:fs";
  let removed = 0, passes = 0;
  while (!existsSync("stop")) {
    removed += (await abq.sweepAttachments({ graceMs: 0 })).removed;
    passes++;
  }
  console.log(JSON.stringify({ removed, passes }));
`;

describe("retention racing sends", () => {
  it(`${ITERATIONS} sends reusing blobs against two sweepers: no send ever loses its blob`, async () => {
    const bus = makeBus({ ABQ_FSYNC: "0" });
    expect((await bus.abq(["channel", "create", "c"])).code).toBe(0);
    const opts = { env: bus.env, cwd: bus.root, timeoutMs: 240_000 };
    const sweepers = [
      startNode(["--input-type=module", "-e", SWEEPER], opts),
      startNode(["--input-type=module", "-e", SWEEPER], opts),
    ];
    const sender = await runNode(["--input-type=module", "-e", SENDER], opts);
    expect(sender.code, sender.stderr).toBe(0);
    const results = await Promise.all(sweepers.map((s) => s.done));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(parseJson(sender.stdout)).toEqual({ failures: 0, errors: [] });
    const swept = results.map((r) => parseJson<{ removed: number; passes: number }>(r.stdout));
    // The race really ran: blobs were removed between sends, over many passes.
    expect(
      swept.reduce((n, s) => n + s.removed, 0),
      JSON.stringify(swept),
    ).toBeGreaterThan(5);
    expect(
      swept.reduce((n, s) => n + s.passes, 0),
      JSON.stringify(swept),
    ).toBeGreaterThan(20);
    // Nothing left behind: no pins, no trash, and (every message being gone) no blobs after one more pass.
    const once = `import * as abq from ${JSON.stringify(LIB)}; await abq.sweepAttachments({ graceMs: 0 });`;
    const final = await runNode(["--input-type=module", "-e", once], opts);
    expect(final.code, final.stderr).toBe(0);
    const blobs = join(bus.home, "blobs");
    expect(readdirSync(join(blobs, "pins"))).toEqual([]);
    expect(readdirSync(join(blobs, "trash"))).toEqual([]);
    const left = readdirSync(join(blobs, "sha256")).flatMap((d) => readdirSync(join(blobs, "sha256", d)));
    expect(existsSync(join(bus.root, "stop"))).toBe(true);
    expect(left).toEqual([]);
  }, 300_000);

  it(`${READS} reads and copies of a referenced blob while a sweep moves it to trash and back: every one finds it whole`, async () => {
    const bus = makeBus({ ABQ_FSYNC: "0" });
    expect((await bus.abq(["channel", "create", "c"])).code).toBe(0);
    writeFileSync(join(bus.root, "f.txt"), "payload\n".repeat(5000));
    const sent = await bus.abq(["send", "c", "command", "x", "--attach", "f.txt", "--json"], { cwd: bus.root });
    expect(sent.code, sent.stderr).toBe(0);
    const { id, attachments } = parseJson<{ id: string; attachments: { sha256: string }[] }>(sent.stdout);
    const sha = attachments[0]!.sha256;
    const blobs = join(bus.home, "blobs");
    const env = {
      ...bus.env,
      ID: id,
      SHA: sha,
      BLOB: join(blobs, "sha256", sha.slice(0, 2), sha),
      TRASH: join(blobs, "trash"),
    };
    const opts = { env, cwd: bus.root, timeoutMs: 240_000 };
    const trasher = startNode(["--input-type=module", "-e", TRASHER], opts);
    const reader = await runNode(["--input-type=module", "-e", READER], opts);
    const moved = await trasher.done;
    expect(reader.code, reader.stderr).toBe(0);
    expect(moved.code, moved.stderr).toBe(0);
    expect(parseJson(reader.stdout)).toEqual({ failures: 0, errors: [] });
    // The race really ran: the blob left its place many times during the reads.
    expect(parseJson<{ moves: number }>(moved.stdout).moves).toBeGreaterThan(READS);
  }, 300_000);
});
