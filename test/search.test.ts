/**
 * `abq search` (issue 13): filters by sender, channel, time, text and thread, alone and combined, across
 * channels and states (pending, claimed, done with its answer), newest first; and the abq_search MCP tool.
 */
import { existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Bus, makeBus, parseJson, runCli } from "./helpers.ts";
import { mcpClient } from "./fixtures/mcp-client.ts";

interface Match {
  channel: string;
  state: string;
  request: { id: string; content: string; from: { agent: string } };
  response?: { result: string };
}

const API = "host.a/org/api/main";
const WEB = "host.a/org/web/dev";

let bus: Bus;
/** m1 done (answered), m2 pending in other, m3 claimed (thread m1), m4 pending, m5 pending in @self. */
const ids: Record<string, string> = {};

async function run(args: string[], agent?: string): Promise<string> {
  const r = await bus.abq(args, agent !== undefined ? { env: { ABQ_AGENT: agent } } : {});
  expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

async function sent(args: string[], agent?: string): Promise<string> {
  return parseJson<{ id: string }>(await run(["send", ...args, "--json"], agent)).id;
}

async function search(...args: string[]): Promise<Match[]> {
  const out = (await run(["search", ...args, "--json"])).trim();
  return out === "" ? [] : out.split("\n").map((l) => parseJson<Match>(l));
}

/** The names (m1…m5) of the matches, in the order printed. */
async function found(...args: string[]): Promise<string[]> {
  const names = Object.fromEntries(Object.entries(ids).map(([k, v]) => [v, k]));
  return (await search(...args)).map((m) => names[m.request.id] ?? m.request.id);
}

/** One bus for every test (helpers' makeBus lives for one test): the same environment as makeBus gives. */
function sharedBus(): Bus {
  const root = realpathSync(mkdtempSync(join(tmpdir(), "abq-search-")));
  const env: NodeJS.ProcessEnv = { ...process.env, ABQ_HOME: join(root, "home"), HOME: root, ABQ_AGENT: "test/agent" };
  delete env["ABQ_URL"];
  return {
    root,
    home: join(root, "home"),
    env,
    abq: (args, opts = {}) => runCli(args, { cwd: root, ...opts, env: { ...env, ...opts.env } }),
  };
}

afterAll(() => rmSync(bus.root, { recursive: true, force: true }));

beforeAll(async () => {
  bus = sharedBus();
  await run(["init"]);
  await run(["channel", "create", "work"]);
  await run(["channel", "create", "other"]);
  ids["m1"] = await sent(["work", "command", "Deploy Alpha\nsecond line"], API);
  await run(["recv", "work"]);
  await run(["respond", "work", ids["m1"], "-r", "finished GAMMA ok"]);
  ids["m2"] = await sent(["other", "eval", "compute beta"], WEB);
  ids["m3"] = await sent(["work", "signal", "reply to alpha", "--thread", ids["m1"]], API);
  await run(["recv", "work"]);
  ids["m4"] = await sent(["work", "status", "still pending"], WEB);
  ids["m5"] = await sent(["@self", "signal", "note to self"]);
}, 60_000);

describe("abq search", () => {
  it("finds by text in the content, or in an archived message's answer, ignoring case", async () => {
    const [gamma] = await search("--text", "gamma");
    expect(gamma).toMatchObject({ channel: "work", state: "done", request: { id: ids["m1"] } });
    expect(gamma?.response?.result).toBe("finished GAMMA ok");
    expect(await found("--text", "ALPHA")).toEqual(["m3", "m1"]);
  });

  it("finds by sender: a whole identity, or a suffix of whole segments", async () => {
    expect(await found("--from", API)).toEqual(["m3", "m1"]);
    expect(await found("--from", "web/dev")).toEqual(["m4", "m2"]);
    expect(await found("--from", "dev")).toEqual(["m4", "m2"]);
    expect(await found("--from", "eb/dev")).toEqual([]);
  });

  it("finds by channel, @self included, and by thread", async () => {
    expect(await found("--channel", "other")).toEqual(["m2"]);
    expect(await found("--channel", "@self")).toEqual(["m5"]);
    expect(await found("--thread", ids["m1"]!)).toEqual(["m3", "m1"]);
  });

  it("finds by time, newest first, across channels and states; -n limits", async () => {
    const all = await search("--since", "1h");
    expect(all.map((m) => m.request.id)).toEqual(["m5", "m4", "m3", "m2", "m1"].map((k) => ids[k]));
    expect(all.map((m) => m.state)).toEqual(["pending", "pending", "claimed", "pending", "done"]);
    expect(await found("--since", new Date(Date.now() + 3_600_000).toISOString())).toEqual([]);
    expect(await found("--since", "2020-01-01T00:00:00Z", "-n", "2")).toEqual(["m5", "m4"]);
  });

  it("combines filters: every one must match", async () => {
    expect(await found("--from", "web/dev", "--channel", "work")).toEqual(["m4"]);
    const args = ["--text", "alpha", "--channel", "work", "--from", "api/main", "--thread", ids["m1"]!];
    expect(await found(...args, "--since", "1h")).toEqual(["m3", "m1"]);
    expect(await found("--text", "gamma", "--channel", "other")).toEqual([]);
  });

  it("prints one line per match, and No matches (exit 0) when none", async () => {
    const lines = (await run(["search", "--from", "api/main"])).trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\S+Z {2}work {2}claimed {2}host\.a\/org\/api\/main {2}signal {3}reply to alpha$/);
    expect(lines[1]).toMatch(/done .*command {2}Deploy Alpha$/);
    expect((await run(["search", "--text", "no such words"])).trim()).toBe("No matches");
  });

  it("needs a filter (exit 2, one line) and checks what it is given", async () => {
    const none = await bus.abq(["search"]);
    expect(none.code).toBe(2);
    expect(none.stderr.trim().split("\n")).toHaveLength(1);
    expect(none.stderr).toMatch(/at least one filter/);
    expect((await bus.abq(["search", "--since", "soon"])).code).toBe(2);
    expect((await bus.abq(["search", "--text", "x", "-n", "1001"])).code).toBe(2);
    expect((await bus.abq(["search", "--channel", "nope"])).code).toBe(3);
  });

  it("is the abq_search MCP tool", async () => {
    const client = await mcpClient(bus);
    const call = async (args: Record<string, unknown>): Promise<{ isError: boolean; text: string }> => {
      const r = await client.callTool({ name: "abq_search", arguments: args });
      return { isError: r.isError === true, text: (r.content as Array<{ text: string }>)[0]?.text ?? "" };
    };
    const matches = (r: { text: string }): Match[] => parseJson<{ matches: Match[] }>(r.text).matches;
    const gamma = matches(await call({ text: "gamma" }));
    expect(gamma.map((m) => m.request.id)).toEqual([ids["m1"]]);
    expect(gamma[0]?.response?.result).toBe("finished GAMMA ok");
    expect(matches(await call({ channel: "@self" })).map((m) => m.request.id)).toEqual([ids["m5"]]);
    const recent = matches(await call({ since: "1h", from: "api/main", limit: 1 }));
    expect(recent.map((m) => m.request.id)).toEqual([ids["m3"]]);
    const none = await call({});
    expect(none.isError).toBe(true);
    expect(none.text).toMatch(/^E_USAGE: .*at least one filter/);
  });
});

