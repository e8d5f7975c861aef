/**
 * The torture suite: real `abq watch` processes, a real producer, real sweeps, all on one real channel,
 * while a chaos loop SIGKILLs watchers (often mid-handler) and the handler itself fails, asks for retries
 * and kills itself at random. Some replacement watchers are started with ABQ_CRASH_AT=claim:renamed: they
 * die between a claim and its lease. The TTL is left at its default. At the end every message must be
 * answered exactly once or dead-lettered with a reason: 0 lost, 0 answered twice, none expired, and no
 * watcher or sweep may have crashed.
 *
 * Size: `ABQ_TORTURE=full` (npm run test:torture) runs 8 watchers × 10 000 messages; the default (part of
 * `npm test`) runs 4 × 600. `ABQ_TORTURE_SEED` picks the seed (the handler's outcome for a message is a pure
 * function of seed, id and attempt; see fixtures/torture/handler.sh). ABQ_FSYNC=0 throughout: fsync only
 * matters across power loss, which this cannot simulate, and atomicity does not depend on it.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { CLI, LIB, makeBus, parseJson, type RunResult, startNode, tempDir } from "./helpers.ts";

const FULL = process.env["ABQ_TORTURE"] === "full";
const SEED = Number(process.env["ABQ_TORTURE_SEED"] ?? 20261121);
const SIZE = FULL
  ? { watchers: 8, messages: 10_000, chaosMs: [400, 2000], settleMs: 20 * 60_000, testMs: 45 * 60_000 }
  : { watchers: 4, messages: 600, chaosMs: [300, 1200], settleMs: 60_000, testMs: 150_000 };
/** Chaos runs until this share of the messages reached a final state. */
const CHAOS_UNTIL = 0.5;
const SWEEPERS = 3;
const MAX_ATTEMPTS = 4;
/** A message is poison when (its id's last byte + seed) mod 256 is below this (~2%). */
const POISON = 5;
const CHANNEL = "torture";

const HANDLER = join(import.meta.dirname, "fixtures", "torture", "handler.sh");
const PRODUCER = join(import.meta.dirname, "fixtures", "torture", "produce.mjs");

/** mulberry32: a small seeded PRNG, so the chaos loop's choices are reproducible (its timing is not). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function isPoison(id: string): boolean {
  return (parseInt(id.slice(-2), 16) + SEED) % 256 < POISON;
}

interface Watcher {
  pid: number;
  done: Promise<RunResult>;
  kill: (signal: NodeJS.Signals) => void;
  killed: boolean;
  /** Claims it held (leases naming it) when it was SIGKILLed. */
  heldAtKill: number;
  /** Started with ABQ_CRASH_AT=claim:renamed: kills itself at its first claim, before its lease. */
  crashAtClaim: boolean;
}

