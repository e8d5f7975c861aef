/**
 * The page's script, part 2 (part 1: app.ts): the tabs and message list of the chosen queue, one page at
 * a time; the message view (request, answer, lease, reason, trace, thread, attachments); and the actions
 * (cancel, requeue from dead, purge), each a POST the server checks (src/ui/guard.ts).
 */
export const APP_VIEWS_JS = String.raw`
const PAGE = 50;
let pageSeq = 0, detailSeq = 0, threadSeq = 0;

function renderTabs(row) {
  const nav = draft("tabs");
  setText($("messages-title"), row ? "Messages in " + queueLabel(row) : "Messages");
  $("purge").hidden = !row || S.sel.state !== "requests" || !row.pending;
  if (row) TABS.forEach(function (t) {
    nav.appendChild(h("button", { class: S.sel.state === t[0] ? "on" : "", "data-state": t[0],
      onclick: function () { S.sel.state = t[0]; S.offset = 0; S.sig = ""; onSnapshot(S.snap); } },
      t[1], h("span", { class: "c", text: row[t[2]] || 0 })));
  });
  patch($("tabs"), nav);
}

function currentCount() {
  const row = S.snap && S.sel && S.snap.channels.find(function (c) { return c.key === S.sel.key; });
  const tab = TABS.find(function (t) { return S.sel && t[0] === S.sel.state; });
  return row && tab ? row[tab[2]] || 0 : 0;
}

function loadPage() {
  const table = $("messages"), pager = $("pager");
  if (!S.sel) { clear(table); clear(pager); return; }
  const seq = ++pageSeq, sel = S.sel;
  const params = { channel: sel.channel, state: sel.state, offset: S.offset, limit: PAGE };
  if (sel.as) params.as = sel.as;
  get("/api/page", params).then(function (p) {
    if (seq !== pageSeq) return;
    renderList(p, sel);
  }).catch(function (e) { if (seq === pageSeq) toast(e.message, true); });
}

function renderList(p, sel) {
  const table = draft("messages");
  const dead = sel.state === "dead", pending = sel.state === "requests";
  const answers = sel.state === "responses" || sel.state === "late";
  table.appendChild(h("tr", null, h("th", { text: "Id" }), h("th", { text: answers ? "Status" : "Type" }),
    h("th", { text: "From" }), h("th", { text: dead ? "Reason" : "Content" }), h("th", { class: "n", text: "Age" }),
    h("th", { class: "n", text: "Tries" }), h("th", null)));
  if (p.entries.length === 0) table.appendChild(h("tr", null, h("td", { colspan: 7, class: "empty", text: "Nothing here." })));
  p.entries.forEach(function (e) {
    const reason = e.reason ? (e.reason.error || e.reason.reason || e.reason.problem || JSON.stringify(e.reason)) : e.problem;
    const acts = [];
    if (pending) acts.push(h("button", { class: "danger", "data-act": "cancel", title: "withdraw it (abq cancel)",
      onclick: function (ev) { ev.stopPropagation(); act("/api/cancel", { channel: sel.channel, id: e.id, as: sel.as }, "Cancelled"); } }, "Cancel"));
    if (dead) acts.push(h("button", { class: "go", "data-act": "requeue", title: "back to pending (abq requeue --from-dead)",
      onclick: function (ev) { ev.stopPropagation(); act("/api/requeue", { channel: sel.channel, id: e.id }, "Requeued"); } }, "Requeue"));
    table.appendChild(h("tr", { class: "pick" + (S.detail && S.detail.id === e.id ? " sel" : ""), "data-id": e.id,
      onclick: function () { openMessage(e.id, sel.channel); } },
      h("td", { class: "mono", title: e.id, text: shortId(e.id) }),
      h("td", { text: e.type || "" }),
      h("td", { text: e.from || "" }),
      dead ? h("td", { class: "reason", title: reason || "", text: reason || "" })
        : h("td", { class: "preview", title: e.preview, text: e.preview || (e.problem ? "(" + e.problem + ")" : "") }),
      h("td", { class: "n", title: e.timestamp || e.mtime, text: ago(e.timestamp || e.mtime) }),
      h("td", { class: "n", text: e.attempts || "" }),
      h("td", null, acts)));
  });
  patch($("messages"), table);
  const total = currentCount(), pager = draft("pager");
  const from = p.entries.length ? p.offset + 1 : 0;
  pager.appendChild(h("span", { text: from + "–" + (p.offset + p.entries.length) + " of " + total + ", newest first" }));
  pager.appendChild(h("button", { disabled: p.offset === 0 ? "" : null,
    onclick: function () { S.offset = Math.max(0, S.offset - PAGE); loadPage(); } }, "‹ Newer"));
  const more = p.offset + p.entries.length < total;
  const capped = p.max_window !== null && p.offset + PAGE >= p.max_window;
  pager.appendChild(h("button", { disabled: !more || capped ? "" : null,
    onclick: function () { S.offset += PAGE; loadPage(); } }, "Older ›"));
  if (more && capped) pager.appendChild(h("span", { text: "deeper: abq ls or abq search" }));
  patch($("pager"), pager);
}

function act(path, body, done) {
  return post(path, body).then(function (r) {
    toast(done + (r.purged !== undefined ? " " + r.purged + " messages" : " " + shortId(body.id)));
  }).catch(function (e) { toast(e.message, true); });
}

function when(iso) {
  const t = Date.parse(iso);
  if (!isFinite(t)) return iso;
  const d = Date.now() - t;
  return new Date(t).toLocaleString() + (d >= 0 ? " (" + age(d) + " ago)" : " (in " + age(-d) + ")");
}

function kv(pairs) {
  return h("dl", { class: "kv" }, pairs.filter(function (p) { return p[1] !== undefined && p[1] !== null && p[1] !== ""; })
    .map(function (p) { return [h("dt", { text: p[0] }), h("dd", { "data-field": p[0], text: p[1] })]; }));
}

function openMessage(id, channel, quiet) {
  const seq = ++detailSeq;
  S.detail = { id: id, channel: channel };
  $("close-detail").hidden = false;
  get("/api/message", { id: id, channel: channel }).then(function (m) {
    if (seq === detailSeq) renderDetail(m);
  }).catch(function (e) { if (seq === detailSeq && !quiet) toast(e.message, true); });
}

function renderDetail(m) {
  const d = draft("detail"), q = m.request || {}, r = m.response, id = q.id || S.detail.id;
  d.appendChild(h("div", null, h("code", { text: id }), h("span", { class: "state " + m.state, "data-state": m.state, text: m.state }),
    h("span", { class: "sub", text: "  in " + m.channel + (m.subscriber ? " (as " + m.subscriber + ")" : "") })));
  d.appendChild(h("h3", { text: "Request" }));
  d.appendChild(kv([["type", q.type], ["from", q.from && q.from.agent], ["to", q.to], ["sent", when(q.timestamp)],
    ["ttl", q.ttl ? q.ttl + " s" : null], ["reply to", q.reply_to], ["in reply to", q.in_reply_to], ["thread", q.thread],
    ["attempts", q.attempts]]));
  d.appendChild(h("pre", { "data-field": "content", text: q.content === undefined ? "(unreadable)" : q.content }));
  d.appendChild(h("h3", { text: "Answer" }));
  if (r) {
    d.appendChild(kv([["status", r.status], ["by", r.from && r.from.agent], ["at", when(r.timestamp)], ["error", r.error]]));
    d.appendChild(h("pre", { "data-field": "result", text: r.result }));
  } else d.appendChild(h("p", { class: "empty", text: "No answer yet." }));
  if (m.lease) {
    d.appendChild(h("h3", { text: "Lease" }));
    d.appendChild(kv([["owner", m.lease.owner.agent], ["process", m.lease.owner.pid + " on " + m.lease.owner.host],
      ["claimed", when(m.lease.claimed_at)], ["until", when(m.lease.deadline)], ["attempt", m.lease.attempt]]));
  }
  if (m.reason) {
    d.appendChild(h("h3", { text: "Why it is " + m.state }));
    d.appendChild(h("div", { class: "reason-box" }, kv(Object.keys(m.reason).filter(function (k) { return k !== "id"; }).map(function (k) {
      const v = m.reason[k];
      return [k.replace(/_/g, " "), typeof v === "string" ? v : JSON.stringify(v)];
    }))));
  }
  if (m.state === "dead") d.appendChild(h("button", { class: "go", onclick: function () { act("/api/requeue", { channel: m.channel, id: q.id }, "Requeued"); } }, "Requeue from dead"));
  d.appendChild(h("h3", { text: "Trace" }));
  if (m.trace) d.appendChild(h("ol", { class: "trace", id: "trace" }, m.trace.map(function (e) {
    return h("li", { class: "ev-" + e.event, "data-event": e.event }, h("span", { class: "t", title: e.at, text: new Date(e.at).toLocaleTimeString() }),
      h("b", { text: e.event }), " by " + e.actor + (e.attempt ? " · try " + e.attempt : "") + (e.detail ? " · " + e.detail : ""));
  })));
  else d.appendChild(h("p", { class: "empty", text: m.trace_note || "No trace." }));
  d.appendChild(h("h3", { text: "Attachments" }));
  if (m.attachments.length === 0) d.appendChild(h("p", { class: "empty", text: "None." }));
  else d.appendChild(h("ul", { id: "attachments" }, m.attachments.map(function (a) {
    return h("li", { text: typeof a === "object" && a ? (a.name || a.id || JSON.stringify(a)) + (a.size !== undefined ? " (" + a.size + " bytes)" : "") : String(a) });
  })));
  d.appendChild(h("h3", { text: "Thread" }));
  // data-keep: a conversation the user opened stays open through updates of the same message, and is
  // fetched again with them (an answer changes its states).
  const box = h("div", { id: "thread", "data-key": id, "data-keep": "" }, h("button", { onclick: function () { loadThread(id, box); } }, "Show the conversation"));
  d.appendChild(box);
  d.appendChild(h("p", { class: "sub", text: m.files.join("\n") }));
  patch($("detail"), d);
  const shown = $("thread");
  if (shown && shown.opened) loadThread(id, shown);
}

// box.opened (a property, which patch leaves alone) marks a conversation the user asked to see.
function loadThread(id, box) {
  const seq = ++threadSeq;
  box.opened = true;
  get("/api/thread", { id: id }).then(function (t) {
    if (seq !== threadSeq) return;
    const list = document.createElement("div");
    list.appendChild(h("ol", { class: "trace" }, t.messages.map(function (m) {
      return h("li", null, h("a", { href: "#", class: "mono", onclick: function (e) { e.preventDefault(); openMessage(m.request.id, m.channel); } },
        shortId(m.request.id)), " " + m.channel + " · " + m.state + " · " + m.request.from.agent + ": " + m.request.content.slice(0, 80));
    })));
    patch(box, list);
  }).catch(function (e) { if (seq === threadSeq) toast(e.message, true); });
}

$("purge").addEventListener("click", function () {
  const sel = S.sel, n = currentCount();
  if (!sel || !confirm("Purge " + n + " pending message(s) of " + sel.channel + "? They are archived as withdrawn.")) return;
  act("/api/purge", { channel: sel.channel, as: sel.as, confirm: sel.channel }, "Purged");
});
$("close-detail").addEventListener("click", function () {
  S.detail = null; $("close-detail").hidden = true;
  detailSeq++; threadSeq++; // a view or conversation still on its way is not wanted any more
  clear($("detail")).appendChild(h("p", { class: "empty", text: "Click a message to see its answer, lease and trace." }));
});
setInterval(function () { if (S.snap) renderAgents(S.snap); }, 5000);
connect();
`;
