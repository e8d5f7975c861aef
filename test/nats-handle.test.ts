/**
 * The JetStream claim handle (src/nats/claim-handle.ts) through the library, against a real nats-server:
 * every act (respond, fail, progress, ack, release now / delayed / as a failure, term, renew), the
 * status row's counted states, and fencing: a stale lease token changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COUNTED_STATES } from "../src/lifecycle/states.ts";
import { NatsTransport } from "../src/nats/transport.ts";
import { natsAvailable, type NatsServer, startServer } from "./nats/server.ts";
import { fresh } from "./nats/shared-cases.ts";
import { request, sleep } from "./conformance/core.ts";

const ACK_WAIT_MS = 1500;

describe.skipIf(!natsAvailable())("NATS claim handle", () => {
  let server: NatsServer;
  const open: NatsTransport[] = [];
  const transport = async (agent = "worker") => {
    const t = await NatsTransport.open({ url: server.url, agent });
    open.push(t);
    return t;
  };
  /** A fresh channel with one message sent to it. */
  const withMessage = async (t: NatsTransport) => {
    const ch = fresh("h");
    await t.createChannel(ch);
    const sent = await t.send(request(ch));
    return { ch, id: sent.id };
  };

  beforeAll(async () => {
    process.env["ABQ_NATS_ACK_WAIT_MS"] = String(ACK_WAIT_MS);
    process.env["ABQ_NATS_BACKOFF_MS"] = "200";
    process.env["ABQ_NATS_MAX_ATTEMPTS"] = "2";
    server = await startServer();
  });
  afterAll(async () => {
    for (const t of open) await t.close().catch(() => undefined);
    await server?.stop();
  });

  it("declares its capabilities and policy", async () => {
    const t = await transport();
    const { ch } = await withMessage(t);
    expect(t.scheme).toBe("nats");
    expect([...t.capabilities].sort()).toEqual(["admin", "inspect", "topics"]);
    const p = await t.policy(ch);
    expect(p).toMatchObject({ max_attempts: 2, backoff_s: 0.2, lease_s: ACK_WAIT_MS / 1000 });
    await t.flush();
  });

  it("respond, then the sender reads the answer; toJSON is the plain claim", async () => {
    const t = await transport();
    const { ch, id } = await withMessage(t);
    const h = (await t.claim(ch))!;
    const json = JSON.parse(JSON.stringify(h)) as Record<string, unknown>;
    expect(Object.keys(json).sort()).toEqual(["channel", "lease", "message", "path"]);
    expect(json["path"]).toMatch(/processing\/req_[0-9a-f]+\.json$/);
    expect((await h.respond("ok")).status).toBe("success");
    expect((await t.waitForResponse(ch, id, 5000))?.result).toBe("ok");
    expect((await t.find(id, ch)).state).toBe("done");
    await expect(h.respond("twice")).rejects.toMatchObject({ code: "E_CONFLICT" });
  });

  it("fail answers with an error; progress keeps the claim", async () => {
    const t = await transport();
    const { ch, id } = await withMessage(t);
    const h = (await t.claim(ch))!;
    expect((await h.progress("half way")).status).toBe("pending");
    const f = await t.find(id, ch);
    expect(f.state).toBe("claimed");
    expect(f.lease?.token).toBe(h.lease?.token);
    expect(f.response?.result).toBe("half way");
    const r = await h.fail("boom", "partial");
    expect([r.status, r.error, r.result]).toEqual(["error", "boom", "partial"]);
    expect((await t.find(id, ch)).state).toBe("done");
  });

  it("ack archives without an answer and a waiting ask is told", async () => {
    const t = await transport();
    const { ch, id } = await withMessage(t);
    const h = (await t.claim(ch))!;
    const waiting = t.waitForResponse(ch, id, 10_000);
    await h.ack();
    const err = await waiting.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: "E_CONFLICT" });
    expect((err as Error).message).toMatch(/will not be answered: acknowledged by worker/);
    const f = await t.find(id, ch);
    expect(f.state).toBe("acknowledged");
    expect(await t.count(ch, "archive")).toBe(1);
    expect(await t.claim(ch)).toBeNull();
  });

  it("release now: claimable again, not counted as an attempt", async () => {
    const t = await transport();
    const { ch, id } = await withMessage(t);
    for (let i = 0; i < 3; i++) {
      const h = (await t.claim(ch))!;
      expect(h.message.id).toBe(id);
      expect(h.lease?.attempt).toBe(1);
      expect(h.message["attempts"]).toBeUndefined();
      expect(await h.release()).toBe("released");
      expect((await t.find(id, ch)).state).toBe("pending");
    }
    const last = (await t.claim(ch))!;
    await last.respond("finally");
    expect((await t.find(id, ch)).state).toBe("done");
  });

  it("release with a delay: listed as delayed, claimable once due", async () => {
    const t = await transport();
    const { ch, id } = await withMessage(t);
    const h = (await t.claim(ch))!;
    expect(await h.release({ delayMs: 1200 })).toBe("delayed");
    expect((await t.find(id, ch)).state).toBe("delayed");
    expect((await t.list(ch, "delayed", { limit: 10, oldestFirst: true })).map((e) => e.id)).toEqual([id]);
    expect((await t.status()).find((s) => s.name === ch)?.delayed).toBe(1);
    expect(await t.claim(ch)).toBeNull();
    await sleep(1500);
    const again = (await t.claim(ch))!;
    expect(again.message.id).toBe(id);
    await again.ack();
  });

  it("release as a failure: backoff, then a dead letter with its reason", async () => {
    const t = await transport();
    const { ch, id } = await withMessage(t);
    const h = (await t.claim(ch))!;
    expect(await h.release({ failure: { reason: "exit 75", exit_code: 75 } })).toBe("delayed");
    await sleep(400);
    const second = (await t.claim(ch))!;
    expect(second.lease?.attempt).toBe(2);
    expect(second.message["attempts"]).toBe(1);
    expect(await second.release({ failure: { reason: "exit 75", error: "still broken" } })).toBe("dead");
    const f = await t.find(id, ch);
    expect(f.state).toBe("dead");
    expect(f.reason).toMatchObject({ reason: "exit 75", error: "still broken" });
    const dead = await t.list(ch, "dead", { limit: 10, oldestFirst: true });
    expect(dead.map((e) => e.id)).toEqual([id]);
    expect((await t.status()).find((s) => s.name === ch)?.dead).toBe(1);
  });

  it("term dead-letters at once", async () => {
    const t = await transport();
    const { ch, id } = await withMessage(t);
    const h = (await t.claim(ch))!;
    await h.term("poison");
    const f = await t.find(id, ch);
    expect(f.state).toBe("dead");
    expect(f.reason).toMatchObject({ reason: "poison" });
    await sleep(300);
    expect(await t.claim(ch)).toBeNull();
  });

  it("renew extends the lease", async () => {
    const t = await transport();
    const { ch } = await withMessage(t);
    const h = (await t.claim(ch))!;
    const before = Date.parse(h.lease!.deadline);
    await sleep(50);
    const lease = await h.renew();
    expect(Date.parse(lease.deadline)).toBeGreaterThan(before);
    expect(h.lease).toEqual(lease);
    await h.ack();
  });

  it("status rows carry every counted state", async () => {
    const t = await transport();
    await withMessage(t);
    for (const row of await t.status()) for (const k of COUNTED_STATES) expect(typeof row[k]).toBe("number");
  });

  it("fencing: a stale lease token changes nothing; the answer is kept as late", async () => {
    const first = await transport("first");
    const { ch, id } = await withMessage(first);
    const stale = (await first.claim(ch))!.lease!.token;
    await first.close(); // stops renewing: the ack wait runs out and JetStream delivers it again
    await sleep(ACK_WAIT_MS + 500);
    const second = await transport("second");
    const current = (await second.claim(ch))!;
    expect(current.message.id).toBe(id);
    expect(current.lease?.token).not.toBe(stale);
    const other = await transport("other");
    const old = await other.resume(ch, id, { lease: stale });
    await expect(old.respond("too late")).rejects.toMatchObject({ code: "E_CONFLICT" });
    await expect(old.ack()).rejects.toMatchObject({ code: "E_CONFLICT" });
    await expect(old.release()).rejects.toMatchObject({ code: "E_CONFLICT" });
    await expect(old.term("x")).rejects.toMatchObject({ code: "E_CONFLICT" });
    await expect(old.renew()).rejects.toMatchObject({ code: "E_CONFLICT" });
    const f = await other.find(id, ch);
    expect(f.state).toBe("claimed");
    expect(f.lease?.owner.agent).toBe("second");
    expect(await other.count(ch, "late")).toBe(1);
    // The current token, from another process, answers it.
    const resumed = await other.resume(ch, id, { lease: current.lease!.token });
    await resumed.respond("done");
    expect((await other.find(id, ch)).state).toBe("done");
    await expect(current.respond("again")).rejects.toMatchObject({ code: "E_CONFLICT" });
  });
});
