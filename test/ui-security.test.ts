/**
 * `abq ui` against an attacker: requests with a rebound Host, from another origin or site, without the
 * token, actions by GET or as a form post: each refused (403, 405, 415) with nothing changed on disk. And
 * the process: 127.0.0.1 only, SIGINT ends it with exit 0 and frees the port, a port in use is exit 7.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmdirSync, symlinkSync } from "node:fs";
import { connect, createServer } from "node:net";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeBus, parseJson, until } from "./helpers.ts";
import { follow } from "./fixtures/ui/events.ts";
import { http, login } from "./fixtures/ui/http.ts";
import { deadLetter, sendJson } from "./fixtures/ui/populate.ts";
import { startUi } from "./fixtures/ui/serve.ts";

const json = { "Content-Type": "application/json" };

describe("abq ui: who may use it", () => {
  it("refuses wrong Hosts, other origins and sites, missing tokens, GET actions and form posts; changes nothing", async () => {
    const bus = makeBus();
    const dead = await deadLetter(bus, "jobs", "build 7", "compiler crashed");
    const deadFile = join(bus.home, "channels", "jobs", "dead", `${dead}.json`);
    const ui = await startUi(bus);
    const { port, token, origin } = ui;

    // The token: none, a wrong one, then the right one traded for a cookie.
    expect((await http(port, "/")).status).toBe(403);
    expect((await http(port, "/?token=nope")).status).toBe(403);
    expect((await http(port, "/api/page?channel=jobs&state=dead")).status).toBe(403);
    expect((await http(port, `/?token=${token.slice(0, -1)}`)).status).toBe(403);
    const cookie = await login(port, token);
    expect(cookie).toMatch(new RegExp(`^abq_ui_${port}=`));
    const page = await http(port, "/api/page?channel=jobs&state=dead", { headers: { Cookie: cookie } });
    expect(page.status).toBe(200);
    expect(parseJson<{ entries: Array<{ id: string }> }>(page.body).entries.map((e) => e.id)).toEqual([dead]);
    expect(page.headers["content-security-policy"]).toContain("frame-ancestors 'none'");

    // DNS rebinding: the right cookie, but the browser thinks it talks to another name.
    for (const host of [
      `evil.example:${port}`,
      `127.0.0.1:${port + 1}`,
      "127.0.0.1",
      `localhost.evil.example:${port}`,
    ]) {
      const r = await http(port, "/api/page?channel=jobs", { headers: { Cookie: cookie, Host: host } });
      expect(r.status, host).toBe(403);
      expect(r.body).toContain("Host");
    }
    // Reads from another origin or site are refused too.
    const foreign: Array<Record<string, string>> = [
      { Origin: "http://evil.example" },
      { "Sec-Fetch-Site": "cross-site" },
      { "Sec-Fetch-Site": "same-site" },
    ];
    for (const headers of foreign) {
      expect((await http(port, "/api/page?channel=jobs", { headers: { Cookie: cookie, ...headers } })).status).toBe(
        403,
      );
    }

    const body = JSON.stringify({ channel: "jobs", id: dead });
    const good = { ...json, Cookie: cookie, Origin: origin, "X-Abq-Token": token };
    const refused: Array<[string, { method?: string; headers: Record<string, string> }, number]> = [
      ["GET of an action", { headers: good }, 405],
      ["no token header (cookie only)", { method: "POST", headers: { ...json, Cookie: cookie, Origin: origin } }, 403],
      ["wrong token", { method: "POST", headers: { ...good, "X-Abq-Token": "x".repeat(43) } }, 403],
      ["another origin", { method: "POST", headers: { ...good, Origin: "http://evil.example" } }, 403],
      ["another port's origin", { method: "POST", headers: { ...good, Origin: `http://127.0.0.1:${port + 1}` } }, 403],
      ["no origin", { method: "POST", headers: { ...json, Cookie: cookie, "X-Abq-Token": token } }, 403],
      ["rebound host", { method: "POST", headers: { ...good, Host: `evil.example:${port}` } }, 403],
      [
        "a form post",
        { method: "POST", headers: { ...good, "Content-Type": "application/x-www-form-urlencoded" } },
        415,
      ],
    ];
    for (const [what, opts, status] of refused) {
      const r = await http(port, "/api/requeue", { ...opts, body: opts.method === "POST" ? body : undefined });
      expect(r.status, `${what}: ${r.body}`).toBe(status);
      expect(parseJson<{ error: { message: string } }>(r.body).error.message).not.toContain("\n");
      if (status === 405) expect(r.headers["allow"]).toBe("POST");
      expect(existsSync(deadFile), what).toBe(true);
    }
    expect(parseJson<{ state: string }>((await bus.abq(["show", dead, "--json"])).stdout).state).toBe("dead");

    // Bad bodies: one-line errors, nothing changed.
    for (const [b, status] of [
      ["not json", 400],
      ["[1,2]", 400],
      [JSON.stringify({ channel: "jobs", id: "req_\u0000" }), 404],
      [JSON.stringify({ channel: "../../etc", id: dead }), 400],
      [JSON.stringify({ channel: "jobs", id: 42 }), 400],
    ] as const) {
      const r = await http(port, "/api/requeue", { method: "POST", headers: good, body: b });
      expect(r.status, `${b}: ${r.body}`).toBe(status);
      expect(existsSync(deadFile)).toBe(true);
    }
    const huge = await http(port, "/api/cancel", { method: "POST", headers: good, body: "x".repeat(100_000) }).catch(
      (err: NodeJS.ErrnoException) => ({ status: err.code ?? "error" }),
    );
    expect(huge.status).not.toBe(200);
    const purge = await http(port, "/api/purge", {
      method: "POST",
      headers: good,
      body: JSON.stringify({ channel: "jobs" }),
    });
    expect(purge.status).toBe(400);
    expect(purge.body).toContain("confirm");

    // And the real thing works.
    const ok = await http(port, "/api/requeue", { method: "POST", headers: good, body });
    expect(ok.status, ok.body).toBe(200);
    expect(existsSync(deadFile)).toBe(false);
    expect(parseJson<{ state: string }>((await bus.abq(["show", dead, "--json"])).stdout).state).toBe("pending");
  });
});

describe("abq ui: the process", () => {
  it("listens on 127.0.0.1 only; SIGINT ends it with exit 0 and frees the port", async () => {
    const bus = makeBus();
    await sendJson(bus, "jobs", "one");
    const ui = await startUi(bus);
    const other = Object.values(networkInterfaces())
      .flat()
      .find((i) => i !== undefined && i.family === "IPv4" && !i.internal)?.address;
    if (other !== undefined) {
      const reached = await new Promise<boolean>((resolve) => {
        const c = connect({ host: other, port: ui.port });
        c.once("connect", () => (c.destroy(), resolve(true)));
        c.once("error", () => resolve(false));
      });
      expect(reached, `reachable on ${other}`).toBe(false);
    }
    expect(await ui.stop()).toBe(0);
    expect(ui.stderr()).toBe("");
    // The port is free again.
    await new Promise<void>((resolve, reject) => {
      const s = createServer().once("error", reject);
      s.listen(ui.port, "127.0.0.1", () => s.close(() => resolve()));
    });
  });

  it("a port in use is one line and exit 7; a port out of range is exit 2", async () => {
    const bus = makeBus();
    const taken = createServer();
    const port = await new Promise<number>((r) =>
      taken.listen(0, "127.0.0.1", () => r((taken.address() as { port: number }).port)),
    );
    try {
      const r = await bus.abq(["ui", "--port", String(port)]);
      expect(r.code).toBe(7);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain(`port ${port} is in use`);
    } finally {
      taken.close();
    }
    for (const bad of ["65536", "-1", "http", "1e3"]) {
      const r = await bus.abq(["ui", "--port", bad]);
      expect(r.code, bad).toBe(2);
    }
  });
});

describe("abq ui: a hostile bus", () => {
  it("a state folder replaced by a symlink is reported, never shown: every update and page says E_UNSAFE", async () => {
    const bus = makeBus();
    await sendJson(bus, "jobs", "one");
    const outside = join(bus.root, "elsewhere");
    mkdirSync(outside);
    const requests = join(bus.home, "channels", "jobs", "requests");
    for (const f of readdirSync(requests)) renameSync(join(requests, f), join(outside, f));
    rmdirSync(requests);
    symlinkSync(outside, requests);
    const ui = await startUi(bus);
    const stream = follow(ui.port, ui.token);
    await until(() => stream.problems.length >= 2, 10_000);
    expect(stream.snapshots).toEqual([]);
    expect(stream.problems.every((p) => p.code === "E_UNSAFE" && p.message.includes("symbolic link"))).toBe(true);
    const page = await http(ui.port, "/api/page?channel=jobs", { headers: { "X-Abq-Token": ui.token } });
    expect(page.status).toBe(403);
    expect(parseJson<{ error: { code: string } }>(page.body).error.code).toBe("E_UNSAFE");
    expect(await ui.stop()).toBe(0);
  });
});
