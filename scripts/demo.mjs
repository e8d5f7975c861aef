// `npm run demo`: a real round trip on a fresh bus, printing each command, its output and the files it
// leaves, so a newcomer sees what abq does on disk. Runs the built CLI (dist/) as separate processes.
// Builds first only when dist/ is missing or older than the sources (`npm install` has already built it).
// The bus stays in a temp folder afterwards, to explore; the last lines say how, and how to remove it.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const root = join(import.meta.dirname, "..");
const cli = join(root, "dist", "bin", "abq.js");

/** Newest modification time (ms) of a file, or of any file under a folder. */
function newest(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

const sources = ["src", "bin", join("scripts", "bundle.mjs"), "package.json", "tsconfig.build.json"];
const built = existsSync(cli) ? statSync(cli).mtimeMs : 0;
const stale = sources.filter((s) => newest(join(root, s)) > built);
if (built === 0 || stale.length > 0) {
  console.log(built === 0 ? "abq is not built yet: npm run build" : `newer than the build: ${stale.join(", ")}`);
  const r = spawnSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
  if (!existsSync(cli)) {
    console.error(`the build did not write ${cli}`);
    process.exit(1);
  }
}

const dir = mkdtempSync(join(tmpdir(), "abq-demo-"));
const home = join(dir, "home");
const env = { ...process.env, ABQ_HOME: home, ABQ_URL: "" };

const bold = (s) => (process.stdout.isTTY && !process.env.NO_COLOR ? `\x1b[1m${s}\x1b[0m` : s);
const step = (title) => console.log(`\n${bold(`== ${title}`)}`);
const quote = (a) => (/[\s"{}$]/.test(a) ? `'${a}'` : a);

function abq(args, agent) {
  console.log(`$ ${agent ? `ABQ_AGENT=${agent} ` : ""}abq ${args.map(quote).join(" ")}`);
  const out = execFileSync(process.execPath, [cli, ...args], {
    env: { ...env, ABQ_AGENT: agent ?? "" },
    input: "",
    encoding: "utf8",
  });
  process.stdout.write(indent(out));
  return out;
}

function indent(text) {
  return text === "" ? "" : `${text.replace(/\n$/, "").replace(/^/gm, "  ")}\n`;
}

function tree(folder) {
  for (const name of readdirSync(folder).sort()) {
    const path = join(folder, name);
    const rel = relative(home, path);
    if (statSync(path).isDirectory()) {
      if (readdirSync(path).length === 0) console.log(`  ${rel}/`);
      tree(path);
    } else console.log(`  ${rel}`);
  }
}

const A = "github.com/acme/app/main";
const B = "github.com/acme/reviewer/main";

console.log(`abq demo: a fresh bus in ${home}`);
step("1. Create the bus and a channel");
abq(["init"]);
abq(["channel", "create", "reviews", "--description", "code review requests"]);

step("2. Agent A (repo 'app', branch main) asks for a review");
const sent = JSON.parse(abq(["send", "reviews", "command", '{"task":"review","pr":42}', "--json"], A));

step("3. The message is one JSON file, delivered atomically (staged in tmp/, renamed into requests/)");
tree(home);
const file = join(home, "channels", "reviews", "requests", `${sent.id}.json`);
console.log(`\n$ cat ${file}`);
process.stdout.write(indent(readFileSync(file, "utf8")));

step("4. Agent B (another repo, another process) claims it by hand and answers");
const claimed = JSON.parse(abq(["recv", "reviews", "--json"], B));
abq(["respond", "reviews", claimed.id, "--result", "LGTM: 2 nits, see PR"], B);

step("5. Agent A reads the answer");
abq(["show", sent.id], A);

step("6. The same, hands-free: B runs `abq watch` with a handler script; A uses `abq ask`");
const handler = join(dir, "review.sh");
writeFileSync(handler, '#!/bin/sh\necho "reviewed: $ABQ_MSG_CONTENT"\n', { mode: 0o755 });
console.log(`$ ABQ_AGENT=${B} abq watch reviews --handler ${handler} &`);
const watcher = spawn(process.execPath, [cli, "watch", "reviews", "--handler", handler], {
  env: { ...env, ABQ_AGENT: B },
  stdio: ["ignore", "inherit", "pipe"],
});
let log = "";
watcher.stderr.on("data", (d) => (log += d));
try {
  abq(["ask", "reviews", "command", "please review PR 43", "--timeout", "20"], A);
} finally {
  watcher.kill("SIGTERM");
  await new Promise((resolve) => watcher.on("exit", resolve));
}
process.stdout.write(indent(log.trimEnd().replace(/^/gm, "[watch] ")));

step("7. The dashboard is `abq status` (or plain `ls`)");
abq(["status"], A);
tree(join(home, "channels", "reviews"));

step("Done: every step above was a real process on real files. The bus is still there:");
console.log(`  ABQ_HOME=${home} abq status      (before npm link: node dist/bin/abq.js status)
  ls ${join(home, "channels", "reviews", "archive")}
  cat ${join(home, "channels", "reviews", "archive")}/*_response.json
Remove it with:
  rm -rf ${dir}
Next: the 60-second tour in README.md, and abq --help.`);
