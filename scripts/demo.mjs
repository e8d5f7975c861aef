// `npm run demo`: a real round trip on a throwaway bus, printing each command, its output and the files
// it leaves, so a newcomer sees what abq does on disk. Runs the built CLI (dist/) as separate processes.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const cli = join(import.meta.dirname, "..", "dist", "bin", "abq.js");
const root = mkdtempSync(join(tmpdir(), "abq-demo-"));
const home = join(root, "home");
const env = { ...process.env, ABQ_HOME: home, ABQ_URL: "" };

const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const step = (title) => console.log(`\n${bold(`== ${title}`)}`);

function abq(args, agent, input) {
  console.log(
    `$ ${agent ? `ABQ_AGENT=${agent} ` : ""}abq ${args.map((a) => (/\s|"/.test(a) ? `'${a}'` : a)).join(" ")}`,
  );
  const out = execFileSync(process.execPath, [cli, ...args], {
    env: { ...env, ABQ_AGENT: agent ?? "" },
    input: input ?? "",
    encoding: "utf8",
  });
  process.stdout.write(indent(out));
  return out;
}

function indent(text) {
  return text === "" ? "" : `${text.replace(/\n$/, "").replace(/^/gm, "  ")}\n`;
}

function tree(dir) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const rel = relative(home, path);
    if (statSync(path).isDirectory()) {
      if (readdirSync(path).length === 0) console.log(`  ${rel}/`);
      tree(path);
    } else console.log(`  ${rel}`);
  }
}

try {
  console.log(`abq demo: a throwaway bus in ${home}`);
  step("1. Create the bus and a channel");
  abq(["init"]);
  abq(["channel", "create", "reviews", "--description", "code review requests"]);

  step("2. Agent A (repo 'app', branch main) asks for a review");
  const sent = JSON.parse(
    abq(["send", "reviews", "command", '{"task":"review","pr":42}', "--json"], "github.com/acme/app/main"),
  );

  step("3. The message is one JSON file, delivered atomically (staged in tmp/, renamed into requests/)");
  tree(home);
  const file = join(home, "channels", "reviews", "requests", `${sent.id}.json`);
  console.log(`\n$ cat ${relative(root, file)}`);
  process.stdout.write(indent(readFileSync(file, "utf8")));

  step("4. Agent B (another repo, another process) claims it by hand and answers");
  const claimed = JSON.parse(abq(["recv", "reviews", "--json"], "github.com/acme/reviewer/main"));
  abq(["respond", "reviews", claimed.id, "--result", "LGTM: 2 nits, see PR"], "github.com/acme/reviewer/main");

  step("5. Agent A reads the answer");
  abq(["show", sent.id], "github.com/acme/app/main");

  step("5b. The same, hands-free: B runs `abq watch` with a handler script; A uses `abq ask`");
  const handler = join(root, "review.sh");
  writeFileSync(handler, '#!/bin/sh\necho "reviewed by $(basename "$0"): $ABQ_MSG_CONTENT"\n', { mode: 0o755 });
  console.log(`$ ABQ_AGENT=github.com/acme/reviewer/main abq watch reviews --handler ${relative(root, handler)} &`);
  const watcher = spawn(process.execPath, [cli, "watch", "reviews", "--handler", handler], {
    env: { ...env, ABQ_AGENT: "github.com/acme/reviewer/main" },
    stdio: ["ignore", "inherit", "pipe"],
  });
  let log = "";
  watcher.stderr.on("data", (d) => (log += d));
  abq(["ask", "reviews", "command", "please review PR 43", "--timeout", "20"], "github.com/acme/app/main");
  watcher.kill("SIGTERM");
  await new Promise((resolve) => watcher.on("exit", resolve));
  process.stdout.write(indent(log.trimEnd().replace(/^/gm, "[watch] ")));

  step("6. The dashboard is `abq status` (or plain `ls`)");
  abq(["status"], "github.com/acme/app/main");
  tree(join(home, "channels", "reviews"));

  step("Done: every step above was a real process on real files. Try `abq --help` next.");
} finally {
  rmSync(root, { recursive: true, force: true });
}
