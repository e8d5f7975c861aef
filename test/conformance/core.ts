/**
 * The transport conformance suite, part 1: the core contract (src/lifecycle/transport.ts) that every
 * transport implements. test/conformance.test.ts runs every case on every registered transport, through
 * the library (`openBus`), against real files and a real nats-server.
 */
import { readFileSync } from "node:fs";
import { expect } from "vitest";
import type { ClaimHandle, TransportCore } from "../../src/lifecycle/transport.ts";
import { newId } from "../../src/protocol/ids.ts";
import { formatTimestamp, PROTOCOL_VERSION, type Request } from "../../src/protocol/schema.ts";

/** What each case gets: a fresh transport on a shared bus, a fresh channel name, and a way to make it. */
export interface Bed {
  /** `ownerPid`: the process recorded as the owner of claims made through it. */
  open(agent?: string, opts?: { ownerPid?: number }): Promise<TransportCore>;
  /** A channel name no other case uses, created (a transport may need its admin capability for that). */
  channel(prefix: string): Promise<string>;
}

export type Case = (bed: Bed) => Promise<void>;

export function request(to: string, content = "work"): Request {
  return {
    id: newId(),
    version: PROTOCOL_VERSION,
    type: "command",
    from: { agent: "conformance", pid: process.pid, pwd: process.cwd() },
    to,
    content,
    timestamp: formatTimestamp(),
    ttl: 0,
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function conflict(p: Promise<unknown>): Promise<void> {
  await expect(p).rejects.toMatchObject({ name: "AbqError", code: "E_CONFLICT" });
}

export const CORE: Record<string, Case> = {
  "claim hands out the oldest message as sent, with a readable $1 file and a lease": async (bed) => {
    const t = await bed.open();
    const ch = await bed.channel("order");
    const first = await t.send(request(ch, "first"));
    await t.send(request(ch, "second"));
    const c = (await t.claim(ch))!;
    expect(c.message).toEqual(first);
    expect(JSON.parse(readFileSync(c.path, "utf8"))).toMatchObject({ id: first.id, content: "first" });
    expect(c.lease).toMatchObject({ id: first.id, attempt: 1 });
    expect(Date.parse(c.lease!.deadline)).toBeGreaterThan(Date.now());
    expect(JSON.parse(JSON.stringify(c))).toMatchObject({ channel: ch, message: first, path: c.path });
    expect((await t.claim(ch))?.message.content).toBe("second");
    expect(await t.claim(ch)).toBeNull();
  },

  "respond answers once: the sender gets it, a second answer is refused": async (bed) => {
    const t = await bed.open();
    const ch = await bed.channel("respond");
    const sent = await t.send(request(ch));
    const c = (await t.claim(ch))!;
    expect(await c.respond("ok")).toMatchObject({ id: sent.id, status: "success", result: "ok" });
    expect(await t.waitForResponse(ch, sent.id, 5000)).toMatchObject({ status: "success", result: "ok" });
    await conflict(c.respond("again"));
    await conflict(c.fail("too late"));
  },

  "fail is a final error answer; progress notes reach a waiting sender first": async (bed) => {
    const t = await bed.open();
    const ch = await bed.channel("fail");
    const sent = await t.send(request(ch));
    const c = (await t.claim(ch))!;
    const notes: string[] = [];
    const waiting = t.waitForResponse(ch, sent.id, 10_000, { onPending: (n) => notes.push(n.result) });
    await c.progress("halfway");
    await sleep(600); // a waiter notices a note within its backstop
    await c.fail("broke", "partial");
    expect(await waiting).toMatchObject({ status: "error", error: "broke", result: "partial" });
    expect(notes).toContain("halfway");
  },

  "ack retires a message without an answer; a waiting sender is told so": async (bed) => {
    const t = await bed.open("acker");
    const ch = await bed.channel("ack");
    const sent = await t.send(request(ch));
    const c = (await t.claim(ch))!;
    await c.ack();
    await expect(t.waitForResponse(ch, sent.id, 2000)).rejects.toThrow(/acknowledged/);
    expect(await t.claim(ch)).toBeNull();
    await conflict(c.respond("after ack"));
  },

  "release gives it back at once, not counted as an attempt": async (bed) => {
    const t = await bed.open();
    const ch = await bed.channel("release");
    const sent = await t.send(request(ch));
    const c = (await t.claim(ch))!;
    expect(await c.release()).toBe("released");
    const again = (await t.claim(ch))!;
    expect(again.message.id).toBe(sent.id);
    expect(again.lease?.attempt).toBe(1);
    await again.respond("ok");
  },

  "release with a delay holds it back until the delay has passed": async (bed) => {
    const t = await bed.open();
    const ch = await bed.channel("delay");
    const sent = await t.send(request(ch));
    const c = (await t.claim(ch))!;
    const at = Date.now();
    expect(await c.release({ delayMs: 1500 })).toBe("delayed");
    expect(await t.claim(ch)).toBeNull();
    let back = await t.claim(ch);
    while (back === null && Date.now() - at < 10_000) {
      await sleep(100);
      back = await t.claim(ch);
    }
    expect(back?.message.id).toBe(sent.id);
    expect(Date.now() - at).toBeGreaterThanOrEqual(1400);
    expect(back?.lease?.attempt).toBe(1);
  },

  "release with a failure counts the attempt": async (bed) => {
    const t = await bed.open();
    const ch = await bed.channel("failure");
    const sent = await t.send(request(ch));
    const c = (await t.claim(ch))!;
    expect(await c.release({ failure: { reason: "flaky" }, delayMs: 0 })).toBe("requeued");
    const again = (await t.claim(ch))!;
    expect(again.message.id).toBe(sent.id);
    expect(again.lease?.attempt).toBe(2);
  },

  "term dead-letters it at once: never handed out again": async (bed) => {
    const t = await bed.open();
    const ch = await bed.channel("term");
    await t.send(request(ch));
    const c = (await t.claim(ch))!;
    await c.term("poison");
    expect(await t.claim(ch)).toBeNull();
    await conflict(c.release());
  },

  "renew pushes the lease deadline out": async (bed) => {
    const t = await bed.open();
    const ch = await bed.channel("renew");
    await t.send(request(ch));
    const c = (await t.claim(ch))!;
    const before = Date.parse(c.lease!.deadline);
    await sleep(50);
    const renewed = await c.renew();
    expect(Date.parse(renewed.deadline)).toBeGreaterThan(before);
    await c.respond("ok");
  },

  "resume from another process: with the lease it acts, with a stale token nothing changes": async (bed) => {
    const worker = await bed.open("holder");
    const other = await bed.open("other");
    const ch = await bed.channel("resume");
    const sent = await worker.send(request(ch));
    const c = (await worker.claim(ch))!;
    const stale = "0".repeat(16);
    const acts: Array<(h: ClaimHandle) => Promise<unknown>> = [
      (h) => h.respond("x"),
      (h) => h.ack(),
      (h) => h.release(),
      (h) => h.term("x"),
      (h) => h.renew(),
    ];
    for (const act of acts) {
      await conflict(other.resume(ch, sent.id, { lease: stale }).then(act));
    }
    const mine = await other.resume(ch, sent.id, { lease: c.lease!.token });
    expect(mine.message).toEqual(sent);
    await mine.respond("from the other process");
    expect(await worker.waitForResponse(ch, sent.id, 5000)).toMatchObject({ result: "from the other process" });
  },

  "waitForChange wakes on a send; waitForResponse times out with null": async (bed) => {
    const t = await bed.open();
    const ch = await bed.channel("wake");
    await t.waitForChange(ch, 0); // start watching before the send
    const start = Date.now();
    const woken = t.waitForChange(ch, 5000);
    await sleep(100);
    const sent = await t.send(request(ch));
    await woken;
    expect(Date.now() - start).toBeLessThan(4000);
    expect(await t.waitForResponse(ch, sent.id, 300)).toBeNull();
  },
};
