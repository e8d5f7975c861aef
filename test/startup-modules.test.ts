/**
 * What the everyday commands load at start-up: none of the Node built-ins that cost milliseconds and that
 * only some commands use (child_process with net and dgram, crypto, http, timers/promises). Each new
 * feature that imports one at the top of a core module slows every `abq send` and every hook call; this
 * session's first build did exactly that (share, reserve, lock run, kv), costing 10-15 ms of `check --inbox`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, makeBus, runNode } from "./helpers.ts";

// Not net: Node loads it itself for a stdout or stderr that is a pipe.
const HEAVY = ["child_process", "crypto", "http", "https", "dgram", "timers/promises", "worker_threads"];

describe("start-up", () => {
  it("send, recv, check --inbox, status, ls and --help load none of the heavy built-ins", async () => {
    const bus = makeBus();
    expect((await bus.abq(["init"])).code).toBe(0);
    expect((await bus.abq(["channel", "create", "w"])).code).toBe(0);
    const preload = join(bus.root, "modules.cjs");
    writeFileSync(
      preload,
      `process.on("exit", () => require("fs").writeFileSync(process.env.MODULES_OUT, process.moduleLoadList.join("\\n")));`,
    );
    for (const args of [
      ["send", "w", "signal", "hello"],
      ["check", "--inbox", "w", "--inject"],
      ["recv", "w"],
      ["status"],
      ["ls", "w", "archive"],
      ["--help"],
    ]) {
      const out = join(bus.root, "modules.txt");
      const r = await runNode(["-r", preload, CLI, ...args], { env: { ...bus.env, MODULES_OUT: out }, cwd: bus.root });
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
      const loaded = readFileSync(out, "utf8").split("\n");
      const heavy = HEAVY.filter((m) => loaded.includes(`NativeModule ${m}`));
      expect(heavy, `abq ${args.join(" ")} loaded ${heavy.join(", ")}`).toEqual([]);
    }
  });
});
