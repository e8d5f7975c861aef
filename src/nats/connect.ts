/**
 * Reaching the server: URL checks, a bounded connect, the JetStream check, and the mapping of client
 * errors to abq's codes. Nothing here may hang: the connect and every request carry a timeout, so a dead
 * or wrong server becomes one clear E_IO line instead of a frozen command.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { AbqError, isAbqError } from "../protocol/errors.ts";
import type { NatsContext, NatsSettings } from "./context.ts";
import { BUCKET } from "./names.ts";

export type { NatsSettings } from "./context.ts";

function envMs(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new AbqError("E_USAGE", `${name} must be a positive number of ms`);
  return n;
}

/** `ABQ_NATS_REPLICAS`: how many copies JetStream keeps of each stream abq creates (1 to 5, the JetStream limit). */
function envReplicas(): number {
  const raw = process.env["ABQ_NATS_REPLICAS"];
  if (raw === undefined || raw === "") return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 5) {
    throw new AbqError("E_USAGE", "ABQ_NATS_REPLICAS must be a whole number from 1 to 5", {
      hint: "3 on a three-node cluster survives losing any one node; 1 (the default) on a single server",
    });
  }
  return n;
}

/** Checks the URL (E_USAGE when malformed) and reads the tuning variables. */
export function natsSettings(url: string): NatsSettings {
  const servers = url.split(",").map((s) => s.trim());
  const shown: string[] = [];
  for (const server of servers) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(server);
    } catch {
      parsed = undefined;
    }
    const port = parsed?.port ?? "";
    if (!parsed || !/^(nats|tls):$/.test(parsed.protocol) || parsed.hostname === "" || !/^\d*$/.test(port)) {
      throw new AbqError("E_USAGE", `'${server.replace(/\/\/[^@/]*@/, "//***@")}' is not a NATS URL`, {
        hint: "use nats://host:port, e.g. ABQ_URL=nats://127.0.0.1:4222",
      });
    }
    shown.push(`${parsed.protocol}//${parsed.host}`); // drops user:password@
  }
  const ackWaitExplicit = (process.env["ABQ_NATS_ACK_WAIT_MS"] ?? "") !== "";
  return {
    url,
    display: shown.join(","),
    connectTimeoutMs: envMs("ABQ_NATS_CONNECT_TIMEOUT_MS", 5000),
    requestTimeoutMs: envMs("ABQ_NATS_REQUEST_TIMEOUT_MS", 5000),
    retryForMs: envMs("ABQ_NATS_RETRY_MS", 60_000),
    ackWaitMs: envMs("ABQ_NATS_ACK_WAIT_MS", 300_000),
    ackWaitExplicit,
    maxAttempts: envMs("ABQ_NATS_MAX_ATTEMPTS", 5),
    backoffMs: envMs("ABQ_NATS_BACKOFF_MS", 1000),
    replicas: envReplicas(),
  };
}

/** `nats://user:password@host`, `nats://token@host`: the client ignores a URL's credentials; pass them on. */
function credentials(url: string): { user: string; pass: string } | { token: string } | object {
  for (const server of url.split(",")) {
    const u = new URL(server.trim());
    if (u.username === "") continue;
    const user = decodeURIComponent(u.username);
    return u.password === "" ? { token: user } : { user, pass: decodeURIComponent(u.password) };
  }
  return {};
}

/** Pause between two tries of a step that failed transiently. */
const RETRY_PAUSE_MS = 250;

const START_HINT = "is nats-server running there? start one with: nats-server -c nats/abq-server.conf";

/** Why nothing answered within the retry window, said for a single server or for a cluster. */
function unavailableHint(s: NatsSettings): string {
  const wait = `abq waits up to ABQ_NATS_RETRY_MS (${s.retryForMs} ms) for an answer`;
  return s.cluster !== undefined
    ? `cluster '${s.cluster}' elects JetStream leaders only while most of its nodes are up and connected: ` +
        `check them (nats server report jetstream); ${wait}`
    : `is nats-server up there, with JetStream? (see its log); ${wait}`;
}

/**
 * Connects (reconnecting forever afterwards, so a watcher outlives a server restart) and checks JetStream.
 * A server that has no JetStream fails at once; one whose JetStream does not answer yet (a cluster
 * electing its meta leader after a node died) is asked again for up to `retryForMs`.
 */
