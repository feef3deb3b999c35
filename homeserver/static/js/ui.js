// Tiny DOM helpers: element building, focus-preserving re-render, announcements, toasts.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "value") el.value = v;
    else if (k === "checked") el.checked = !!v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replace a container's children, keeping keyboard focus and open <details> by data-key. */
export function render(container, ...children) {
  const active = document.activeElement;
  const focusKey = active && container.contains(active)
    ? active.closest("[data-key]")?.dataset.key : null;
  const open = new Set([...container.querySelectorAll("details[open][data-key]")]
    .map((d) => d.dataset.key));
  const values = new Map([...container.querySelectorAll("input[data-key], textarea[data-key]")]
    .map((i) => [i.dataset.key, i.value]));
  container.replaceChildren();
  append(container, children);
  for (const d of container.querySelectorAll("details[data-key]")) {
    if (open.has(d.dataset.key)) d.open = true;
  }
  for (const i of container.querySelectorAll("input[data-key], textarea[data-key]")) {
    if (values.has(i.dataset.key) && i.type !== "hidden") i.value = values.get(i.dataset.key);
  }
  if (focusKey) {
    const again = container.querySelector(`[data-key="${CSS.escape(focusKey)}"]`);
    if (again) again.focus({ preventScroll: true });
  }
}

export function announce(message) {
  const el = document.getElementById("announcer");
  if (!el) return;
  el.textContent = "";
  // A new text node after a tick makes screen readers announce repeated messages too.
  setTimeout(() => { el.textContent = message; }, 50);
}

/** A passing notice; ``tag`` (e.g. a room ID) lets clearToasts take back the ones that no
 *  longer hold (a room that ended says nothing more about who is on its stage). */
export function toast(message, kind = "error", timeoutMs = 9000, tag = null) {
  const box = document.getElementById("toasts");
  if (!box) return;
  const close = h("button", { type: "button", class: "toast-close", "aria-label": "Dismiss" }, "×");
  const t = h("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status", "data-tag": tag },
    h("span", { class: "toast-text" }, message), close);
  close.addEventListener("click", () => t.remove());
  box.append(t);
  while (box.children.length > 4) box.firstElementChild.remove();
  if (timeoutMs) setTimeout(() => t.remove(), timeoutMs);
}

export function clearToasts(tag) {
  for (const t of document.querySelectorAll("#toasts .toast[data-tag]")) {
    if (t.dataset.tag === tag) t.remove();
  }
}

export function initials(name) {
  const clean = (name || "?").replace(/^[@#!]/, "").trim();
  const parts = clean.split(/[\s._-]+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[1][0] : clean.slice(0, 2);
  return letters.toUpperCase();
}

/** A stable hue per user, so avatars are told apart at a glance. */
export function hue(text) {
  let n = 0;
  for (const ch of text || "") n = (n * 31 + ch.codePointAt(0)) % 360;
  return n;
}

export function avatar(userId, name, extraClass = "") {
  return h("span", {
    class: `avatar ${extraClass}`, "aria-hidden": "true",
    style: `--hue:${hue(userId)}`,
  }, initials(name || userId));
}

export function serverOf(id) {
  const i = (id || "").indexOf(":");
  return i < 0 ? "" : id.slice(i + 1);
}

export function formatTime(ms) {
  const d = new Date(ms);
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (sameDay) return `today ${time}`;
  return `${d.toLocaleDateString([], { weekday: "short", month: "short", day: "numeric" })} ${time}`;
}

export function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

/** A focus-trapping confirm dialog on <dialog>; resolves true or false. */
export function confirmDialog(title, text, okLabel = "OK", danger = false) {
  return new Promise((resolve) => {
    const ok = h("button", { type: "submit", value: "ok", class: `btn ${danger ? "btn-danger" : "btn-primary"}` }, okLabel);
    const cancel = h("button", { type: "submit", value: "cancel", class: "btn" }, "Cancel");
    const dlg = h("dialog", { class: "dialog", "aria-labelledby": "dlg-title" },
      h("form", { method: "dialog" },
        h("h2", { id: "dlg-title" }, title),
        h("p", {}, text),
        h("div", { class: "row-end" }, cancel, ok)));
    document.body.append(dlg);
    dlg.addEventListener("close", () => {
      resolve(dlg.returnValue === "ok");
      dlg.remove();
    });
    dlg.showModal();
    cancel.focus();
  });
}

// Inline SVG icons (no emoji: systems without an emoji font would show empty boxes).
const ICONS = {
  hand: '<path d="M7 13V7.5a1.5 1.5 0 0 1 3 0V12M10 11V5.5a1.5 1.5 0 0 1 3 0V11M13 11V6.5a1.5 1.5 0 0 1 3 0V12M16 12V9.5a1.5 1.5 0 0 1 3 0V14a7 7 0 0 1-7 7h-1a6 6 0 0 1-5-2.7L3.6 15a1.5 1.5 0 0 1 2.4-1.8L7 14.5"/>',
  mic: '<rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5 11a7 7 0 0 0 14 0M12 18v3"/>',
  micOff: '<rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5 11a7 7 0 0 0 14 0M12 18v3M3 3l18 18"/>',
  leave: '<path d="M15 4h3a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-3M10 17l-5-5 5-5M5 12h11"/>',
};

/** An icon; decorative (aria-hidden) unless given a label. */
export function icon(name, label = null, cls = "") {
  const span = document.createElement("span");
  span.className = `icon icon-${name} ${cls}`.trim();
  span.innerHTML = `<svg viewBox="0 0 24 24" width="1em" height="1em" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" focusable="false">${ICONS[name]}</svg>`;
  if (label) { span.setAttribute("role", "img"); span.setAttribute("aria-label", label); span.title = label; }
  else span.setAttribute("aria-hidden", "true");
  return span;
}