describe("torture: watchers, crashes, SIGKILLs and concurrent sweeps", () => {
  it(
    `${SIZE.watchers} watchers × ${SIZE.messages} messages: every message answered once or dead-lettered, none lost`,
    async () => {
      const t0 = Date.now();
      const bus = makeBus({ ABQ_FSYNC: "0" });
      const logs = tempDir("abq-torture-logs-");
      const dir = join(bus.home, "channels", CHANNEL);
      const ls = (sub: string): string[] => (existsSync(join(dir, sub)) ? readdirSync(join(dir, sub)) : []);
      const random = prng(SEED);
      const made = await bus.abq([
        "channel",
        "create",
        CHANNEL,
        "--lease",
        "3",
        "--backoff",
        "0",
        "--max-attempts",
        String(MAX_ATTEMPTS),
        "--retry-errors",
      ]);
      expect(made.code, made.stderr).toBe(0);

      const watcherEnv = { ...bus.env, TORTURE_SEED: String(SEED), TORTURE_LOGS: logs, TORTURE_POISON: String(POISON) };
      const watchers: Watcher[] = [];
      const startWatcher = (crashAtClaim = false): void => {
        const w = startNode([CLI, "watch", CHANNEL, "-j", "2", "--handler", HANDLER], {
          env: crashAtClaim ? { ...watcherEnv, ABQ_CRASH_AT: "claim:renamed" } : watcherEnv,
          timeoutMs: SIZE.testMs,
        });
        watchers.push({
          pid: w.child.pid!,
          done: w.done,
          kill: (s) => w.child.kill(s),
          killed: false,
          heldAtKill: 0,
          crashAtClaim,
        });
      };
      for (let i = 0; i < SIZE.watchers; i++) startWatcher();

      // Sweepers: each loop runs `abq sweep` again and again, a new process every time, all run long.
      let sweeping = true;
      const sweeps: RunResult[] = [];
      const sweepLoop = async (): Promise<void> => {
        while (sweeping) {
          sweeps.push(await bus.abq(["sweep"], { timeoutMs: 300_000 }));
          await sleep(50 + Math.random() * 250);
        }
      };
      const sweepers = Array.from({ length: SWEEPERS }, () => sweepLoop());
      // However the test ends, no sweep loop or watcher outlives it (a no-op for processes already gone).
      onTestFinished(() => {
        sweeping = false;
        for (const w of watchers) w.kill("SIGKILL");
      });

      const producer = startNode([PRODUCER, LIB, bus.home, CHANNEL, String(SIZE.messages)], {
        env: bus.env,
        timeoutMs: SIZE.testMs,
      }).done;
      const final = (): number => ls("responses").length + ls("dead").filter((n) => !n.endsWith(".reason.json")).length;

      // Chaos: SIGKILL a random live watcher at random intervals and start a replacement, for the first part.
      const leaseOwners = (): number[] =>
        ls("leases")
          .filter((n) => n.endsWith(".json"))
          .map((n) => {
            try {
              return parseJson<{ owner: { pid: number } }>(readFileSync(join(dir, "leases", n), "utf8")).owner.pid;
            } catch {
              return -1;
            }
          });
      let kills = 0;
      while (final() < SIZE.messages * CHAOS_UNTIL && Date.now() - t0 < SIZE.settleMs) {
        const [lo, hi] = SIZE.chaosMs as [number, number];
        await sleep(lo + random() * (hi - lo));
        const live = watchers.filter((w) => !w.killed && !w.crashAtClaim);
        const victim = live[Math.floor(random() * live.length)]!;
        victim.heldAtKill = leaseOwners().filter((pid) => pid === victim.pid).length;
        victim.killed = true;
        victim.kill("SIGKILL");
        kills++;
        startWatcher();
        if (random() < 0.4) startWatcher(true); // one more, dying between its claim and its lease
      }
      const chaosEnded = Date.now();

      const produced = await producer;
      expect(produced.code, produced.stderr).toBe(0);
      const ids = produced.stdout.trim().split("\n");
      expect(ids).toHaveLength(SIZE.messages);
      expect(new Set(ids).size).toBe(SIZE.messages);

      // Settle: sweeps keep running until every message is final and nothing is pending, claimed or delayed.
      const settleDeadline = Date.now() + SIZE.settleMs;
      let settled = false;
      while (Date.now() < settleDeadline) {
        if (final() >= SIZE.messages && ls("requests").length + ls("processing").length + ls("delayed").length === 0) {
          settled = true;
          break;
        }
        await sleep(250);
      }
      const settledAt = Date.now();
      sweeping = false;
      await Promise.all(sweepers);
      for (const w of watchers) if (!w.killed) w.kill("SIGTERM");
      const exits = await Promise.all(watchers.map(async (w) => ({ w, r: await w.done })));

      // ---- what happened: every message in exactly one final state ----
      const sent = new Set(ids);
      const responses = new Set(ls("responses").map((n) => n.replace(/\.json$/, "")));
      const archived = new Set(
        ls("archive")
          .filter((n) => n.endsWith("_request.json"))
          .map((n) => n.replace(/_request\.json$/, "")),
      );
      const deadNames = ls("dead");
      const dead = new Set(deadNames.filter((n) => !n.endsWith(".reason.json")).map((n) => n.slice(0, -5)));
      const deadReasons = new Set(
        deadNames.filter((n) => n.endsWith(".reason.json")).map((n) => n.replace(/\.reason\.json$/, "")),
      );
      const lost: string[] = [];
      const both: string[] = [];
      const unarchived: string[] = [];
      const reasonless: string[] = [];
      for (const id of ids) {
        const answered = responses.has(id);
        if (answered && dead.has(id)) both.push(id);
        else if (!answered && !dead.has(id)) lost.push(id);
        if (answered && !archived.has(id)) unarchived.push(id);
        if (dead.has(id) && !deadReasons.has(id)) reasonless.push(id);
      }
      const where = (id: string): string[] =>
        [
          "requests",
          "processing",
          "delayed",
          "responses",
          "archive",
          "dead",
          "late",
          "leases",
          "rejected",
          "tmp",
        ].flatMap((sub) =>
          ls(sub)
            .filter((n) => n.includes(id))
            .map((n) => `${sub}/${n}`),
        );
      const trace = (id: string): string[] =>
        ["events.1.jsonl", "events.jsonl"]
          .filter((f) => existsSync(join(dir, f)))
          .flatMap((f) => readFileSync(join(dir, f), "utf8").split("\n"))
          .filter((l) => l.includes(id))
          .map((l) => {
            const e = parseJson<{ at: string; event: string; pid: number; attempt?: number; detail?: string }>(l);
            return `${e.at.slice(11)} ${e.event} pid ${e.pid}${e.attempt !== undefined ? ` attempt ${e.attempt}` : ""}${e.detail !== undefined && e.event !== "late" ? ` (${e.detail})` : ""}`;
          });
      const strays = [...responses, ...dead].filter((id) => !sent.has(id));
      // Claims of watchers killed between claim and lease, taken back by the sweep through their staged lease.
      const crashedAtClaim = exits.filter(({ w, r }) => w.crashAtClaim && r.signal === "SIGKILL").length;
      const events = ["events.1.jsonl", "events.jsonl"]
        .filter((f) => existsSync(join(dir, f)))
        .flatMap((f) => readFileSync(join(dir, f), "utf8").split("\n"));
      const stagedRecoveries = events.filter((l) => l.includes("its claimer died before writing its lease")).length;

      // Answers: all success, all "ok <id>" (failures are retried, never answered, on this channel).
      const badAnswers: string[] = [];
      for (const id of responses) {
        const r = parseJson<{ status: string; result: string }>(
          readFileSync(join(dir, "responses", `${id}.json`), "utf8"),
        );
        if (r.status !== "success" || r.result !== `ok ${id}`) badAnswers.push(`${id}: ${r.status} ${r.result}`);
      }
      // Dead letters: a reason, the attempt count, and the last error or exit code (or the sweep's reason).
      const badReasons: string[] = [];
      const deadBy: Record<string, number> = {};
      for (const id of dead) {
        const reason = parseJson<{
          reason?: string;
          attempts?: number;
          exit_code?: number;
          error?: string;
        }>(readFileSync(join(dir, "dead", `${id}.reason.json`), "utf8"));
        const kind =
          reason.exit_code !== undefined
            ? `exit ${reason.exit_code}`
            : (reason.error ?? reason.reason ?? "?").replace(/req_[0-9a-f]+/g, "<id>").replace(/\d+/g, "N");
        deadBy[kind] = (deadBy[kind] ?? 0) + 1;
        const explained =
          typeof reason.exit_code === "number" ||
          (reason.error ?? "") !== "" ||
          /owner|lease/.test(reason.reason ?? "");
        if (!reason.reason || (reason.attempts ?? 0) < MAX_ATTEMPTS || !explained)
          badReasons.push(`${id}: ${JSON.stringify(reason)}`);
      }
      const poison = ids.filter(isPoison);
      const poisonAnswered = poison.filter((id) => responses.has(id));

      // Handler side effects: successes per id, and which are explained by a SIGKILLed watcher or a lost lease.
      const killedPids = new Set(watchers.filter((w) => w.killed).map((w) => w.pid));
      // (A pid reused by a replacement watcher is ambiguous: counted as killed, the lenient side.)
      const livePids = new Set(watchers.filter((w) => !w.killed && !killedPids.has(w.pid)).map((w) => w.pid));
      const successes = new Map<string, Array<{ wpid: number; orphan: boolean }>>();
      for (const f of readdirSync(logs).filter((n) => n.startsWith("success."))) {
        for (const line of readFileSync(join(logs, f), "utf8").trim().split("\n")) {
          const [id, wpid, , state] = line.split(" ");
          if (id === undefined || wpid === undefined) continue;
          const list = successes.get(id) ?? [];
          list.push({ wpid: Number(wpid), orphan: state === "orphan" });
          successes.set(id, list);
        }
      }
      const lateFiles = ls("late");
      const lateCount = (id: string): number => lateFiles.filter((n) => n.startsWith(`${id}.`)).length;
      const unexplained: string[] = [];
      const answeredWithoutSuccess: string[] = [];
      let duplicates = 0;
      let orphanSuccesses = 0;
      let fromKilled = 0;
      for (const id of ids) {
        const runs = successes.get(id) ?? [];
        if (runs.length > 1) duplicates++;
        // A handler whose watcher died before the shell started sees PPID 1 (reparented): an orphan as well.
        orphanSuccesses += runs.filter((r) => r.orphan || !(killedPids.has(r.wpid) || livePids.has(r.wpid))).length;
        fromKilled += runs.filter((r) => !livePids.has(r.wpid)).length;
        if (responses.has(id) && runs.length === 0) answeredWithoutSuccess.push(id);
        // A watcher that was never killed answers every success it sees, or has its answer refused and kept in
        // late/ because its lease was lost. More successes from live watchers than answers + late = a bug.
        const fromLive = runs.filter((r) => livePids.has(r.wpid)).length;
        if (fromLive > (responses.has(id) ? 1 : 0) + lateCount(id))
          unexplained.push(`${id}: ${JSON.stringify(runs)} late=${lateCount(id)} ${where(id).join(",")}`);
      }

      // Processes: killed watchers died of SIGKILL; all others stopped cleanly; every sweep exited 0.
      const badWatchers = exits
        .filter(({ w, r }) => (w.killed || w.crashAtClaim ? r.signal !== "SIGKILL" && r.code !== 0 : r.code !== 0))
        .map(
          ({ w, r }) => `pid ${w.pid} killed=${w.killed} code=${r.code} signal=${r.signal} ${r.stderr.slice(-2000)}`,
        );
      const badSweeps = sweeps.filter((r) => r.code !== 0).map((r) => `code=${r.code} ${r.signal} ${r.stderr}`);
      const sweepStderr = sweeps.filter((r) => r.stderr !== "").map((r) => r.stderr);
      const stderrAll = exits.map(({ r }) => r.stderr).join("");
      const warnings = stderrAll.split("\n").filter((l) => / warning: /.test(l));
      const warningKinds: Record<string, number> = {};
      for (const l of warnings) {
        const k = l
          .replace(/^\S+ warning: /, "")
          .replace(/req_[0-9a-f]+/g, "<id>")
          .replace(/\/\S+/g, "<path>")
          .slice(0, 100);
        warningKinds[k] = (warningKinds[k] ?? 0) + 1;
      }

      // Leases left behind for messages no longer claimed: only a watcher SIGKILLed between archiving an answer
      // (or dead-lettering) and removing its lease may leave one, for a message already final.
      const strayLeases = ls("leases")
        .filter((n) => n.endsWith(".json") && !ls("processing").includes(n))
        .map((n) => {
          const id = n.slice(0, -5);
          const lease = parseJson<{ owner: { pid: number } }>(readFileSync(join(dir, "leases", n), "utf8"));
          return { id, pid: lease.owner.pid, killed: killedPids.has(lease.owner.pid) };
        });
      const unexplainedLeases = strayLeases
        .filter((l) => !l.killed || !(responses.has(l.id) || dead.has(l.id)))
        .map((l) => `${l.id} owner ${l.pid}: ${where(l.id).join(", ")}`);

      const doctor = await bus.abq(["check", "--json"]);
      const findings = parseJson<{ findings: Array<{ check: string; message: string }> }>(doctor.stdout).findings;

      const summary = {
        size: `${SIZE.watchers} watchers × ${SIZE.messages} messages, seed ${SEED}`,
        seconds: {
          chaos: (chaosEnded - t0) / 1000,
          settled: (settledAt - t0) / 1000,
          total: (Date.now() - t0) / 1000,
        },
        settled,
        answered: responses.size,
        dead: dead.size,
        poison: poison.length,
        deadNotPoison: [...dead].filter((id) => !isPoison(id)).length,
        deadBy,
        kills,
        claimsHeldAtKill: watchers.reduce((n, w) => n + w.heldAtKill, 0),
        watchersStarted: watchers.length,
        crashedBetweenClaimAndLease: crashedAtClaim,
        takenBackThroughStagedLease: stagedRecoveries,
        sweeps: sweeps.length,
        handlerSuccessesDuplicated: duplicates,
        successesFromKilledWatchers: fromKilled,
        orphanSuccesses,
        lateAnswersKept: lateFiles.length,
        strayLeasesOfKilledWatchers: strayLeases.length,
        watcherWarnings: warningKinds,
        sweepStderr: sweepStderr.slice(0, 3),
        doctor: findings.map((f) => `${f.check}: ${f.message}`),
      };
      console.log(`torture summary: ${JSON.stringify(summary, null, 2)}`);

      expect(
        lost.map((id) => `${id}: ${where(id).join(", ") || "nowhere"}`),
        "lost",
      ).toEqual([]);
      expect(
        both.map((id) => `${id}: ${where(id).join(", ")}`),
        "answered and dead",
      ).toEqual([]);
      expect(settled, "settled before the timeout").toBe(true);
      expect(strays, "answers or dead letters for ids never sent").toEqual([]);
      expect(unarchived, "answered but the request not archived").toEqual([]);
      expect(reasonless, "dead without a reason file").toEqual([]);
      expect(responses.size + dead.size).toBe(SIZE.messages);
      expect(
        ls("responses").filter((n) => !n.endsWith(".json")),
        "stray files in responses/",
      ).toEqual([]);
      expect(badAnswers, "answers other than success 'ok <id>'").toEqual([]);
      expect(badReasons, "dead letters without a usable reason").toEqual([]);
      expect(poisonAnswered, "poison answered").toEqual([]);
      expect(answeredWithoutSuccess, "answered without a handler success").toEqual([]);
      expect(unexplained, "handler successes not explained by a kill or a lost lease").toEqual([]);
      // Every watcher and sweep runs on this host, where a claim is only taken from an owner whose pid is gone,
      // and watchers renew their leases: a live watcher must never lose one. A late answer (kept in late/)
      // means one did — its handler's success was thrown away and the message handled again.
      expect(
        lateFiles.map((n) => `${n}: ${trace(n.split(".")[0]!).join("; ")}`),
        "answers refused because a live watcher's lease was lost",
      ).toEqual([]);
      expect(badWatchers, "watchers that crashed").toEqual([]);
      expect(badSweeps, "sweeps that failed").toEqual([]);
      expect(ls("rejected"), "rejected files").toEqual([]);
      expect(ls("expired"), "expired with the TTL left at its default").toEqual([]);
      // Every watcher killed between claim and lease had its message taken back through its staged lease.
      expect(crashedAtClaim, "watchers killed between claim and lease").toBeGreaterThan(0);
      expect(stagedRecoveries).toBeGreaterThanOrEqual(FULL ? 1 : crashedAtClaim); // a full run may rotate its log
      expect(ls("requests").length + ls("processing").length + ls("delayed").length).toBe(0);
      // The chaos really bit: watchers died, some while holding claims, and poison messages exist to die.
      expect(kills).toBeGreaterThan(2);
      expect(poison.length).toBeGreaterThan(0);
      // The doctor: dead letters are expected (poison, and unlucky messages), and the stray leases of SIGKILLed
      // watchers checked above (the sweep does not remove those; `check --fix` does); nothing else.
      expect(unexplainedLeases, "stray leases not left by a SIGKILLed watcher").toEqual([]);
      const expected = (f: { check: string; message: string }): boolean =>
        f.check === "dead" || (f.check === "leases" && /no longer claimed/.test(f.message) && strayLeases.length > 0);
      expect(
        findings.filter((f) => !expected(f)).map((f) => `${f.check}: ${f.message}`),
        "doctor findings",
      ).toEqual([]);
    },
    SIZE.testMs,
  );
});
