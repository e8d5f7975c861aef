/**
 * The page's script, part 0: building DOM nodes (`h`, text only, never HTML) and putting a freshly built
 * view in place by updating the one on screen (`patch`) instead of replacing it.
 *
 * Why update in place: the page is redrawn on every live update (each change, and every 2 s). Replacing
 * the elements loses what the user holds: a click whose press and release straddle an update goes to
 * the table (the browser sends `click` to the nearest element both were on) and is lost; focus, hover
 * and text selection reset; an opened conversation closes. `patch` keeps every element whose key (its
 * data-queue, data-agent, data-id, data-state or data-key) or, unkeyed, whose position and tag match,
 * and changes only the text, attributes and handlers that differ. An element marked `data-keep` keeps
 * its insides while its key is the same (the user opened it; the update has no news for it).
 */
export const APP_DOM_JS = String.raw`
function $(id) { return document.getElementById(id); }
function add(el, c) {
  if (c === undefined || c === null || c === false) return;
  if (Array.isArray(c)) { c.forEach(function (x) { add(el, x); }); return; }
  el.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
}
// Handlers are properties (el.onclick), not listeners, so patch can hand an element the new one.
function h(tag, props) {
  const el = document.createElement(tag);
  for (const k in props || {}) {
    const v = props[k];
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") el.textContent = String(v);
    else if (k === "class") el.className = v;
    else if (k.slice(0, 2) === "on") el[k] = v;
    else el.setAttribute(k, String(v));
  }
  for (let i = 2; i < arguments.length; i++) add(el, arguments[i]);
  return el;
}
function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }
// A detached element like the one with this id, to build a view in before patch puts it in place.
function draft(id) { return document.createElement($(id).tagName); }
// Sets a text only when it differs (rewriting the same text still clears a selection in it).
function setText(el, text) { if (el.textContent !== text) el.textContent = text; }

const KEYS = ["data-queue", "data-agent", "data-id", "data-state", "data-key"];
function keyOf(n) {
  if (n.nodeType !== 1) return "";
  for (let i = 0; i < KEYS.length; i++) { const v = n.getAttribute(KEYS[i]); if (v !== null) return KEYS[i] + "=" + v; }
  return "";
}
function alike(a, b) { return a.nodeType === b.nodeType && a.nodeName === b.nodeName && keyOf(a) === keyOf(b); }

// Makes live's children what fresh's are, keeping the live elements that match.
function patch(live, fresh) {
  const kids = Array.prototype.slice.call(fresh.childNodes);
  const wanted = new Set(kids.map(keyOf));
  const keyed = new Map();
  // Keyed children that are gone leave first: removed later, they would make every kept one after them
  // move (taken out and put back, which drops a press, focus or selection on it).
  Array.prototype.slice.call(live.childNodes).forEach(function (n) {
    const k = keyOf(n);
    if (k && !wanted.has(k)) live.removeChild(n);
    else if (k) keyed.set(k, n);
  });
  kids.forEach(function (want, i) {
    const k = keyOf(want), at = live.childNodes[i] || null;
    const have = k ? keyed.get(k) : at;
    if (k) keyed.delete(k); // a key twice over: the second one is drawn anew
    if (have && alike(have, want)) {
      update(have, want);
      if (have !== at) live.insertBefore(have, at);
    } else live.insertBefore(want, at);
  });
  while (live.childNodes.length > kids.length) live.removeChild(live.lastChild);
  return live;
}
function update(live, fresh) {
  if (live.nodeType !== 1) { if (live.nodeValue !== fresh.nodeValue) live.nodeValue = fresh.nodeValue; return; }
  Array.prototype.slice.call(live.attributes).forEach(function (a) { if (!fresh.hasAttribute(a.name)) live.removeAttribute(a.name); });
  Array.prototype.forEach.call(fresh.attributes, function (a) {
    if (live.getAttribute(a.name) !== a.value) live.setAttribute(a.name, a.value);
  });
  live.onclick = fresh.onclick;
  if (live.hasAttribute("data-keep")) return;
  patch(live, fresh);
}
`;
