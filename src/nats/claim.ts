/**
 * Claiming: pull one message from the queue's durable consumer (claim = fetch), then win its state
 * record. A first delivery `create`s the record; a redelivery (lease expired, released, server restart)
 * reads it first: if the message was answered or withdrawn meanwhile (a responder whose ack got lost, or
 * a late ack racing the redelivery), it is acked and skipped instead of being handed out twice; after a
 * release (a `released` record) it is claimed again, its plain releases not counted as attempts.
 */
import { hostname } from "node:os";
import { requestSchema, formatTimestamp } from "../protocol/schema.ts";
import type { Request } from "../protocol/schema.ts";
import type { Skipped } from "../lifecycle/records.ts";
import { describeIssues } from "../protocol/schema.ts";
import { requireConsumer } from "./channels.ts";
import { claimFilePath } from "./claimfile.ts";
import { retrying } from "./connect.ts";
import { type NatsContext, nanos } from "./context.ts";
import { consumerName, idOfSubject, recordKey, streamName } from "./names.ts";
import { ACK, deadLetter, type Held, leaseOf, TERM } from "./held-claims.ts";
import { type ClaimInfo, createRecord, getRecord, type StateRecord, type Stored, updateRecord } from "./records.ts";
import { deliverReply } from "./replies.ts";
import type { ChannelName, SubscriberName } from "../protocol/names.ts";

/** How long one pull waits for a message before the queue counts as empty. */
const PULL_EXPIRES_MS = 25;

interface Pulled {
  subject: string;
  reply: string;
  data: Uint8Array;
  delivery: number;
  seq: number;
}

/** `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.…`, or the longer form with domain and account. */
export function parseAck(reply: string): { delivery: number; seq: number } {
  const t = reply.split(".");
  const base = t.length === 9 ? 2 : 4;
  return { delivery: Number(t[base + 2]), seq: Number(t[base + 3]) };
}

/**
 * One message or null, without waiting (`no_wait`). A plain request with its own inbox (`noMux`): the
 * message arrives on its original subject, which the shared request inbox could not route.
 */
async function pullOne(
  ctx: NatsContext,
  channel: ChannelName,
  subscriber: SubscriberName | undefined,
): Promise<Pulled | null> {
  const subject = `$JS.API.CONSUMER.MSG.NEXT.${streamName(channel)}.${consumerName(subscriber)}`;
  // A short expiry rather than no_wait: right after a publish the consumer may not have seen the message
  // yet and no_wait would say "empty"; waiting up to PULL_EXPIRES_MS covers that and costs only empty pulls.
  const body = JSON.stringify({ batch: 1, expires: nanos(PULL_EXPIRES_MS) });
  const msg = await ctx.nc.request(subject, body, {
    timeout: ctx.s.requestTimeoutMs,
    noMux: true,
  });
  if (!msg.reply?.startsWith("$JS.ACK.")) {
    const code = msg.headers?.code ?? 0;
    if (code === 404 || code === 408) return null;
    // 409 and friends: the consumer went away or is misconfigured; say which channel.
    await requireConsumer(ctx, channel, subscriber);
    return null;
  }
  return { subject: msg.subject, reply: msg.reply, data: msg.data, ...parseAck(msg.reply) };
}

export async function claimNext(
  ctx: NatsContext,
  channel: ChannelName,
  subscriber: SubscriberName | undefined,
  skipped: Skipped,
): Promise<Held | null> {
  for (let empty = 0; ;) {
    const pulled = await retrying(ctx.s, `cannot claim from '${channel}'`, () => pullOne(ctx, channel, subscriber));
    if (!pulled) {
      // Still, under load the consumer can lag: when its own count says a message is there, ask again.
      if (++empty > 3) return null;
      const info = await retrying(ctx.s, `cannot claim from '${channel}'`, () =>
        ctx.jsm.consumers.info(streamName(channel), consumerName(subscriber)),
      );
      if (info.num_pending === 0) return null;
      continue;
    }
    const held = await takeOver(ctx, channel, subscriber, pulled, skipped);
    if (held) return held;
  }
}

