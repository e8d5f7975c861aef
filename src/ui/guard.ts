/**
 * Who may talk to the dashboard. It listens on 127.0.0.1 only, but any web page the user opens can make
 * the browser send requests there, and DNS rebinding can make such a page look same-origin. So:
 *
 * - Host must be `127.0.0.1:<port>` or `localhost:<port>` (a rebound name such as evil.example fails).
 * - Every request carries the random access token: the printed URL's `?token=` once, which the server
 *   trades for a cookie (`SameSite=Strict`, so another site's requests never carry it), or the
 *   `X-Abq-Token` header.
 * - A write is a POST whose Origin is the dashboard's own, with the token in `X-Abq-Token` (the page
 *   reads it from its own HTML; a cross-site form can neither read it nor set a header) and a JSON body
 *   (a form cannot send one without a CORS preflight, which is never answered).
 */
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

export interface Guard {
  port: number;
  token: string;
}

/** Why a request is refused (HTTP status and a one-line reason), or undefined when it may go on. */
export type Refusal = { status: number; reason: string } | undefined;

export const TOKEN_HEADER = "x-abq-token";

/** The cookie holding the token: one per port, since cookies are shared by every port of a host. */
export function cookieName(port: number): string {
  return `abq_ui_${port}`;
}

function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieToken(req: IncomingMessage, port: number): string | undefined {
  const name = `${cookieName(port)}=`;
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const p = part.trim();
    if (p.startsWith(name)) return p.slice(name.length);
  }
  return undefined;
}

function headerToken(req: IncomingMessage): string | undefined {
  const h = req.headers[TOKEN_HEADER];
  return typeof h === "string" ? h : undefined;
}

/** The origins the dashboard itself has. */
function ownOrigins(port: number): string[] {
  return [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
}

/** Checks Host (against DNS rebinding) and the browser's fetch metadata (against cross-site requests). */
export function checkHost(req: IncomingMessage, g: Guard): Refusal {
  const host = req.headers.host;
  if (host === undefined || !ownOrigins(g.port).includes(`http://${host.toLowerCase()}`))
    return { status: 403, reason: "wrong Host header: open the dashboard through 127.0.0.1 or localhost" };
  const site = req.headers["sec-fetch-site"];
  if (site === "cross-site" || site === "same-site") return { status: 403, reason: "cross-site request refused" };
  const origin = req.headers.origin;
  if (origin !== undefined && !ownOrigins(g.port).includes(origin))
    return { status: 403, reason: "cross-origin request refused" };
  return undefined;
}

/** True when the request carries the token (cookie, header, or `?token=` on the page's URL). */
export function hasToken(req: IncomingMessage, g: Guard, query?: URLSearchParams): boolean {
  return (
    sameToken(cookieToken(req, g.port), g.token) ||
    sameToken(headerToken(req), g.token) ||
    sameToken(query?.get("token") ?? undefined, g.token)
  );
}

/** The extra rules for a write: same-origin POST with the token in its header and a JSON body. */
export function checkWrite(req: IncomingMessage, g: Guard): Refusal {
  if (req.headers.origin === undefined || !ownOrigins(g.port).includes(req.headers.origin))
    return { status: 403, reason: "actions need a same-origin request (Origin header)" };
  if (!sameToken(headerToken(req), g.token))
    return { status: 403, reason: "actions need the access token in the X-Abq-Token header" };
  if (!/^application\/json\b/i.test(req.headers["content-type"] ?? ""))
    return { status: 415, reason: "actions take a JSON body (Content-Type: application/json)" };
  return undefined;
}

/** Headers on every answer: nothing may frame, cache, sniff or leak the page. */
export const SAFE_HEADERS: Readonly<Record<string, string>> = {
  "Cache-Control": "no-store",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};
