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
// Where the machine sets it (this VM points it at the system bundle), every Node process parses ~140
// certificates before running anything: 40-50 ms of CPU in each of the thousands of CLI processes the
// suite spawns, which is most of a 2-core run. No test makes a TLS connection that needs it.
delete process.env["NODE_EXTRA_CA_CERTS"];
