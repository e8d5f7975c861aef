/**
 * The page's script, part 1: formatting, the live stream and the channel and agent tables (part 0,
 * building and patching DOM nodes: app-dom.ts; part 2, the message list and the message view:
 * app-views.ts). Plain browser JavaScript kept as text (no build step for the browser, no framework);
 * it builds DOM nodes and sets textContent only, never HTML, so nothing a message contains can run.
 * Written without template literals so it can sit in String.raw.
 */
import { APP_DOM_JS } from "./app-dom.ts";
import { APP_VIEWS_JS } from "./app-views.ts";

const APP_CORE_JS = String.raw`"use strict";
const TOKEN = document.querySelector('meta[name="abq-token"]').content;
const S = { snap: null, sel: null, offset: 0, sig: "", detail: null };
// [abq ls state, tab label, status count]
const TABS = [["requests", "pending", "pending"], ["delayed", "delayed", "delayed"],
  ["processing", "claimed", "processing"], ["responses", "answered", "responses"], ["archive", "done", "archived"],
  ["dead", "dead", "dead"], ["expired", "expired", "expired"], ["rejected", "rejected", "rejected"], ["late", "late", "late"]];
const COLS = [["pending", "pending"], ["processing", "claimed"], ["delayed", "delayed"], ["responses", "answered"],
  ["archived", "done"], ["dead", "dead"], ["rejected", "rejected"], ["expired", "expired"], ["late", "late"]];

function age(ms) {
  if (ms === null || ms === undefined || !isFinite(ms)) return "-";
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m";
  if (s < 86400) return Math.floor(s / 3600) + "h";
  return Math.floor(s / 86400) + "d";
}
function ago(iso) { const t = Date.parse(iso); return isFinite(t) ? age(Date.now() - t) + " ago" : "-"; }
function shortId(id) { return id && id.length > 20 ? id.slice(0, 12) + "…" + id.slice(-6) : String(id || ""); }
function queueLabel(row) { return row.subscriber ? row.name + " (as " + row.subscriber + ")" : row.name; }

function toast(text, bad) {
  const t = $("toast");
  t.textContent = text;
  t.className = bad ? "toast bad" : "toast";
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(function () { t.hidden = true; }, 4000);
}
function answer(r) {
  return r.json().catch(function () { return {}; }).then(function (b) {
    if (!r.ok) throw new Error((b.error && b.error.message) || ("HTTP " + r.status));
    return b;
  });
}
function get(path, params) {
  return fetch(path + "?" + new URLSearchParams(params).toString(), { headers: { "X-Abq-Token": TOKEN } }).then(answer);
}
function post(path, body) {
  return fetch(path, { method: "POST", headers: { "Content-Type": "application/json", "X-Abq-Token": TOKEN },
    body: JSON.stringify(body) }).then(answer);
}

function spark(series) {
  const NS = "http://www.w3.org/2000/svg", w = 84, hh = 22;
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("class", "spark"); svg.setAttribute("width", w); svg.setAttribute("height", hh);
  svg.setAttribute("viewBox", "0 0 " + w + " " + hh);
  if (!series) return svg;
  const max = Math.max.apply(null, [1].concat(series.sent, series.finished));
  [["sent", "s-sent"], ["finished", "s-done"]].forEach(function (p) {
    const xs = series[p[0]], n = xs.length;
    const pts = xs.map(function (v, i) {
      return (i * (w - 2) / (n - 1) + 1).toFixed(1) + "," + (hh - 2 - (v / max) * (hh - 4)).toFixed(1);
    }).join(" ");
    const pl = document.createElementNS(NS, "polyline");
    pl.setAttribute("points", pts); pl.setAttribute("class", p[1]);
    svg.appendChild(pl);
  });
  const sum = function (a) { return a.reduce(function (x, y) { return x + y; }, 0); };
  const title = document.createElementNS(NS, "title");
  title.textContent = sum(series.sent) + " sent, " + sum(series.finished) + " finished in the last 5 minutes";
  svg.appendChild(title);
  return svg;
}

function renderHeader(s) {
  setText($("bus"), s.bus);
  setText($("scheme"), s.scheme === "file" ? "file spool" : s.scheme);
  setText($("me"), "as " + s.agent);
  const total = s.channels.filter(function (c) { return !c.subscriber; });
  const pending = total.reduce(function (n, c) { return n + c.pending; }, 0);
  setText($("totals"), total.length + " channels · " + pending + " pending");
}

function renderChannels(s) {
  const table = draft("channels");
  table.appendChild(h("tr", null, h("th", { text: "Channel" }),
    COLS.map(function (c) { return h("th", { class: "n", text: c[1] }); }),
    h("th", { class: "n", text: "oldest" }), h("th", { text: "activity" })));
  if (s.channels.length === 0) {
    table.appendChild(h("tr", null, h("td", { colspan: 12, class: "empty", text: "No channels yet: abq channel create <name>" })));
  }
  s.channels.forEach(function (c) {
    const sel = S.sel && S.sel.key === c.key;
    table.appendChild(h("tr", { class: "pick" + (sel ? " sel" : "") + (c.subscriber ? " sub-row" : ""),
      "data-queue": c.key, onclick: function () { select(c, "requests"); } },
      h("td", null, queueLabel(c), c.kind === "topic" && !c.subscriber ? h("span", { class: "kind", text: "topic" }) : null),
      COLS.map(function (col) {
        const n = c[col[0]] || 0;
        return h("td", { class: "n " + (n ? "hot-" + col[0] : "zero"), "data-count": col[0], text: n });
      }),
      h("td", { class: "n", "data-oldest": c.oldest_pending_age_ms, text: age(c.oldest_pending_age_ms) }),
      h("td", null, spark(s.rates[c.key]))));
  });
  patch($("channels"), table);
}

function renderAgents(s) {
  const table = draft("agents");
  setText($("agent-count"), s.agents.filter(function (a) { return a.live; }).length + " live of " + s.agents.length);
  table.appendChild(h("tr", null, h("th", { text: "Agent" }), h("th", { text: "Seen" }), h("th", { class: "n", text: "inbox" }),
    h("th", { text: "Working on" })));
  if (s.agents.length === 0) table.appendChild(h("tr", null, h("td", { colspan: 4, class: "empty", text: "No agents known yet." })));
  s.agents.forEach(function (a) {
    table.appendChild(h("tr", { "data-agent": a.agent },
      h("td", { title: a.inbox ? "inbox: " + a.inbox : null }, h("span", { class: "dot" + (a.live ? " on" : "") }), a.agent),
      h("td", { class: "nowrap", text: a.live ? "live" : (a.last_seen ? ago(a.last_seen) : "never") }),
      h("td", { class: "n", text: a.inbox_pending }),
      h("td", null, a.claims.length === 0 ? h("span", { class: "zero", text: "idle" }) : a.claims.map(function (c) {
        return h("a", { class: "claim mono", href: "#", onclick: function (e) { e.preventDefault(); openMessage(c.id, c.channel); } },
          c.channel + " · " + shortId(c.id) + " · try " + c.attempt + " · lease " + age(Date.parse(c.deadline) - Date.now()));
      }))));
  });
  patch($("agents"), table);
}

function onSnapshot(s) {
  S.snap = s;
  $("banner").hidden = true;
  renderHeader(s);
  if (S.sel && !s.channels.some(function (c) { return c.key === S.sel.key; })) S.sel = null;
  if (!S.sel && s.channels.length > 0) {
    const first = s.channels.find(function (c) { return c.pending + c.processing + c.dead > 0; }) || s.channels[0];
    S.sel = { key: first.key, channel: first.name, as: first.subscriber, state: "requests" };
  }
  renderChannels(s);
  renderAgents(s);
  const row = S.sel && s.channels.find(function (c) { return c.key === S.sel.key; });
  const sig = row ? JSON.stringify(COLS.map(function (c) { return row[c[0]]; })) + S.sel.state : "";
  renderTabs(row);
  if (sig !== S.sig) { S.sig = sig; loadPage(); if (S.detail) openMessage(S.detail.id, S.detail.channel, true); }
}

function select(row, state) {
  S.sel = { key: row.key, channel: row.name, as: row.subscriber, state: state };
  S.offset = 0; S.sig = "";
  onSnapshot(S.snap);
}

function connect() {
  const es = new EventSource("/api/events");
  es.addEventListener("snapshot", function (e) {
    setText($("live"), "live"); $("live").className = "live";
    onSnapshot(JSON.parse(e.data));
  });
  es.addEventListener("problem", function (e) {
    const p = JSON.parse(e.data);
    $("banner").textContent = p.code + ": " + p.message; $("banner").hidden = false;
  });
  es.onerror = function () { $("live").textContent = "reconnecting…"; $("live").className = "live off"; };
}
`;

export const APP_JS = `${APP_CORE_JS}\n${APP_DOM_JS}\n${APP_VIEWS_JS}`;
