/**
 * The transport conformance suite, part 2: each capability a transport may declare. A transport runs the
 * cases of every capability it declares; for each one it does not declare, `capable()` must refuse with
 * a clear E_USAGE (checked by test/conformance.test.ts), so a missing capability never fails silently.
 */
import { spawnSync } from "node:child_process";
import { expect } from "vitest";
import { type Capability, capable } from "../../src/lifecycle/transport.ts";
import { COUNTED_STATES } from "../../src/lifecycle/states.ts";
import { type Case, request } from "./core.ts";

export const CAPABILITY_CASES: Record<Capability, Record<string, Case>> = {
  admin: {
    "channels: create is idempotent, info counts every state, a missing one is E_NO_CHANNEL": async (bed) => {
      const t = capable(await bed.open(), "admin");
      const ch = await bed.channel("admin");
      expect((await t.createChannel(ch)).created).toBe(false);
      expect((await t.listChannels()).map((c) => c.name)).toContain(ch);
      const info = await t.channelInfo(ch);
      for (const state of COUNTED_STATES) expect(info.status[state], state).toBe(0);
      await expect(t.requireChannel(`${ch}-missing`)).rejects.toMatchObject({ code: "E_NO_CHANNEL" });
      await t.removeChannel(ch);
      expect((await t.listChannels()).map((c) => c.name)).not.toContain(ch);
    },

    "cancel withdraws a pending message, not a claimed one; purge withdraws the rest": async (bed) => {
      const t = capable(await bed.open(), "admin");
      const ch = await bed.channel("cancel");
      const a = await t.send(request(ch, "a"));
      const b = await t.send(request(ch, "b"));
      const c = await t.send(request(ch, "c"));
      await t.cancel(ch, b.id);
      await expect(t.waitForResponse(ch, b.id, 1000)).rejects.toThrow(/cancelled/);
      const claimed = (await t.claim(ch))!;
      expect(claimed.message.id).toBe(a.id);
      await expect(t.cancel(ch, a.id)).rejects.toMatchObject({ code: "E_CONFLICT" });
      expect(await t.purge(ch, "stale")).toEqual([c.id]);
      expect(await t.claim(ch)).toBeNull();
      expect((await t.policy(ch)).max_attempts).toBeGreaterThan(0);
    },
  },

  inspect: {
    "every state shows in status, list and find, with its reason": async (bed) => {
      const t = capable(await bed.open("inspector"), "inspect");
      const ch = await bed.channel("states");
      const [answered, acked, delayed, dead, pending] = [
        await t.send(request(ch, "answered")),
        await t.send(request(ch, "acked")),
        await t.send(request(ch, "delayed")),
        await t.send(request(ch, "dead")),
        await t.send(request(ch, "pending")),
      ];
      await (await t.claim(ch))!.respond("ok");
      await (await t.claim(ch))!.ack();
      await (await t.claim(ch))!.release({ delayMs: 60_000 });
      await (await t.claim(ch))!.term({ reason: "poison", error: "bad input", exit_code: 3 });
      const claimed = (await t.claim(ch))!;
      expect(claimed.message.id).toBe(pending.id);

      const row = (await t.status()).find((s) => s.name === ch && s.subscriber === undefined)!;
      for (const state of COUNTED_STATES) expect(typeof row[state], state).toBe("number");
      expect(row).toMatchObject({ pending: 0, processing: 1, delayed: 1, dead: 1 });
      expect(row.archived).toBeGreaterThanOrEqual(2);

      expect((await t.find(answered.id, ch)).state).toBe("done");
      const ack = await t.find(acked.id, ch);
      expect(ack.state).toBe("acknowledged");
      expect(String(ack.reason?.["reason"])).toMatch(/acknowledged by inspector/);
      expect((await t.find(delayed.id, ch)).state).toBe("delayed");
      const d = await t.find(dead.id, ch);
      expect(d.state).toBe("dead");
      expect(d.reason).toMatchObject({ reason: "poison", error: "bad input", exit_code: 3 });
      // A claim shows once it lasts: JetStream records a first delivery's claim after RECORD_AFTER_MS
      // (100 ms; src/nats/held-claims.ts), the spool at once. Look for up to 2 s.
      let c = await t.find(pending.id, ch);
      for (let i = 0; i < 40 && c.state !== "claimed"; i++) {
        await new Promise((r) => setTimeout(r, 50));
        c = await t.find(pending.id, ch);
      }
      expect(c.state).toBe("claimed");
      expect(c.lease?.token).toBe(claimed.lease?.token);

      const deadList = await t.list(ch, "dead", { limit: 10, oldestFirst: true });
      expect(deadList.map((e) => e.id)).toEqual([dead.id]);
      expect(deadList[0]!.reason).toMatchObject({ reason: "poison" });
      expect((await t.list(ch, "delayed", { limit: 10, oldestFirst: true })).map((e) => e.id)).toEqual([delayed.id]);
      expect(await t.count(ch, "processing")).toBe(1);
    },
  },

  supervise: {
    "requeue takes back a dead worker's claim; trace tells the whole story": async (bed) => {
      const t = capable(await bed.open("supervisor"), "supervise");
      // A worker whose process is gone: its claim may be taken back before its lease runs out.
      const gone = spawnSync(process.execPath, ["-e", "0"]).pid;
      const worker = await bed.open("worker", { ownerPid: gone });
      const ch = await bed.channel("sweep");
      const sent = await t.send(request(ch));
      await t.configure(ch, { max_attempts: 3, backoff_s: 0 });
      await worker.claim(ch);
      const taken = await t.requeue({ channel: ch, deadOwners: true });
      expect(taken.map((r) => [r.id, r.action])).toEqual([[sent.id, "requeued"]]);
      const again = (await t.claim(ch))!;
      expect(again.lease?.attempt).toBe(2);
      await again.term("enough");
      expect((await t.dead(ch)).map((d) => d.id)).toEqual([sent.id]);
      const events = (await t.trace(sent.id, ch)).map((e) => e.event);
      expect(events).toEqual(["sent", "claimed", "requeued", "claimed", "terminated"]);
      const reports = await t.sweep({ channel: ch });
      expect(reports[0]).toMatchObject({ channel: ch, expired: [] });
    },
  },

  topics: {
    "each named subscriber gets its own copy of what is published after it subscribed": async (bed) => {
      const t = capable(await bed.open(), "topics");
      const admin = capable(t, "admin");
      const ch = `${await bed.channel("topic")}-t`;
      await admin.createChannel(ch, { topic: true });
      await t.subscribe(ch, "alice");
      await t.subscribe(ch, "bob");
      const sent = await t.send(request(ch, "news"));
      for (const as of ["alice", "bob"]) {
        const c = (await t.claim(ch, { as }))!;
        expect(c.message.id).toBe(sent.id);
        await c.respond(`read by ${as}`);
      }
      expect(await t.claim(ch, { as: "alice" })).toBeNull();
      await t.unsubscribe(ch, "bob");
    },
  },
};
