/**
 * The dashboard updates in place: a live update (a snapshot every 2 s, and one per change) changes the
 * text that changed and keeps every element the user may be pressing, hovering, focusing or has opened.
 * When it rebuilt its tables instead, a click whose press and release straddled an update went to the
 * table, not the button (the browser sends `click` to the nearest element both were on), and was lost.
 */
import { describe, expect, it } from "vitest";
import { makeBus } from "./helpers.ts";
import { populate, sendJson } from "./fixtures/ui/populate.ts";
import { browserAvailable, launch, startUi } from "./fixtures/ui/serve.ts";

describe.runIf(browserAvailable())("abq ui: live updates in place", () => {
  it("a click pressed before an update and released after it still lands; open things stay open", async () => {
    const bus = makeBus();
    const made = await populate(bus);
    const ui = await startUi(bus);
    const page = await (await launch()).newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(ui.url);
    await page.locator('tr[data-queue="reviews"]').click();
    const pendingTab = page.locator('#tabs button[data-state="requests"] .c');
    // Updates come within a second; 5 s leaves room for a loaded CI machine.
    const soon = { timeout: 5000 };
    await expect.poll(() => pendingTab.textContent(), soon).toBe("3");

    // Mark the elements a user holds; an update must keep them (a JS property, which no re-render copies).
    const mark = (sel: string) => page.locator(sel).evaluate((el) => ((el as { mark?: boolean }).mark = true));
    const marked = (sel: string) => page.locator(sel).evaluate((el) => (el as { mark?: boolean }).mark === true);
    const held = [
      '#tabs button[data-state="archive"]',
      'tr[data-queue="reviews"]',
      'tr[data-agent="github.com/acme/web/main"]',
    ];
    for (const sel of held) await mark(sel);

    // Press on the archive tab, let a send from the CLI update the page, then release.
    const tab = (await page.locator('#tabs button[data-state="archive"]').boundingBox())!;
    await page.mouse.move(tab.x + tab.width / 2, tab.y + tab.height / 2);
    await page.mouse.down();
    await sendJson(bus, "reviews", "one more, while the button is held");
    await expect.poll(() => pendingTab.textContent(), soon).toBe("4");
    await page.mouse.up();
    await page.locator(`#messages tr[data-id="${made.answered}"]`).waitFor({ timeout: 5000 });
    for (const sel of held) expect(await marked(sel), `${sel} was rebuilt by the update`).toBe(true);

    // An opened message with its conversation shown stays as it is through updates.
    await page.locator(`#messages tr[data-id="${made.answered}"]`).click();
    await page.locator("#thread button").click();
    await page.locator("#thread li").first().waitFor();
    const thread = await page.locator("#thread").textContent();
    await mark("#detail pre[data-field=result]");
    // The counts change, so the page fetches the message again and redraws its view.
    const refetched = page.waitForResponse((r) => r.url().includes("/api/message?"));
    await sendJson(bus, "reviews", "and another");
    await refetched;
    const pending = page.locator('tr[data-queue="reviews"] td[data-count="pending"]');
    await expect.poll(() => pending.textContent(), soon).toBe("5");
    await page.evaluate("new Promise((r) => requestAnimationFrame(r))"); // the answer is drawn
    expect(await page.locator("#thread").textContent()).toBe(thread);
    expect(await marked("#detail pre[data-field=result]")).toBe(true);
    expect(await page.locator('#tabs button[data-state="archive"]').getAttribute("class")).toBe("on");
  });
});

describe.runIf(browserAvailable())("abq ui: rows that go and conversations that change", () => {
  it("a row removed above keeps the others in place (focus stays); an open conversation follows an answer", async () => {
    const bus = makeBus();
    await populate(bus);
    const ui = await startUi(bus);
    const page = await (await launch()).newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(ui.url);
    const soon = { timeout: 5000 };
    await page.locator('tr[data-queue="reviews"]').click();
    const rows = page.locator("#messages tr[data-id]");
    await expect.poll(() => rows.count(), soon).toBe(3);
    const ids = await Promise.all((await rows.all()).map((r) => r.getAttribute("data-id")));
    const [newest, , oldest] = ids as [string, string, string];

    // Focus Cancel on the bottom row, and watch what the list takes out; the top row is withdrawn from the
    // CLI. Only that row may leave the page: the others stay put (moved, even back to the same place, a
    // row loses the focus, a text selection and a press on its buttons), so the focus is where it was.
    const button = `#messages tr[data-id="${oldest}"] button[data-act="cancel"]`;
    await page.locator(button).focus();
    // (Browser code as text: the tests are type-checked without the DOM's types.)
    await page.evaluate(`{
      window.removed = [];
      new MutationObserver((records) => {
        for (const r of records)
          r.removedNodes.forEach((n) => window.removed.push(n.getAttribute ? n.getAttribute("data-id") : n.nodeName));
      }).observe(document.getElementById("messages"), { childList: true });
    }`);
    expect((await bus.abq(["cancel", "reviews", newest])).code).toBe(0);
    await page.locator(`#messages tr[data-id="${newest}"]`).waitFor({ state: "detached", ...soon });
    expect(await page.evaluate("window.removed")).toEqual([newest]);
    expect(await page.evaluate(`document.activeElement === document.querySelector('${button}')`)).toBe(true);
    await page.locator(button).click();
    await page.locator(`#messages tr[data-id="${oldest}"]`).waitFor({ state: "detached", ...soon });
    const shown = await bus.abq(["show", oldest, "--json"]);
    expect(JSON.parse(shown.stdout)).toMatchObject({ state: "withdrawn" });

    // Open the one left, show its conversation, then an agent claims and answers it.
    const left = ids[1]!;
    await page.locator(`#messages tr[data-id="${left}"]`).click();
    await page.locator("#thread button").click();
    const thread = page.locator("#thread li");
    await expect.poll(() => thread.first().textContent(), soon).toContain("reviews · pending");
    const claimed = await bus.abq(["recv", "reviews", "--json"]);
    expect(JSON.parse(claimed.stdout)).toMatchObject({ id: left });
    expect((await bus.abq(["respond", "reviews", left, "--result", "looks fine"])).code).toBe(0);
    await expect.poll(() => thread.first().textContent(), soon).not.toContain("pending");
    expect(await page.locator('#detail pre[data-field="result"]').textContent()).toBe("looks fine");
  });
});
