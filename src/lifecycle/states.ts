/**
 * Every state a message can be in, as data. The protocol header (src/protocol/index.ts) describes the
 * same lifecycle in prose; everything that reports states (`status`, `channel info`, `ls`, `show`, the
 * dashboards) reads this table, so a state added here cannot be forgotten by one of them.
 *
 * `folder` is where the spool keeps the state under a queue's folder; JetStream keeps the same states in
 * its message-state records (docs/multi-machine.md). `listAs` is the word `abq ls` takes for the state;
 * `aliases` are the other words it accepts.
 */
import { AbqError } from "../protocol/errors.ts";

export interface StateInfo {
  /** The state's name, as `abq show` prints it. */
  name: StateName;
  /** Where it lives in a queue's folder (the spool). */
  folder: string;
  meaning: string;
  /** States a message can move to from here (see the numbered transitions in src/protocol/index.ts). */
  next: readonly StateName[];
  /** The word `abq ls` takes, when the state can be listed. */
  listAs?: ListState | undefined;
  /** Other words `abq ls` accepts for it. */
  aliases?: readonly string[] | undefined;
  /** The `status` column counting it, when it is counted. */
  counted?: CountedState | undefined;
}

export type StateName =
  | "staging"
  | "fanout"
  | "pending"
  | "delayed"
  | "claimed"
  | "answered"
  | "done"
  | "acknowledged"
  | "withdrawn"
  | "expired"
  | "dead"
  | "rejected"
  | "late";

/** The words `abq ls` lists by (folder names, as the seed's tools know them, plus the newer states). */
export type ListState =
  "requests" | "delayed" | "processing" | "responses" | "archive" | "dead" | "expired" | "rejected" | "late";

/** The per-state counts of `status` and `channel info`. */
export type CountedState =
  "pending" | "delayed" | "processing" | "responses" | "archived" | "dead" | "expired" | "rejected" | "late";

export const STATES: Readonly<Record<StateName, StateInfo>> = {
  staging: {
    name: "staging",
    folder: "tmp/<id>.<pid>.<rand>.tmp",
    meaning: "being written; never read by consumers; removed by the sweep when old",
    next: ["pending", "fanout"],
  },
  fanout: {
    name: "fanout",
    folder: "fanout/<id>.json",
    meaning: "a topic message committed, being copied to each subscriber",
    next: ["pending"],
  },
  pending: {
    name: "pending",
    folder: "requests/<id>.json",
    meaning: "delivered and complete, waiting for a consumer",
    next: ["claimed", "withdrawn", "expired", "rejected"],
    listAs: "requests",
    aliases: ["pending"],
    counted: "pending",
  },
  delayed: {
    name: "delayed",
    folder: "delayed/<id>.json (mtime = due time)",
    meaning: "given back with a delay (retry backoff or release --delay); pending again when due",
    next: ["pending"],
    listAs: "delayed",
    counted: "delayed",
  },
  claimed: {
    name: "claimed",
    folder: "processing/<id>.json + leases/<id>.json",
    meaning: "one consumer holds it under a lease; only the lease's token may answer it",
    next: ["answered", "acknowledged", "pending", "delayed", "dead", "rejected", "expired"],
    listAs: "processing",
    aliases: ["claimed"],
    counted: "processing",
  },
  answered: {
    name: "answered",
    folder: "responses/<id>.json",
    meaning:
      "answered; the answer waits in responses/ for its sender to read it (show says done once the request is archived)",
    next: ["done"],
    listAs: "responses",
    aliases: ["answered"],
    counted: "responses",
  },
  done: {
    name: "done",
    folder: "archive/<id>_request.json (+ archive/<id>_response.json once read)",
    meaning: "answered and retired (its answer is read, or waits in responses/)",
    next: [],
    listAs: "archive",
    aliases: ["done"],
    counted: "archived",
  },
  acknowledged: {
    name: "acknowledged",
    folder: "archive/<id>_request.json + archive/<id>_reason.json",
    meaning: "handled without an answer (ack); waiters are told so",
    next: [],
    counted: "archived",
  },
  withdrawn: {
    name: "withdrawn",
    folder: "archive/<id>_request.json + archive/<id>_reason.json",
    meaning: "cancelled or purged before anyone claimed it",
    next: [],
    counted: "archived",
  },
  expired: {
    name: "expired",
    folder: "expired/<id>.json + expired/<id>.reason.json",
    meaning: "its TTL ran out before anyone handled it (reason: ttl and send time)",
    next: [],
    listAs: "expired",
    counted: "expired",
  },
  dead: {
    name: "dead",
    folder: "dead/<id>.json + dead/<id>.reason.json",
    meaning: "given up on: attempts exhausted or terminated (reason: last error, exit code, stderr tail)",
    next: ["pending"],
    listAs: "dead",
    counted: "dead",
  },
  rejected: {
    name: "rejected",
    folder: "rejected/<file> + rejected/<file>.reason.json",
    meaning: "not a valid message (bad JSON, schema, size, signature); kept with its reason",
    next: [],
    listAs: "rejected",
    counted: "rejected",
  },
  late: {
    name: "late",
    folder: "late/<id>.<token>.json",
    meaning: "an answer that came after its lease was lost; kept, never delivered",
    next: [],
    listAs: "late",
    counted: "late",
  },
};

/** Every word `abq ls` accepts, mapped to the state it lists. */
export const LIST_WORDS: ReadonlyMap<string, ListState> = new Map(
  Object.values(STATES).flatMap((s) =>
    s.listAs === undefined
      ? []
      : [[s.listAs, s.listAs] as const, ...(s.aliases ?? []).map((a) => [a, s.listAs!] as const)],
  ),
);

/** The listable states with their aliases, as help and errors show them: `requests (pending), …`. */
export function describeListStates(): string {
  return Object.values(STATES)
    .filter((s) => s.listAs !== undefined)
    .map((s) => (s.aliases?.length ? `${s.listAs} (${s.aliases.join(", ")})` : s.listAs))
    .join(", ");
}

/** `abq ls`'s state word, resolved; a clear E_USAGE naming every choice otherwise. */
export function parseListState(word: string): ListState {
  const state = LIST_WORDS.get(word);
  if (state === undefined)
    throw new AbqError("E_USAGE", `unknown state '${word.slice(0, 40)}': use ${describeListStates()}`);
  return state;
}

/** The `status` columns, in display order. */
export const COUNTED_STATES: readonly CountedState[] = [
  "pending",
  "delayed",
  "processing",
  "responses",
  "archived",
  "dead",
  "expired",
  "rejected",
  "late",
];
