/**
 * Attachments on the file spool: the blob store (dedup, modes, staging), bad input and hostile folders,
 * corruption detected on every read without losing the message, retention by `abq sweep`, the library,
 * and a seed-format reader still reading a message that carries attachments or spilled content.
 */
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Bus, CLI, LIB, makeBus, parseJson, ROOT, runNode } from "./helpers.ts";
import { ok, type Ref } from "./fixtures/attach.ts";

type Sent = { id: string; content: string; attachments?: Ref[] };

async function fails(bus: Bus, args: string[], code: number, message: RegExp, input?: string): Promise<void> {
  const r = await bus.abq(args, input !== undefined ? { input } : {});
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(message)]);
}

function blobPath(bus: Bus, sha256: string): string {
  return join(bus.home, "blobs", "sha256", sha256.slice(0, 2), sha256);
}

async function busWithFile(name = "f.txt", text = "hello\n"): Promise<Bus> {
  const bus = makeBus();
  await ok(bus, ["channel", "create", "c"]);
  writeFileSync(join(bus.root, name), text);
  return bus;
}

describe("the blob store", () => {
  it("stores each content once (0600 in 0700 folders), named by its sha256, with no staging left", async () => {
    const bus = await busWithFile();
    writeFileSync(join(bus.root, "same.txt"), "hello\n");
    const a = parseJson<Sent>(await ok(bus, ["send", "c", "command", "a", "--attach", "f.txt", "--json"]));
    const b = parseJson<Sent>(await ok(bus, ["send", "c", "command", "b", "--attach", "same.txt", "--json"]));
    const sha = createHash("sha256").update("hello\n").digest("hex");
    expect(a.attachments![0]!.sha256).toBe(sha);
    expect(b.attachments![0]).toEqual({ name: "same.txt", sha256: sha, size: 6, media_type: "text/plain" });
    expect(readdirSync(join(bus.home, "blobs", "sha256"))).toEqual([sha.slice(0, 2)]);
    expect(readdirSync(join(bus.home, "blobs", "sha256", sha.slice(0, 2)))).toEqual([sha]);
    expect(lstatSync(blobPath(bus, sha)).mode & 0o777).toBe(0o600);
    expect(lstatSync(blobPath(bus, sha)).nlink).toBe(1);
    for (const d of ["blobs", "blobs/sha256", "blobs/tmp", "blobs/pins"])
      expect(lstatSync(join(bus.home, d)).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(bus.home, "blobs", "tmp"))).toEqual([]);
    expect(readdirSync(join(bus.home, "blobs", "pins"))).toEqual([]);
  });

  it("refuses bad names, missing files, folders, and stdin used twice: one line, exit 2, nothing sent", async () => {
    const bus = await busWithFile();
    const send = (...extra: string[]) => ["send", "c", "command", "x", ...extra];
    await fails(bus, send("--attach", "nope.txt"), 2, /^abq: cannot attach nope\.txt: no such file$/);
    await fails(bus, send("--attach", bus.root), 2, /^abq: cannot attach .*: it is a folder/);
    await fails(bus, send("--attach", "-", "--attach-name", "../x"), 2, /is not a plain file name/, "data");
    await fails(bus, send("--attach", "-", "--attach-name", "a\nb"), 2, /is not a plain file name/, "data");
    await fails(bus, send("--attach", "f.txt", "--attach", "f.txt"), 2, /two attachments are named 'f\.txt'/);
    await fails(bus, send("--attach-name", "x"), 2, /--attach-name names the --attach - attachment/);
    await fails(bus, ["send", "c", "command", "-", "--attach", "-"], 2, /stdin cannot be both/, "data");
    await fails(bus, send("--attach", "f.txt", "--batch"), 2, /--attach does not combine with --batch/);
    expect(readdirSync(join(bus.home, "channels", "c", "requests"))).toEqual([]);
  });

  it("stops an endless stdin at ABQ_MAX_ATTACHMENT_BYTES: one line, exit 2, nothing sent or left staged", async () => {
    const bus = makeBus({ ABQ_MAX_BYTES: "20000", ABQ_MAX_ATTACHMENT_BYTES: "1000000" });
    await ok(bus, ["channel", "create", "c"]);
    for (const args of [
      ["send", "c", "signal", "-"],
      ["send", "c", "signal", "x", "--attach", "-"],
    ]) {
      const cmd = `yes | "${process.execPath}" "${CLI}" ${args.join(" ")}`;
      const r = await runNode(
        [
          "-e",
          `process.exit(require("node:child_process").spawnSync("sh", ["-c", ${JSON.stringify(cmd)}], { stdio: ["ignore", "inherit", "inherit"] }).status)`,
        ],
        { env: bus.env, cwd: bus.root, timeoutMs: 20_000 },
      );
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split("\n")).toEqual([
        "abq: an attachment is larger than the cap of 1000000 bytes (raise ABQ_MAX_ATTACHMENT_BYTES to send it)",
      ]);
    }
    expect(readdirSync(join(bus.home, "channels", "c", "requests"))).toEqual([]);
    expect(readdirSync(join(bus.home, "blobs", "tmp"))).toEqual([]);
    expect(readdirSync(join(bus.home, "blobs", "pins"))).toEqual([]);
  });

  it("refuses a blob folder that is a symbolic link (exit 9) and a planted link in a blob's place", async () => {
    const bus = await busWithFile();
    await ok(bus, ["send", "c", "command", "x", "--attach", "f.txt"]);
    const sha = createHash("sha256").update("hello\n").digest("hex");
    // The blob replaced by a link to another file: extraction says it is missing, never follows it.
    writeFileSync(join(bus.root, "other"), "hello\n");
    rmSync(blobPath(bus, sha));
    symlinkSync(join(bus.root, "other"), blobPath(bus, sha));
    await fails(bus, ["send", "c", "command", "y", "--attach", "f.txt"], 9, /is not a regular file/);
    // The whole store replaced by a link elsewhere.
    rmSync(join(bus.home, "blobs"), { recursive: true });
    mkdirSync(join(bus.root, "elsewhere"));
    symlinkSync(join(bus.root, "elsewhere"), join(bus.home, "blobs"));
    await fails(bus, ["send", "c", "command", "z", "--attach", "f.txt"], 9, /is a symbolic link/);
    expect(readdirSync(join(bus.root, "elsewhere"))).toEqual([]);
  });
});

