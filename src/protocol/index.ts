/**
 * # The abq protocol (1.0.0, wire-compatible with aygp-dr/abq): the whole lifecycle
 *
 * This header is the one complete description of where a message can be and how it moves. The same
 * states, as data, are the STATES table in src/lifecycle/states.ts (which `status`, `ls`, `show` and the
 * MCP tools read); the spool's moves are one function each in src/spool/transitions.ts; JetStream keeps
 * the same states in its message-state records (docs/multi-machine.md).
 *
 * Glossary. A **message** (request) is one JSON file. A **channel** is a folder of state folders under
 * `$ABQ_HOME/channels/<name>/` (a topic also has one such queue per named subscriber, under
 * `subscribers/<name>/`). To **claim** is to take a message for handling, under a **lease** whose token
 * fences every later act on it. A **handler** is a script `abq watch` runs per claimed message.
 *
 * ## States (folders of one queue)
 *
 * | state        | where                                                    | meaning                                         |
 * |--------------|----------------------------------------------------------|-------------------------------------------------|
 * | staging      | `tmp/<name>.<pid>.<rand>.tmp`                            | being written; never read; reaped when old      |
 * | fanout       | `fanout/<id>.json`                                       | a topic publish, being copied to subscribers    |
 * | pending      | `requests/<id>.json`                                     | complete, waiting for a consumer                |
 * | delayed      | `delayed/<id>.json` (mtime = when it is due)             | given back with a delay (backoff, release)      |
 * | claimed      | `processing/<id>.json` + `leases/<id>.json`              | one consumer holds it; the lease names who      |
 * | answered     | `responses/<id>.json`                                    | the answer, waiting for its sender to read it   |
 * | done         | `archive/<id>_request.json` (+ `<id>_response.json`)     | answered and retired (the answer read, or not)  |
 * | acknowledged | `archive/<id>_request.json` + `<id>_reason.json`         | handled without an answer (ack)                 |
 * | withdrawn    | `archive/<id>_request.json` + `<id>_reason.json`         | cancelled or purged before anyone claimed it    |
 * | expired      | `expired/<id>.json` + `<id>.reason.json`                 | its TTL ran out (reason: ttl, sent, expired_at) |
 * | dead         | `dead/<id>.json` + `<id>.reason.json`                    | attempts exhausted or terminated (last error)   |
 * | rejected     | `rejected/<file>` + `<file>.reason.json`                 | not a valid message; kept with its reason       |
 * | late         | `late/<id>.<token>.json`                                 | an answer refused because its lease was lost    |
 *
 * Every transition is one `rename(2)` (or `link(2)`) inside one queue folder, so it is atomic on a POSIX
 * filesystem and exactly one of several racing processes wins it; the losers see ENOENT and move on.
 * "Durable" means the file and the destination folder are fsynced (default; `ABQ_FSYNC=0` trades crash
 * durability across power loss for speed — atomicity is unaffected). Nothing is ever deleted except by
 * the sweep's retention (`retain_s`) of finished states (done, answered, dead, expired, late).
 *
 * ## Transitions, and what a crash at each step leaves
 *
 * 1. **send** (→ pending): write `tmp/…` (0600) → fsync → rename to `requests/<id>.json` → fsync
 *    `requests/`. Killed before the rename: a staging file no consumer reads; the sweep removes it.
 *    A **topic publish** renames into `fanout/<id>.json` instead (the commit point), copies it (a
 *    reflink where the filesystem can) into each subscriber's `tmp/` and links that copy to its
 *    `requests/<id>.json`, then renames the original to the topic's own `requests/`. Every copy is its
 *    own inode, so no subscriber can change another's. Killed midway: the next publish, subscribe, claim
 *    or sweep finishes the fan-out (the link refuses to replace, so it never makes a second copy).
 * 2. **claim** (pending → claimed): write the lease to `leases/.claiming-<id>-<pid>-<rand>` → rename
 *    `requests/<id>.json` → `processing/<id>.json`, *then* read it, then rename the staged lease to
 *    `leases/<id>.json` (a claimer that lost the race deletes its staged lease). On the way a claim sets aside, and reports to its caller, what it must
 *    not hand out: a file that is not a valid message (bad JSON, schema, name/id mismatch, over the size
 *    cap, a signature that does not verify) → rejected; a message whose TTL ran out → expired; a
 *    request that already has a final answer (step 3's crash window) → done. Killed after the rename:
 *    claimed without a lease, but the staged lease names the dead claimer, so the next sweep takes it
 *    back at once. A claim with no lease and no staged one (a seed worker's) counts as leased from the
 *    file's ctime for the channel's `lease_s`. Killed before the rename: a staged lease for nothing,
 *    which the sweep removes once its owner is gone.
 * 3. **respond** (claimed → done): check the lease token (the fence) → write the answer to `tmp/` →
 *    fsync → `link` it to `responses/<id>.json` (fails if an answer exists: never two answers) → fsync →
 *    rename the request to `archive/<id>_request.json` → drop the lease. Killed before the link: nothing
 *    changed. Killed after it: answered but still claimed; a second respond finishes the move (and says
 *    the first answer stands), and a claim of it archives it instead of handing it out again.
 * 4. **progress** (claimed → claimed): a `pending` answer, renamed over an earlier note only; the final
 *    answer replaces it.
 * 5. **ack** (claimed → acknowledged): fence → rename the request into `archive/` → write
 *    `<id>_reason.json` (`state: acknowledged`) → drop the lease. Killed between: archived without its
 *    reason (shown as done without an answer), never lost. A waiting `ask` is told it will not be answered.
 * 6. **release** (claimed → pending | delayed | dead): fence → take the message: rename it to a dot-name
 *    `processing/.retry-<id>.<pid>.<host tag><rand>` (of racing releasers and sweepers one wins) → drop the
 *    lease → as a failed attempt, rewrite `attempts` + 1 in place (stage, rename over) → past the
 *    channel's `max_attempts` rename to `dead/` with its reason; else with a delay (the given one, or the
 *    backoff for a failed attempt) set the mtime to the due time and rename to `delayed/`; else rename
 *    to `requests/`. Killed after the take: the sweep puts the dot-name back in `requests/` once the
 *    taker's pid is gone from this host (else a minute after the take: by ctime, not the message's mtime).
 * 7. **term** (claimed → dead): fence → take as in 6 → drop the lease → rename to `dead/` with a reason
 *    (`terminated: true`), whatever attempts are left.
 * 8. **promote** (delayed → pending): a delayed file whose mtime has passed is renamed to `requests/`
 *    (by the next claim that finds the queue empty, and by the sweep).
 * 9. **requeue / sweep** (claimed → pending | delayed | dead): a claim whose owner is gone (dead pid on
 *    this host) or whose lease deadline passed is taken back by revoking its lease (a rename only one
 *    sweeper wins) and then moved as a failed attempt (6). A claim that is already answered is archived
 *    instead. A live owner's claim is never taken. The owner's late answer is refused by the fence and
 *    kept in `late/<id>.<token>.json`, never lost and never delivered.
 * 10. **read answer** (`send --wait`, `ask`): rename `responses/<id>.json` → `archive/<id>_response.json`,
 *    so a second waiter (or a retry after a crash) still finds it.
 * 11. **cancel / purge** (pending → withdrawn): rename `requests/<id>.json` → `archive/<id>_request.json`,
 *    then write `<id>_reason.json` (`state: withdrawn`). A waiting `ask` stops and says why.
 * 12. **expire** (pending → expired): the sweep (and any claim, step 2) renames a message whose
 *    `timestamp + ttl` has passed (ttl 0 never expires) to `expired/`, then writes its reason.
 * 13. **revive** (dead → pending): `requeue --from-dead` resets `attempts` and renames it to `requests/`.
 *
 * Names: a file's name must be `<id>.json` with the id inside it; files whose names start with `.` are
 * ignored (the convention for an external writer's in-progress file, and for step 6's taken messages),
 * anything else in `requests/` that is not a valid message is rejected.
 */
export * from "./errors.ts";
export * from "./ids.ts";
export * from "./schema.ts";
