/**
 * The dashboard's HTTP server: 127.0.0.1 only, every request checked by guard.ts, the page and its
 * assets from page.ts/app.ts (text in the bundle: no files to find at run time), data from api.ts, the
 * live stream from hub.ts. It opens the bus once and shares it between requests.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { openTransport } from "../api/options.ts";
import { resolveIdentity } from "../identity/index.ts";
import { AbqError, isAbqError } from "../protocol/errors.ts";
import { resolveHome } from "../spool/paths.ts";
import { Api, type Body, type Params } from "./api.ts";
import { BusChanges } from "./changes.ts";
import { checkHost, checkWrite, cookieName, type Guard, hasToken, SAFE_HEADERS } from "./guard.ts";
import { Hub } from "./hub.ts";
import type { UiOptions, UiServer } from "./types.ts";
import { APP_JS } from "./app.ts";
import { PAGE_CSS, pageHtml } from "./page.ts";
import { Rates } from "./rates.ts";
import { type Snapshot, takeSnapshot } from "./snapshot.ts";
import { SpoolIndex } from "./spool-index.ts";

/** How often the spool's counts are taken whole, by the library's `status()` (the kernel may drop events). */
const RESYNC_MS = 60_000;
/** Largest action body accepted. */
const MAX_BODY = 16 * 1024;

const STATUS_OF: Partial<Record<string, number>> = {
  E_USAGE: 400,
  E_BAD_NAME: 400,
  E_NO_CHANNEL: 404,
  E_NO_MESSAGE: 404,
  E_CONFLICT: 409,
  E_UNSAFE: 403,
};

type Read = (p: Params) => Promise<unknown>;
type Write = (b: Body) => Promise<unknown>;