describe("corruption", () => {
  it("is detected on every read: one line, exit 6, the message kept, no partial copy written", async () => {
    const bus = makeBus({ ABQ_MAX_BYTES: "20000" });
    await ok(bus, ["channel", "create", "c"]);
    writeFileSync(join(bus.root, "f.bin"), "z".repeat(5000));
    const sent = parseJson<Sent>(
      await ok(bus, ["send", "c", "command", "-", "--attach", "f.bin", "--json"], "q".repeat(30_000)),
    );
    for (const ref of sent.attachments!) {
      const path = blobPath(bus, ref.sha256);
      chmodSync(path, 0o600);
      const bytes = readFileSync(path);
      bytes[10] = bytes[10]! ^ 1;
      writeFileSync(path, bytes);
    }
    await fails(
      bus,
      ["attachment", sent.id, "f.bin", "-o", "out.bin"],
      6,
      /^abq: attachment 'f\.bin' of req_\w+ is corrupt: its bytes do not match sha256 [0-9a-f]{12}…/,
    );
    expect(existsSync(join(bus.root, "out.bin"))).toBe(false);
    expect(readdirSync(bus.root).filter((n) => n.includes("abq-attachment"))).toEqual([]);
    await fails(bus, ["show", sent.id], 6, /attachment 'content\.txt' of req_\w+ is corrupt/);
    await fails(bus, ["recv", "c"], 6, /attachment 'content\.txt' of req_\w+ is corrupt/);
    // recv gave it back untouched; a watch handler run is refused as a failed attempt, never a loss.
    expect(readdirSync(join(bus.home, "channels", "c", "requests"))).toEqual([`${sent.id}.json`]);
    const w = await bus.abq(["watch", "c", "--handler", "cat", "--once"]);
    expect(w.stderr).toMatch(/is corrupt/);
    const kept = ["requests", "delayed", "dead"].flatMap((d) =>
      existsSync(join(bus.home, "channels", "c", d)) ? readdirSync(join(bus.home, "channels", "c", d)) : [],
    );
    expect(kept).toContain(`${sent.id}.json`);
  });
});

