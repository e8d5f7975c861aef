/**
 * `abq ui` on a NATS JetStream bus (a real nats-server), in chromium: the same page over the transport's
 * inspection capability. Counts as `abq status --json` says, a CLI send on the page within a second
 * (woken by the transport's subscription), and a message's answer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseJson } from "./helpers.ts";
import { natsBusFactory } from "./nats/bus.ts";
import { natsAvailable, type NatsServer, startServer } from "./nats/server.ts";
import { fresh } from "./nats/shared-cases.ts";
import { browserAvailable, launch, startUi } from "./fixtures/ui/serve.ts";
import { claim, sendJson } from "./fixtures/ui/populate.ts";

interface StatusJson {
  channels: Array<Record<string, number | string | null> & { name: string }>;
}

describe.runIf(natsAvailable() && browserAvailable())("abq ui over NATS", () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("serves the page for a JetStream bus: counts, a live send, an answer", async () => {
    const bus = natsBusFactory(() => server)({ ABQ_AGENT: "github.com/acme/api/main" });
    const ch = fresh("uinats");
    expect((await bus.abq(["channel", "create", ch])).code).toBe(0);
    const answered = await sendJson(bus, ch, "review PR 7");
    await claim(bus, ch, "github.com/acme/web/main");
    const r = await bus.abq(["respond", ch, answered, "--result", "approved over NATS"]);
    expect(r.code, r.stderr).toBe(0);
    await sendJson(bus, ch, "review PR 8");
    await sendJson(bus, ch, "review PR 9");

    const ui = await startUi(bus);
    const page = await (await launch()).newPage({ viewport: { width: 1300, height: 800 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(ui.url);
    await page.locator("#live:not(.off)").waitFor();
    expect(await page.locator("#scheme").textContent()).toBe("nats");

    const status = parseJson<StatusJson>((await bus.abq(["status", "--json"])).stdout);
    const row = status.channels.find((c) => c.name === ch)!;
    for (const state of ["pending", "processing", "delayed", "responses", "archived", "dead"]) {
      const cell = page.locator(`tr[data-queue="${ch}"] td[data-count="${state}"]`);
      await expect.poll(() => cell.textContent(), { timeout: 5000 }).toBe(String(row[state]));
    }

    await page.locator(`tr[data-queue="${ch}"]`).click();
    await page.locator('#tabs button[data-state="requests"]').click();
    await page.locator("#messages tr[data-id]").first().waitFor();
    const id = await sendJson(bus, ch, "review PR 10");
    const sentAt = Date.now();
    await page.locator(`#messages tr[data-id="${id}"]`).waitFor({ timeout: 5000 });
    expect(Date.now() - sentAt).toBeLessThan(1000);

    await page.locator('#tabs button[data-state="archive"]').click();
    await page.locator(`#messages tr[data-id="${answered}"]`).click();
    await expect.poll(() => page.locator('#detail pre[data-field="result"]').textContent()).toBe("approved over NATS");
    expect(await page.locator("#detail").textContent()).toContain("keeps no event log");
    expect(errors).toEqual([]);
    expect(await ui.stop()).toBe(0);
  });
});
