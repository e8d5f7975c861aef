/**
 * Runs in every test worker before the tests: points ABQ_HOME and HOME at a throwaway folder, so no test
 * (nor a library call that forgets its `home` option) can ever touch the real ~/.abq.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const guard = mkdtempSync(join(tmpdir(), "abq-guard-"));
process.env["ABQ_HOME"] = join(guard, "home");
process.env["HOME"] = guard;
delete process.env["ABQ_URL"];
delete process.env["ABQ_AGENT"];
delete process.env["ABQ_CRASH_AT"];
