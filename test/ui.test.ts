/**
 * `abq ui` in a real browser: chromium (playwright-core) on the dashboard that the built CLI serves, over a
 * bus made with the CLI. What a user sees must be what the CLI says: counts as `abq status --json`, a
 * send from the CLI on the page within a second without a reload, a message's answer and trace, and
 * requeue from dead working through the page.
 */
import { existsSync, mkdirSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { makeBus, parseJson } from "./helpers.ts";
import { populate, sendJson } from "./fixtures/ui/populate.ts";
import { browserAvailable, launch, startUi } from "./fixtures/ui/serve.ts";

/** Where the screenshot of the main view is kept (CI can collect it): $ABQ_TEST_ARTEFACTS, else a temp folder. */
const ARTEFACTS = process.env["ABQ_TEST_ARTEFACTS"] ?? join(tmpdir(), "abq-test-artefacts");

interface StatusJson {
  channels: Array<Record<string, number | string | null | undefined> & { name: string; subscriber?: string }>;
}

describe.runIf(browserAvailable())("abq ui in chromium", () => {
  it("shows the bus live: counts as status --json, a CLI send within 1 s, a message's answer and trace", async () => {
    const bus = makeBus();
    const made = await populate(bus);
    const ui = await startUi(bus);
    const browser = await launch();
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => void (m.type() === "error" && errors.push(m.text())));
    await page.goto(ui.url);
    expect(page.url()).toBe(`${ui.origin}/`); // the token left the address bar for a cookie
    await page.locator("#live:not(.off)").waitFor();

    // Every count of every queue is the CLI's.
    const status = parseJson<StatusJson>((await bus.abq(["status", "--json"])).stdout);
    expect(status.channels.length).toBeGreaterThanOrEqual(5);
    for (const c of status.channels) {
      const key = c.subscriber !== undefined ? `${c.name}/${c.subscriber}` : c.name;
      for (const state of [
        "pending",
        "processing",
        "delayed",
        "responses",
        "archived",
        "dead",
        "rejected",
        "expired",
      ]) {
        const cell = page.locator(`tr[data-queue="${key}"] td[data-count="${state}"]`);
        await expect.poll(() => cell.textContent(), { timeout: 5000 }).toBe(String(c[state]));
      }
    }

    // The agents: presence from heartbeats, and who holds which claim.
    const web = page.locator('tr[data-agent="github.com/acme/web/main"]');
    await expect.poll(() => web.textContent()).toContain("live");
    expect(await web.textContent()).toContain(made.claimed.slice(0, 12));

    // A send from the CLI shows up without a reload, within a second.
    await page.locator('tr[data-queue="reviews"]').click();
    await page.locator('#tabs button[data-state="requests"]').click();
    const before = Date.now();
    const id = await sendJson(bus, "reviews", "<img src=x onerror=alert(1)> please review PR 46");
    const sentAt = Date.now();
    await page.locator(`#messages tr[data-id="${id}"]`).waitFor({ timeout: 5000 });
    const seenIn = Date.now() - sentAt;
    expect(seenIn, `seen ${seenIn} ms after the send returned (${sentAt - before} ms to send)`).toBeLessThan(1000);
    // Content is text, never markup.
    expect(await page.locator(`#messages tr[data-id="${id}"] td.preview`).textContent()).toContain("<img src=x");
    expect(await page.locator("#messages img").count()).toBe(0);
    expect(await page.locator('tr[data-queue="reviews"] td[data-count="pending"]').textContent()).toBe("4");

    // A message's answer and trace.
    await page.locator('#tabs button[data-state="archive"]').click();
    await page.locator(`#messages tr[data-id="${made.answered}"]`).click();
    await expect
      .poll(() => page.locator('#detail pre[data-field="result"]').textContent())
      .toBe("LGTM: two nits, approved");
    const events = await Promise.all(
      (await page.locator("#trace li").all()).map((li) => li.getAttribute("data-event")),
    );
    expect(events).toEqual(["sent", "claimed", "answered"]);
    expect(await page.locator("#detail").textContent()).toContain("github.com/acme/web/main");

    // The main view, for the docs and as a test artefact.
    await page.locator('tr[data-queue="deploys"]').click();
    await page.locator('#tabs button[data-state="dead"]').click();
    await page.locator(`#messages tr[data-id="${made.dead}"]`).click();
    await page.locator("#detail .state.dead").waitFor();
    mkdirSync(ARTEFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTEFACTS, "ui-main.png") });
    if (process.env["ABQ_UI_SCREENSHOT"] !== undefined)
      await page.screenshot({ path: process.env["ABQ_UI_SCREENSHOT"] });
    expect(errors).toEqual([]);
    expect(await ui.stop()).toBe(0);
  });

  it("requeues a dead letter from the page, and cancels and purges pending messages (purge only once confirmed)", async () => {
    const bus = makeBus();
    const made = await populate(bus);
    const ui = await startUi(bus);
    const page = await (await launch()).newPage();
    await page.goto(ui.url);
    await page.locator('tr[data-queue="deploys"]').click();
    await page.locator('#tabs button[data-state="dead"]').click();
    const row = page.locator(`#messages tr[data-id="${made.dead}"]`);
    expect(await row.locator("td.reason").textContent()).toContain("health check failed: 502");
    await row.locator('button[data-act="requeue"]').click();
    await row.waitFor({ state: "detached" });
    const shown = parseJson<{ state: string }>((await bus.abq(["show", made.dead, "--json"])).stdout);
    expect(shown.state).toBe("pending");
    const trace = (await bus.abq(["trace", made.dead, "--json"])).stdout;
    expect(trace).toContain('"revived"');

    // Cancel one pending message.
    await page.locator('#tabs button[data-state="requests"]').click();
    const first = page.locator("#messages tr[data-id]").first();
    const cancelled = (await first.getAttribute("data-id"))!;
    await first.locator('button[data-act="cancel"]').click();
    await page.locator(`#messages tr[data-id="${cancelled}"]`).waitFor({ state: "detached" });
    expect(parseJson<{ state: string }>((await bus.abq(["show", cancelled, "--json"])).stdout).state).toBe("withdrawn");

    // Purge: dismissing the dialog changes nothing; accepting it withdraws every pending message.
    const pending = async () =>
      parseJson<StatusJson>((await bus.abq(["status", "--json"])).stdout).channels.find((c) => c.name === "deploys")!
        .pending;
    const left = await pending();
    expect(left).toBe(2); // staging, prod and the revived one, less the cancelled one
    page.once("dialog", (d) => void d.dismiss());
    await page.locator("#purge").click();
    await new Promise((r) => setTimeout(r, 300));
    expect(await pending()).toBe(left);
    page.once("dialog", (d) => void d.accept());
    await page.locator("#purge").click();
    await expect.poll(pending).toBe(0);
    await expect.poll(() => page.locator('tr[data-queue="deploys"] td[data-count="pending"]').textContent()).toBe("0");
  });

  it("a page of another origin cannot requeue, even with the user's cookie in the browser; nor a script without the token", async () => {
    const bus = makeBus();
    const made = await populate(bus);
    const ui = await startUi(bus);
    const browser = await launch();
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(ui.url); // the user is logged in: the browser holds the cookie
    await page.locator("#live:not(.off)").waitFor();
    // An attacker's page on another port of the same host (same site, other origin).
    const evil = createServer((_req, res) => res.end("<!doctype html><title>evil</title>"));
    const evilPort = await new Promise<number>((r) =>
      evil.listen(0, "127.0.0.1", () => r((evil.address() as AddressInfo).port)),
    );
    onTestFinished(() => void evil.close());
    const attacker = await context.newPage();
    await attacker.goto(`http://127.0.0.1:${evilPort}/`);
    const attempts = await attacker.evaluate(
      async ({ target, id }) => {
        const out: string[] = [];
        const body = JSON.stringify({ channel: "deploys", id });
        for (const init of [
          { method: "POST", credentials: "include", headers: { "Content-Type": "application/json" }, body },
          { method: "POST", credentials: "include", mode: "no-cors", headers: { "Content-Type": "text/plain" }, body },
          { method: "GET", credentials: "include", mode: "no-cors" },
        ] as RequestInit[]) {
          out.push(
            await fetch(target, init).then(
              (r) => `${r.type} ${r.status}`,
              (e: Error) => `failed: ${e.message}`,
            ),
          );
        }
        return out;
      },
      { target: `${ui.origin}/api/requeue`, id: made.dead },
    );
    expect(attempts).toHaveLength(3);
    // And the dashboard's own origin, but a script that does not send the token.
    const noToken = await page.evaluate(
      async ({ id }) =>
        (
          await fetch("/api/requeue", {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ channel: "deploys", id }),
          })
        ).status,
      { id: made.dead },
    );
    expect(noToken).toBe(403);
    expect(existsSync(join(bus.home, "channels", "deploys", "dead", `${made.dead}.json`))).toBe(true);
    expect(parseJson<{ state: string }>((await bus.abq(["show", made.dead, "--json"])).stdout).state).toBe("dead");
  });
});