async function takeOver(
  ctx: NatsContext,
  channel: ChannelName,
  subscriber: SubscriberName | undefined,
  m: Pulled,
  skipped: Skipped,
): Promise<Held | null> {
  const id = idOfSubject(m.subject);
  const key = recordKey(channel, subscriber, /^req_[0-9a-f]+$/.test(id) ? id : `bad-${m.seq}`);
  const text = new TextDecoder().decode(m.data);
  const request = parseRequest(text, id);
  // Not a message, or signed but altered, spoofed or by an unknown or revoked key (this host's key
  // registry decides): keep it out of every consumer's way and say why (`ls rejected`).
  const problem =
    typeof request === "string"
      ? request
      : await signatureProblem(ctx, request).catch((err: unknown) => {
          // The key registry could not be read (an unsafe keys folder): hand the message back at once.
          ctx.nc.publish(m.reply, "-NAK");
          throw err;
        });
  if (typeof request === "string" || problem !== undefined) {
    const rejected: StateRecord = {
      state: "rejected",
      problem: problem ?? "not a message",
      raw: text.slice(0, 4096),
      updatedMs: Date.now(),
    };
    await retrying(ctx.s, "cannot reject a bad message", () => createRecord(ctx.kv, key, rejected));
    ctx.nc.publish(m.reply, TERM);
    skipped.rejected.push(key.slice(key.lastIndexOf(".") + 1));
    return null;
  }
  const claim: ClaimInfo = {
    ack: m.reply,
    delivery: m.delivery,
    seq: m.seq,
    by: ctx.agent,
    pid: process.pid,
    host: hostname(),
    at: formatTimestamp(),
  };
  // A first delivery cannot have been answered, released or claimed before, so its record is written a
  // little later (`recordClaim`): most claims are answered sooner, and the answer then creates the
  // record in one step. A redelivery must look at the record first.
  const current = m.delivery === 1 ? null : await retrying(ctx.s, "cannot claim", () => getRecord(ctx.kv, key));
  if (current && !claimable(current.record)) return finishDone(ctx, current.record, request, m);
  const releases = current?.record.releases ?? 0;
  const attempt = m.delivery - releases;
  if (attempt > ctx.s.maxAttempts) {
    // Delivered too often without an answer (leases ran out: the handler hangs or kills its watcher).
    await deadLetter(ctx, key, request, `lease expired ${attempt - 1} times`);
    ctx.nc.publish(m.reply, TERM);
    return null;
  }
  const record: StateRecord = {
    state: "claimed",
    request,
    claim,
    ...(releases > 0 ? { releases } : {}),
    updatedMs: Date.now(),
  };
  // Like the spool's `attempts`: how many failed attempts came before this one, so ABQ_ATTEMPT counts up.
  const message: Request = attempt > 1 ? { ...request, attempts: attempt - 1 } : request;
  const path = claimFilePath(ctx.home, channel, subscriber, request.id);
  const revision = m.delivery === 1 ? null : await takeRecord(ctx, key, record, current, m);
  if (m.delivery > 1 && revision === null) return null;
  const lease = leaseOf(ctx, request.id, claim, releases);
  return { channel, subscriber, key, revision, record, claim, request: message, path, lease };
}

/** A record a new delivery may take over: none yet, a claim whose lease ran out, or a release. */
function claimable(record: StateRecord): boolean {
  return record.state === "claimed" || record.state === "released";
}

/**
 * Answered, withdrawn, rejected or dead already (a responder whose ack got lost, or a late ack racing
 * the redelivery): finish what the earlier holder left and skip it.
 */
async function finishDone(ctx: NatsContext, record: StateRecord, request: Request, m: Pulled): Promise<null> {
  if (record.state === "answered" || record.state === "read") {
    await deliverReply(ctx, record.request ?? request, record.response);
  }
  ctx.nc.publish(m.reply, record.state === "rejected" || record.state === "dead" ? TERM : ACK);
  return null;
}

/** Makes the record say "claimed by this delivery"; null when a racing writer won (nak'ed: it comes back). */
async function takeRecord(
  ctx: NatsContext,
  key: string,
  record: StateRecord,
  current: Stored | null,
  m: Pulled,
): Promise<number | null> {
  const revision = await retrying(ctx.s, "cannot claim", () =>
    current ? updateRecord(ctx.kv, key, record, current.revision) : createRecord(ctx.kv, key, record),
  );
  // Lost a race (an answer or cancel landed this instant): look again at the next delivery.
  if (revision === null) ctx.nc.publish(m.reply, "-NAK");
  return revision;
}

async function signatureProblem(ctx: NatsContext, request: Request): Promise<string | undefined> {
  if (request["signature"] === undefined) return undefined;
  const { verifyMessage } = await import("../security/sign.ts");
  const verdict = await verifyMessage(ctx.home, request);
  return verdict.ok ? undefined : verdict.problem;
}

function parseRequest(text: string, subjectId: string): Request | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return "not JSON";
  }
  const parsed = requestSchema().safeParse(json);
  if (!parsed.success) return describeIssues(parsed.error);
  if (parsed.data.id !== subjectId) return `id ${parsed.data.id} does not match its subject (${subjectId})`;
  return parsed.data;
}