describe("spilling text over the inline cap", () => {
  it("content from stdin larger than the cap streams into content.txt; show, recv and the seed reader cope", async () => {
    const bus = makeBus({ ABQ_MAX_BYTES: "20000" });
    await ok(bus, ["channel", "create", "c"]);
    const text = "line of text\n".repeat(5000); // 65 000 bytes: more than 3× the cap
    const sent = parseJson<Sent>(await ok(bus, ["send", "c", "command", "-", "--json"], text));
    expect(sent.content).toMatch(
      /^\[abq: this content is 65000 bytes, over the inline cap, so it is in the attachment content\.txt/,
    );
    expect(sent.attachments).toEqual([
      expect.objectContaining({ name: "content.txt", size: 65_000, spilled: "content" }),
    ]);
    const file = join(bus.home, "channels", "c", "requests", `${sent.id}.json`);
    expect(readFileSync(file).length).toBeLessThan(2000);
    // A seed-format reader (plain json.load, the fields the seed uses) reads it: the content is the note.
    const seed = execFileSync(
      "python3",
      [
        "-c",
        "import json,sys; m=json.load(open(sys.argv[1])); print(m['id'], m['type'], m['from']['agent'], m['ttl'], m['content'][:5])",
        file,
      ],
      { encoding: "utf8" },
    );
    expect(seed.trim()).toBe(`${sent.id} command test/agent 0 [abq:`);
    expect(
      parseJson<{ request: { content: string } }>(await ok(bus, ["show", sent.id, "--json"])).request.content,
    ).toBe(text);
    expect(await ok(bus, ["attachment", sent.id, "content.txt", "-o", "-"])).toBe(text);
    const claimed = parseJson<Sent>(await ok(bus, ["recv", "c", "--json"]));
    expect(claimed.content).toBe(text);
    // The answer: spilled too, read back by show; the old "answer stored but unreadable" cannot happen.
    await ok(bus, ["respond", "c", sent.id, "--result", "-"], text);
    const done = parseJson<{ response: { result: string; attachments: Ref[] } }>(
      await ok(bus, ["show", sent.id, "--json"]),
    );
    expect(done.response.result).toBe(text);
    expect(done.response.attachments[0]).toMatchObject({ name: "result.txt", spilled: "result" });
  });
});

describe("retention", () => {
  it("abq sweep removes blobs no message references (and says how many), keeps referenced and young ones", async () => {
    const bus = makeBus({ ABQ_BLOB_GRACE_S: "0" });
    await ok(bus, ["channel", "create", "c"]);
    await ok(bus, ["channel", "create", "keep"]);
    writeFileSync(join(bus.root, "a.txt"), "aaa");
    writeFileSync(join(bus.root, "b.txt"), "bbb");
    const a = parseJson<Sent>(await ok(bus, ["send", "c", "command", "x", "--attach", "a.txt", "--json"]));
    const b = parseJson<Sent>(await ok(bus, ["send", "keep", "command", "y", "--attach", "b.txt", "--json"]));
    expect((await ok(bus, ["sweep"])).includes("attachment blob")).toBe(false);
    await ok(bus, ["channel", "rm", "c", "--yes"]);
    const young = await bus.abq(["sweep"], { env: { ABQ_BLOB_GRACE_S: "3600" } });
    expect(young.stdout).not.toMatch(/Removed/);
    expect(existsSync(blobPath(bus, a.attachments![0]!.sha256))).toBe(true);
    const dry = await ok(bus, ["sweep", "--dry-run"]);
    expect(dry).toMatch(/Would remove 1 attachment blob\(s\) no message references \(3 bytes\)/);
    const swept = await ok(bus, ["sweep"]);
    expect(swept).toMatch(/Removed 1 attachment blob\(s\) no message references \(3 bytes\)/);
    expect(existsSync(blobPath(bus, a.attachments![0]!.sha256))).toBe(false);
    expect(existsSync(blobPath(bus, b.attachments![0]!.sha256))).toBe(true);
    const json = (await ok(bus, ["sweep", "--json"]))
      .trim()
      .split("\n")
      .map((l) => parseJson(l));
    expect(json.at(-1)).toEqual({ attachments: { removed: 0, bytes_removed: 0, kept: 1 } });
  });

  it("a sweep killed after moving a blob to trash/ is undone by the next sweep", async () => {
    const bus = await busWithFile();
    const sent = parseJson<Sent>(await ok(bus, ["send", "c", "command", "x", "--attach", "f.txt", "--json"]));
    const sha = sent.attachments![0]!.sha256;
    renameSync(blobPath(bus, sha), join(bus.home, "blobs", "trash", `${sha}.999.abcd`));
    await ok(bus, ["sweep"]);
    expect(readFileSync(blobPath(bus, sha), "utf8")).toBe("hello\n");
    expect(readdirSync(join(bus.home, "blobs", "trash"))).toEqual([]);
  });
});

describe("the library", () => {
  it("send, recv, respond and ask with attachments; spilled content read back; attachments() extracts", async () => {
    const bus = await busWithFile("in.txt", "library bytes");
    const script = `
      import * as abq from ${JSON.stringify(LIB)};
      import { readFileSync } from "node:fs";
      const big = "x".repeat(5 * 1024 * 1024);
      const sent = await abq.send({ channel: "c", type: "command", content: big, attachments: ["in.txt"] });
      const claim = await abq.recv({ channel: "c" });
      const local = await abq.attachments({ id: sent.id, name: "in.txt" });
      await abq.respond({ channel: "c", id: sent.id, result: "ok", attachments: [{ path: "in.txt", name: "out.txt" }] });
      const found = await abq.readSpilled(await abq.show({ id: sent.id }));
      console.log(JSON.stringify({
        note: sent.content.slice(0, 5),
        names: sent.attachments.map((a) => a.name),
        claimed: claim.message.content.length,
        bytes: readFileSync(local[0].path, "utf8"),
        shown: found.request.content.length,
        answered: found.response.attachments.map((a) => a.name),
      }));
    `;
    const r = await runNode(["--input-type=module", "-e", script], { env: bus.env, cwd: bus.root });
    expect(r.code, r.stderr).toBe(0);
    expect(parseJson(r.stdout)).toEqual({
      note: "[abq:",
      names: ["in.txt", "content.txt"],
      claimed: 5 * 1024 * 1024,
      bytes: "library bytes",
      shown: 5 * 1024 * 1024,
      answered: ["out.txt"],
    });
  });
});

describe("the README's attachments example", () => {
  it("runs as written and prints the attachment's listing and bytes", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const block = /<!-- example: attachments -->\s*```sh\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const bus = makeBus();
    const shim = join(bus.root, "bin");
    mkdirSync(shim);
    writeFileSync(join(shim, "abq"), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
    chmodSync(join(shim, "abq"), 0o755);
    const out = execFileSync("bash", ["-euo", "pipefail", "-c", block!], {
      cwd: bus.root,
      env: { ...bus.env, PATH: `${shim}:${process.env["PATH"] ?? ""}` },
      encoding: "utf8",
    });
    const lines = out.trim().split("\n");
    expect(lines[0]).toMatch(/^change\.diff\t24\t\/.*\/blobs\/sha256\/[0-9a-f]{2}\/[0-9a-f]{64}$/);
    expect(lines[1]).toBe("fix: handle empty input");
  });
});
