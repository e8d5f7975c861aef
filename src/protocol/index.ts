/**
 * # The abq protocol (1.0.0, wire-compatible with aygp-dr/abq)
 *
 * Glossary. A **message** (request) is one JSON file. A **channel** is a folder of state folders under
 * `$ABQ_HOME/channels/<name>/`. To **claim** is to take a message for handling; to **respond** (ack) is to
 * publish its answer and retire it. A **handler** is a script `abq watch` runs per claimed message.
 *
 * ## Folders = states
 *
 * | folder                  | state     | meaning                                                     |
 * |-------------------------|-----------|-------------------------------------------------------------|
 * | `tmp/`                  | staging   | being written; never read by consumers; reaped when old     |
 * | `requests/<id>.json`    | pending   | delivered, complete, waiting for a consumer                  |
 * | `processing/<id>.json`  | claimed   | one consumer owns it                                         |
 * | `responses/<id>.json`   | answered  | the answer, waiting for the sender to read it                |
 * | `archive/<id>_request.json`  | done | the request after it was answered or purged              |
 * | `archive/<id>_response.json` | read | the answer after the sender read it                      |
 * | `archive/<id>_reason.json`   | –    | why a request was archived without an answer (purge)     |
 * | `rejected/<file>` + `<file>.reason.json` | rejected | not a valid message; kept with its reason |
 *
 * Every transition below is one `rename(2)` (or `link(2)`) inside one channel folder, so it is atomic on
 * a POSIX filesystem, and exactly one of several racing processes wins it. "Durable" means the file and
 * the destination folder are fsynced (default; `ABQ_FSYNC=0` turns it off and trades crash durability
 * across power loss for speed — atomicity is unaffected).
 *
 * ## Transitions, and what a crash at each step leaves
 *
 * 1. **send**: write `tmp/<id>.<pid>.<rand>.json` (mode 0600) → fsync it → rename to `requests/<id>.json`
 *    → fsync `requests/`. Killed before the rename: only a staging file exists, no consumer ever sees it,
 *    and the sweep removes it. Killed after: the message is whole. A reader can never see half a file.
 * 2. **claim**: rename `requests/<id>.json` → `processing/<id>.json`, *then* read it. Losing the race is
 *    ENOENT and the claimer moves on to the next file. A file that is not a valid message (bad JSON,
 *    wrong schema, name/id mismatch, over the size cap) is renamed into `rejected/` and its reason written
 *    beside it; nothing is deleted. A claimed request that already has a final answer (left over by
 *    step 3's crash window) is archived instead of being delivered again. Killed after the rename: the
 *    message waits in `processing/` for `requeue`/the sweep.
 * 3. **respond** (final status `success`/`error`): write the response to `tmp/` → fsync → `link` it to
 *    `responses/<id>.json` (fails if an answer exists, so there is never a second answer) → fsync
 *    `responses/` → rename `processing/<id>.json` → `archive/<id>_request.json`.
 *    Killed before the link: nothing changed; respond again. Killed between the link and the rename: the
 *    answer exists and the request is still in `processing/`; a second `respond` finishes the move (and
 *    reports that the message was already answered), and a claim of that request archives it instead of
 *    handing it out, so the answer is never lost and the work is never redone.
 * 4. **respond pending**: a progress note. Written like step 3 but by rename, replacing only an earlier
 *    pending note; the request stays claimed and a final answer replaces the note later.
 * 5. **release**: rename `processing/<id>.json` → `requests/<id>.json` (handler asked for a retry, or a
 *    watcher stops before starting the handler).
 * 6. **read answer** (`send --wait`, `ask`): rename `responses/<id>.json` → `archive/<id>_response.json`.
 * 7. **purge / cancel**: rename `requests/<id>.json` → `archive/<id>_request.json`, then write
 *    `archive/<id>_reason.json`. Killed between: archived without its reason file, never lost.
 *
 * Names: a file's name must be `<id>.json` with the id inside it; files whose names start with `.` are
 * ignored (the convention for an external writer's in-progress file), anything else in `requests/` that
 * is not a valid message is rejected.
 */
export * from "./errors.ts";
export * from "./ids.ts";
export * from "./schema.ts";
