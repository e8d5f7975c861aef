/**
 * The dashboard's page and style sheet, as text in the bundle (no files to locate between dist/bin and
 * dist/src). The page is a shell: app.ts fills it from the live stream, with DOM nodes and textContent
 * only, so message content can never become markup. No framework, no external resources.
 */

/** The page, with the access token the script sends with each action (X-Abq-Token). */
export function pageHtml(token: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="abq-token" content="${token}">
<title>abq</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header>
  <span class="brand">abq</span>
  <span id="bus" class="bus"></span>
  <span id="scheme" class="badge"></span>
  <span class="grow"></span>
  <span id="me" class="me"></span>
  <span id="live" class="live off">connecting…</span>
</header>
<div id="banner" class="banner" hidden></div>
<main>
  <section class="card wide" id="channels-card">
    <div class="card-head"><h2>Channels</h2><span id="totals" class="sub"></span><span class="grow"></span>
      <span class="legend"><i class="k-sent"></i>sent <i class="k-done"></i>finished, per 10 s over 5 min</span></div>
    <table id="channels" class="grid"></table>
  </section>
  <section class="card" id="agents-card">
    <div class="card-head"><h2>Agents</h2><span id="agent-count" class="sub"></span></div>
    <table id="agents" class="grid"></table>
  </section>
  <section class="card" id="messages-card">
    <div class="card-head"><h2 id="messages-title">Messages</h2><span class="grow"></span>
      <button id="purge" class="danger" hidden>Purge pending…</button></div>
    <nav id="tabs" class="tabs"></nav>
    <table id="messages" class="grid list"></table>
    <div id="pager" class="pager"></div>
  </section>
  <section class="card" id="detail-card">
    <div class="card-head"><h2>Message</h2><span class="grow"></span><button id="close-detail" hidden>Close</button></div>
    <div id="detail"><p class="empty">Click a message to see its answer, lease and trace.</p></div>
  </section>
</main>
<div id="toast" class="toast" hidden></div>
</body>
</html>
`;
}

export const PAGE_CSS = `
:root { --fg:#1f2430; --mute:#6b7280; --faint:#c3c8d1; --line:#e6e8ec; --bg:#f5f6f8; --card:#fff;
  --blue:#2563eb; --green:#16a34a; --red:#dc2626; --amber:#d97706; --violet:#7c3aed; }
* { box-sizing: border-box; }
body { margin:0; font:13px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--fg); background:var(--bg); }
code, .mono, pre { font-family: ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace; font-size:12px; }
header { display:flex; align-items:center; gap:12px; padding:10px 18px; background:#141a26; color:#e5e7eb; }
.brand { font-weight:700; font-size:16px; letter-spacing:.5px; color:#fff; }
.bus { font-family: ui-monospace,Menlo,monospace; color:#9ca3af; font-size:12px; }
.badge { padding:1px 8px; border-radius:10px; background:#263046; color:#a5b4fc; font-size:11px; text-transform:uppercase; }
.grow { flex:1; }
.me { color:#9ca3af; font-size:12px; }
.live { font-size:12px; padding:2px 10px; border-radius:10px; background:#14532d; color:#bbf7d0; }
.live.off { background:#4b1d1d; color:#fecaca; }
.banner { background:#fef3c7; color:#78350f; padding:6px 18px; border-bottom:1px solid #fcd34d; }
main { display:grid; grid-template-columns: minmax(0,8fr) minmax(0,5fr); gap:14px; padding:14px 18px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:10px 12px 12px; min-width:0; overflow-x:auto; }
.card.wide { grid-column: 1 / 2; }
#agents-card { grid-column: 2 / 3; }
.card-head { display:flex; align-items:baseline; gap:10px; margin-bottom:6px; }
h2 { font-size:13px; margin:0; text-transform:uppercase; letter-spacing:.6px; color:#374151; }
h3 { font-size:12px; margin:14px 0 4px; text-transform:uppercase; letter-spacing:.5px; color:var(--mute); }
.sub { color:var(--mute); font-size:12px; }
.legend { color:var(--mute); font-size:11px; }
.legend i { display:inline-block; width:10px; height:3px; margin:0 4px 2px 8px; vertical-align:middle; }
.k-sent { background:var(--blue); } .k-done { background:var(--green); }
table.grid { width:100%; border-collapse:collapse; }
.grid th { text-align:left; font-weight:600; color:var(--mute); font-size:10.5px; text-transform:uppercase;
  letter-spacing:.2px; padding:4px 5px; border-bottom:1px solid var(--line); white-space:nowrap; }
.grid td { padding:5px 5px; border-bottom:1px solid #f0f1f4; vertical-align:top; }
.grid td:first-child, .grid td.nowrap { white-space:nowrap; }
.grid th.n, .grid td.n { text-align:right; font-variant-numeric: tabular-nums; }
.grid tr.pick { cursor:pointer; }
.grid tr.pick:hover td { background:#f7f9fc; }
.grid tr.sel td { background:#eef4ff; }
td.zero { color:var(--faint); }
td.hot-pending { color:var(--blue); font-weight:600; }
td.hot-processing { color:var(--violet); font-weight:600; }
td.hot-dead, td.hot-rejected { color:var(--red); font-weight:600; }
td.hot-delayed, td.hot-late, td.hot-expired { color:var(--amber); font-weight:600; }
td.hot-responses, td.hot-archived { color:var(--green); font-weight:600; }
.sub-row td:first-child { padding-left:18px; color:var(--mute); }
.kind { font-size:10px; color:var(--violet); border:1px solid #ddd6fe; border-radius:8px; padding:0 5px; margin-left:4px; }
svg.spark { display:block; }
svg.spark polyline { fill:none; stroke-width:1.5; }
svg.spark .s-sent { stroke:var(--blue); } svg.spark .s-done { stroke:var(--green); }
.dot { display:inline-block; width:8px; height:8px; border-radius:50%; margin-right:5px; background:var(--faint); }
.dot.on { background:var(--green); }
.claim { display:block; font-size:12px; }
.tabs { display:flex; flex-wrap:wrap; gap:4px; margin:2px 0 8px; }
.tabs button { border:1px solid var(--line); background:#fafbfc; border-radius:14px; padding:2px 10px; font-size:12px; cursor:pointer; color:#374151; }
.tabs button.on { background:#1f2937; color:#fff; border-color:#1f2937; }
.tabs button .c { color:var(--mute); margin-left:4px; } .tabs button.on .c { color:#d1d5db; }
.list td.preview { max-width:360px; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; color:#374151; }
.list td.reason { color:var(--red); font-size:12px; max-width:260px; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
button { font:inherit; font-size:12px; border:1px solid #cfd4dc; background:#fff; border-radius:5px; padding:2px 9px; cursor:pointer; }
button:hover { background:#f3f4f6; }
button.danger { color:var(--red); border-color:#fca5a5; }
button.go { color:var(--blue); border-color:#93c5fd; }
.pager { display:flex; gap:8px; align-items:center; justify-content:flex-end; margin-top:8px; color:var(--mute); font-size:12px; }
.empty { color:var(--mute); margin:10px 0; }
.kv { display:grid; grid-template-columns: 110px minmax(0,1fr); gap:2px 10px; }
.kv dt { color:var(--mute); } .kv dd { margin:0; overflow-wrap:anywhere; }
pre { background:#f7f8fa; border:1px solid var(--line); border-radius:6px; padding:8px; margin:4px 0; white-space:pre-wrap; overflow-wrap:anywhere; max-height:260px; overflow:auto; }
.reason-box { background:#fef2f2; border:1px solid #fecaca; border-radius:6px; padding:6px 8px; margin-bottom:6px; }
.state { display:inline-block; padding:0 8px; border-radius:9px; font-size:11px; background:#e5e7eb; margin-left:6px; }
.state.done, .state.answered { background:#dcfce7; color:#166534; }
.state.dead, .state.rejected { background:#fee2e2; color:#991b1b; }
.state.pending { background:#dbeafe; color:#1e40af; } .state.claimed { background:#ede9fe; color:#5b21b6; }
ol.trace { list-style:none; padding:0; margin:0; border-left:2px solid var(--line); }
ol.trace li { position:relative; padding:2px 0 6px 14px; }
ol.trace li::before { content:""; position:absolute; left:-5px; top:8px; width:8px; height:8px; border-radius:50%; background:var(--blue); }
ol.trace li.ev-dead::before, ol.trace li.ev-terminated::before { background:var(--red); }
ol.trace li.ev-answered::before, ol.trace li.ev-acked::before { background:var(--green); }
ol.trace .t { color:var(--mute); font-size:11px; margin-right:6px; }
.toast { position:fixed; bottom:18px; right:18px; background:#111827; color:#fff; padding:8px 14px; border-radius:6px; max-width:480px; }
.toast.bad { background:#7f1d1d; }
@media (max-width: 1000px) { main { grid-template-columns: 1fr; } .card.wide, #agents-card { grid-column:auto; } }
`;