export async function openConnection(s: NatsSettings): Promise<{ nc: NatsConnection; jsm: JetStreamManager }> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: s.url.split(",").map((u) => u.trim()),
      name: "abq",
      timeout: s.connectTimeoutMs,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      pingInterval: 10_000,
      // No stack captured per request: it was a tenth of a claim's CPU, and our errors carry their own context.
      noAsyncTraces: true,
      ...credentials(s.url),
    });
  } catch (err) {
    throw new AbqError("E_IO", `cannot connect to NATS at ${s.display}: ${describe(err)}`, {
      hint: START_HINT,
      cause: err,
    });
  }
  const cluster = nc.info?.cluster;
  if (cluster !== undefined && cluster !== "") s.cluster = cluster;
  const deadline = Date.now() + s.retryForMs;
  for (;;) {
    try {
      const jsm = await jetstreamManager(nc, { timeout: s.requestTimeoutMs });
      return { nc, jsm };
    } catch (err) {
      // Nobody listens on the JetStream API: final unless the server says (INFO) that it runs JetStream.
      const noJs =
        nc.info?.jetstream !== true &&
        err instanceof Error &&
        /jetstream is not enabled|JetStreamNotEnabled|no responders/i.test(`${err.name} ${describe(err)}`);
      const noAccount = /not enabled for account/i.test(describe(err));
      if (!noJs && !noAccount && isTransient(err) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
        continue;
      }
      await nc.close().catch(() => undefined);
      if (noJs || noAccount) {
        throw new AbqError(
          "E_IO",
          `the NATS server at ${s.display} has no JetStream${noAccount ? " for this account" : ""}`,
          {
            hint: noAccount
              ? "enable jetstream for the account in the server config"
              : "start it with -js, or use the config nats/abq-server.conf",
            cause: err,
          },
        );
      }
      throw new AbqError("E_IO", `NATS at ${s.display} did not answer the JetStream check: ${describe(err)}`, {
        hint: isTransient(err) ? unavailableHint(s) : "check the server's JetStream configuration and log",
        cause: err,
      });
    }
  }
}

export function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : "";
  return `${err.message}${cause}`;
}

/** JetStream's "try again later" (10008): the group that should answer has no leader yet. */
const JS_TEMPORARILY_UNAVAILABLE = 10008;

/**
 * Errors that waiting may cure: the request got no answer, the connection was down, or (on a cluster)
 * the stream, KV bucket or meta group that should answer is electing a leader. nats.js reports "no
 * responders" on a JetStream request or publish as `JetStreamNotEnabled` ("jetstream is not enabled")
 * with the real error as its `cause`, so causes are looked at too: on a server that runs JetStream
 * (openConnection checked) it means nobody is listening right now, not that JetStream is off.
 */
export function isTransient(err: unknown): boolean {
  if (DENIED.test(describe(err))) return false; // the server's permissions: asking again will not change them
  if (!(err instanceof Error) || isAbqError(err)) return false;
  if (
    /Timeout|NoResponders|ConnectionError|Disconnect|RequestError/i.test(`${err.name} ${err.constructor.name}`) ||
    /timeout|no responders|disconnect|connection (closed|lost|refused)|503|temporarily unavailable/i.test(err.message)
  ) {
    return true;
  }
  if ("code" in err && err.code === JS_TEMPORARILY_UNAVAILABLE) return true;
  return err.cause instanceof Error && err.cause !== err && isTransient(err.cause);
}

/** The server's permissions said no (docs/sharing.md, "Over NATS"). */
const DENIED = /permissions violation/i;

/** Wraps an unexpected client error as E_IO (the CLI's exit 6) with a hint about the server. */
export function natsError(action: string, s: NatsSettings, err: unknown): AbqError {
  if (isAbqError(err)) return err;
  if (DENIED.test(describe(err))) {
    return new AbqError("E_UNSAFE", `${action}: ${describe(err)} (NATS at ${s.display})`, {
      hint: "this NATS user may not do that: see its permissions in the server's config (docs/sharing.md)",
      cause: err,
    });
  }
  let hint = "check that the server is up and has JetStream";
  if (isTransient(err)) hint = unavailableHint(s);
  else if (s.replicas > 1 && err instanceof Error && /replicas|peers|insufficient resources/i.test(describe(err))) {
    hint = `ABQ_NATS_REPLICAS=${s.replicas} needs a JetStream cluster with at least ${s.replicas} nodes up`;
  }
  return new AbqError("E_IO", `${action}: ${describe(err)} (NATS at ${s.display})`, { hint, cause: err });
}

/**
 * Runs `fn`, retrying transient failures every 250 ms for up to `retryForMs` (a server restart, or a
 * cluster electing a leader), so a watcher keeps its claims and answers through it. Only idempotent
 * steps (or ones whose caller re-checks the outcome) go through here.
 */
export async function retrying<T>(s: NatsSettings, action: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + s.retryForMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransient(err) || Date.now() >= deadline) throw natsError(action, s, err);
      await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
    }
  }
}

/** Everything a transport needs: the connection, JetStream, and the state bucket (created on first use). */
export async function openContext(url: string, home: string, agent: string): Promise<NatsContext> {
  const s = natsSettings(url);
  const { nc, jsm } = await openConnection(s);
  try {
    // The API was checked just now: the KV manager need not check it again.
    const js = jetstream(nc, { timeout: s.requestTimeoutMs, checkAPI: false });
    // Looks the bucket up (and adds it when missing); an existing bucket is used as it is.
    const kv = await retrying(s, "cannot open the abq state bucket", () =>
      new Kvm(js).create(BUCKET, { history: 1, replicas: s.replicas }),
    );
    return { s, nc, jsm, js, kv, agent, home };
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw natsError("cannot open the abq state bucket", s, err);
  }
}

/** Drains (flushing acks that were published without waiting), but never waits more than 2 s for it. */
export async function closeConnection(nc: NatsConnection): Promise<void> {
  const drained = nc.drain().catch(() => undefined);
  await Promise.race([drained, new Promise((r) => setTimeout(r, 2000).unref())]);
  if (!nc.isClosed()) await nc.close().catch(() => undefined);
}
