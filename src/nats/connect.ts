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
  };
}

const START_HINT = "is nats-server running there? start one with: nats-server -c nats/abq-server.conf";

/** Connects (reconnecting forever afterwards, so a watcher outlives a server restart) and checks JetStream. */
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
    });
  } catch (err) {
    throw new AbqError("E_IO", `cannot connect to NATS at ${s.display}: ${describe(err)}`, {
      hint: START_HINT,
      cause: err,
    });
  }
  try {
    const jsm = await jetstreamManager(nc, { timeout: s.requestTimeoutMs });
    return { nc, jsm };
  } catch (err) {
    await nc.close().catch(() => undefined);
    const noJs =
      err instanceof Error &&
      /jetstream is not enabled|JetStreamNotEnabled|no responders/i.test(`${err.name} ${err.message}`);
    throw new AbqError(
      "E_IO",
      noJs
        ? `the NATS server at ${s.display} has no JetStream`
        : `NATS at ${s.display} did not answer the JetStream check: ${describe(err)}`,
      { hint: noJs ? "start it with -js, or use the config nats/abq-server.conf" : START_HINT, cause: err },
    );
  }
}

export function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : "";
  return `${err.message}${cause}`;
}

/** Errors that a reconnect may cure: the request got no answer or the connection was down. */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof Error) || isAbqError(err)) return false;
  return (
    /Timeout|NoResponders|ConnectionError|Disconnect|RequestError/i.test(`${err.name} ${err.constructor.name}`) ||
    /timeout|no responders|disconnect|connection (closed|lost|refused)|503/i.test(err.message)
  );
}

/** Wraps an unexpected client error as E_IO (the CLI's exit 6) with a hint about the server. */
export function natsError(action: string, s: NatsSettings, err: unknown): AbqError {
  if (isAbqError(err)) return err;
  return new AbqError("E_IO", `${action}: ${describe(err)} (NATS at ${s.display})`, {
    hint: "check that the server is up and has JetStream",
    cause: err,
  });
}

/**
 * Runs `fn`, retrying transient failures every 250 ms for up to `retryForMs` (a server restart), so a
 * watcher keeps its claims and answers through it. Only idempotent steps (or ones whose caller re-checks
 * the outcome) go through here.
 */
export async function retrying<T>(s: NatsSettings, action: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + s.retryForMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransient(err) || Date.now() >= deadline) throw natsError(action, s, err);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Everything a transport needs: the connection, JetStream, and the state bucket (created on first use). */
export async function openContext(url: string, home: string, agent: string): Promise<NatsContext> {
  const s = natsSettings(url);
  const { nc, jsm } = await openConnection(s);
  try {
    const kv = await new Kvm(nc).create(BUCKET, { history: 1 });
    return { s, nc, jsm, js: jetstream(nc, { timeout: s.requestTimeoutMs }), kv, agent, home };
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