export async function serveUi(opts: UiOptions): Promise<UiServer> {
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new AbqError("E_USAGE", `port must be a whole number 0–65535, not ${String(port)}`);
  const agent = (await resolveIdentity({ cwd: opts.cwd })).agent;
  const { transport } = await openTransport(opts, agent);
  const common = { home: opts.home, cwd: opts.cwd, url: opts.url };
  const isSpool = transport.scheme === "file";
  const home = isSpool ? ((transport as { home?: string }).home ?? resolveHome(opts)) : undefined;
  const bus = home ?? (opts.url ?? process.env["ABQ_URL"] ?? "").replace(/\/\/[^@/]*@/, "//***@");
  const rates = new Rates();
  // On the spool, counts come from watched folders; a full `status()` (with its safety checks) every minute.
  const index = home !== undefined ? new SpoolIndex(home, () => hub.poke()) : undefined;
  let lastFull = 0;
  const take = async (): Promise<Snapshot> => {
    const full = Date.now() - lastFull > RESYNC_MS;
    if (full) index?.resync();
    const snap = await takeSnapshot({ transport, common, bus, agent, rates, index, full });
    // Until a full snapshot succeeds (an unsafe folder fails it), every snapshot is a full one.
    if (full) lastFull = Date.now();
    return snap;
  };
  const hub: Hub = new Hub({
    take,
    backstopMs: isSpool ? 2000 : 1000,
    onSnapshot: (s) => changes.sync(s.channels),
    onError: () => {},
  });
  const changes = new BusChanges(transport, home, () => hub.poke(), 1000);
  const api = new Api(transport, common, index);
  const reads: Record<string, Read> = {
    "/api/page": (p) => api.page(p),
    "/api/message": (p) => api.message(p),
    "/api/thread": (p) => api.thread(p),
  };
  const writes: Record<string, Write> = {
    "/api/requeue": (b) => api.requeue(b),
    "/api/cancel": (b) => api.cancel(b),
    "/api/purge": (b) => api.purge(b),
  };
  const guard: Guard = { port, token: randomBytes(32).toString("base64url") };
  const server = createServer((req, res) => {
    handle(req, res, guard, hub, reads, writes).catch((err: unknown) => fail(res, err));
  });
  try {
    guard.port = await listen(server, port);
  } catch (err) {
    changes.close();
    index?.close();
    await Promise.all([hub.close(), transport.close()]);
    throw err;
  }
  return {
    url: `http://127.0.0.1:${guard.port}/?token=${guard.token}`,
    port: guard.port,
    token: guard.token,
    close: async () => {
      changes.close();
      index?.close();
      await hub.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await transport.close();
    },
  };
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE")
        reject(
          new AbqError("E_CONFLICT", `port ${port} is in use`, {
            hint: "pick another with --port, or leave it out for any free port",
          }),
        );
      else if (err.code === "EACCES")
        reject(new AbqError("E_UNSAFE", `not allowed to listen on port ${port}`, { hint: "use a port above 1023" }));
      else reject(err);
    });
    // 127.0.0.1 only: the dashboard is never reachable from another machine.
    server.listen(port, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
  });
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  g: Guard,
  hub: Hub,
  reads: Record<string, Read>,
  writes: Record<string, Write>,
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  const refused = checkHost(req, g);
  if (refused) return send(res, refused.status, { error: { code: "E_REFUSED", message: refused.reason } });
  const write = writes[url.pathname];
  if (write !== undefined) {
    if (req.method !== "POST")
      return send(res, 405, { error: { code: "E_METHOD", message: "actions are POST only" } }, { Allow: "POST" });
    const bad = checkWrite(req, g);
    if (bad) return send(res, bad.status, { error: { code: "E_REFUSED", message: bad.reason } });
    return send(res, 200, await write(await readBody(req)));
  }
  if (req.method !== "GET" && req.method !== "HEAD")
    return send(res, 405, { error: { code: "E_METHOD", message: "only GET here" } }, { Allow: "GET" });
  if (url.pathname === "/" && url.searchParams.has("token")) {
    if (!hasToken(req, g, url.searchParams)) return refuse(res);
    // Trade the URL's token for a cookie and drop it from the address bar (and the history).
    res.writeHead(303, {
      ...SAFE_HEADERS,
      Location: "/",
      "Set-Cookie": `${cookieName(g.port)}=${g.token}; HttpOnly; SameSite=Strict; Path=/`,
    });
    return void res.end();
  }
  if (!hasToken(req, g)) return refuse(res);
  if (url.pathname === "/") return text(res, "text/html", pageHtml(g.token));
  if (url.pathname === "/app.js") return text(res, "text/javascript", APP_JS);
  if (url.pathname === "/app.css") return text(res, "text/css", PAGE_CSS);
  if (url.pathname === "/api/events") return hub.attach(res);
  const read = reads[url.pathname];
  if (read === undefined) return send(res, 404, { error: { code: "E_NOT_FOUND", message: "no such page" } });
  return send(res, 200, await read(url.searchParams));
}

function refuse(res: ServerResponse): void {
  send(res, 403, {
    error: { code: "E_REFUSED", message: "missing or wrong access token: open the URL that abq ui printed" },
  });
}

function readBody(req: IncomingMessage): Promise<Body> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const parts: Buffer[] = [];
    req.on("data", (d: Buffer) => {
      size += d.length;
      if (size > MAX_BODY) req.destroy(new AbqError("E_USAGE", `body over ${MAX_BODY} bytes`));
      else parts.push(d);
    });
    req.on("error", reject);
    req.on("end", () => {
      try {
        const body: unknown = JSON.parse(Buffer.concat(parts).toString("utf8"));
        if (typeof body !== "object" || body === null || Array.isArray(body)) throw new Error("not an object");
        resolve(body as Body);
      } catch {
        reject(new AbqError("E_USAGE", "the body is not a JSON object"));
      }
    });
  });
}

function text(res: ServerResponse, type: string, body: string): void {
  res.writeHead(200, { ...SAFE_HEADERS, "Content-Type": `${type}; charset=utf-8` });
  res.end(body);
}

function send(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { ...SAFE_HEADERS, ...extra, "Content-Type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}

function fail(res: ServerResponse, err: unknown): void {
  if (isAbqError(err)) {
    send(res, STATUS_OF[err.code] ?? 500, { error: { code: err.code, message: err.message, hint: err.hint } });
  } else {
    send(res, 500, { error: { code: "E_INTERNAL", message: err instanceof Error ? err.message : String(err) } });
  }
}