describe("abq search reads answers written by other writers", () => {
  /**
   * Search skips parsing an answer whose raw JSON cannot hold the words (src/api/search.ts,
   * rawMayContain). Answers written the way the Python seed writes them (every non-ASCII character as
   * a \\u escape), with quotes, or with gratuitous escapes must still be found.
   */
  it("finds words in escaped answers: \\u escapes, quotes, mixed case", async () => {
    const other = makeBus();
    expect((await other.abq(["init"])).code).toBe(0);
    expect((await other.abq(["channel", "create", "seed"])).code).toBe(0);
    const answers: Record<string, string> = {
      accents: '"result": "\\u00c9T\\u00c9 Needle-X fini"',
      quoted: '"result": "say \\"quoted\\" things"',
      escaped: '"result": "\\u0067ratuitous esc\\u0061pes"',
    };
    const ids: Record<string, string> = {};
    for (const [name, result] of Object.entries(answers)) {
      const r = await other.abq(["send", "seed", "command", `job ${name}`, "--json"]);
      ids[name] = parseJson<{ id: string }>(r.stdout).id;
      const id = ids[name];
      const dir = join(other.home, "channels", "seed");
      expect((await other.abq(["recv", "seed"])).code).toBe(0);
      const response =
        `{"id": "${id}", "version": "1.0.0", "status": "success", "from": {"agent": "py/seed", "pid": 1}, ` +
        `${result}, "error": null, "timestamp": "2026-12-01T00:00:00Z"}`;
      expect((await other.abq(["respond", "seed", id, "-r", "placeholder"])).code).toBe(0);
      // The answer as another writer left it, wherever respond put it (responses/ until read).
      const at = [join(dir, "responses", `${id}.json`), join(dir, "archive", `${id}_response.json`)];
      const file = at.find((f) => existsSync(f));
      expect(file, `answer of ${name}`).toBeDefined();
      writeFileSync(file!, response);
    }
    const hits = async (text: string): Promise<string[]> => {
      const r = await other.abq(["search", "--text", text, "--json"]);
      expect(r.code, r.stderr).toBe(0);
      const names = Object.fromEntries(Object.entries(ids).map(([k, v]) => [v, k]));
      return r.stdout.trim() === ""
        ? []
        : r.stdout
            .trim()
            .split("\n")
            .map((l) => names[parseJson<Match>(l).request.id]!);
    };
    expect(await hits("needle-x")).toEqual(["accents"]);
    expect(await hits("été")).toEqual(["accents"]);
    expect(await hits('"quoted"')).toEqual(["quoted"]);
    expect(await hits("gratuitous escapes")).toEqual(["escaped"]);
    expect(await hits("fini")).toEqual(["accents"]);
    expect(await hits("nowhere")).toEqual([]);
  });
});
