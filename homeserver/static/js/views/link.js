// A room's shareable link, https://<host>/r/<alias or room ID>, for a visitor with no session
// here: the room at a glance, "Listen now" as a guest, "Sign in", or "Open from your own server".
import { ApiError } from "../api.js";
import { listenAsGuest } from "../guest.js";
import { formatTime, h, plural, render } from "../ui.js";

const SERVER = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/** The shareable link of a room on ``origin``. */
export function roomLink(origin, ref) {
  // An alias reads best without its "#" (which a browser would take for a fragment anyway).
  const readable = ref.startsWith("#") ? ref.slice(1) : ref;
  return `${origin}/r/${encodeURIComponent(readable).replace(/%3A/gi, ":")}`;
}

/** The route in this web client that opens (and joins) a room: joins through our own server. */
export function roomRoute(ref, via) {
  const q = new URLSearchParams({ join: "1" });
  if (via && SERVER.test(via)) q.set("via", via);
  return `#/room/${encodeURIComponent(ref)}?${q}`;
}

/** The room's /r/ reference from a path, or null. */
export function linkRef(pathname) {
  const m = (pathname || "").match(/^\/r\/(.+)$/);
  if (!m) return null;
  let ref;
  try { ref = decodeURIComponent(m[1]); } catch { return null; }
  if (!/^[#!]/.test(ref)) ref = `#${ref}`;
  return /^[#!][^:\s]+:[^\s]+$/.test(ref) && ref.length <= 255 ? ref : null;
}

function embeddedPreview() {
  const el = document.getElementById("room-preview");
  if (!el) return null;
  try {
    const p = JSON.parse(el.textContent || "null");
    return p && typeof p === "object" ? p : null;
  } catch { return null; }
}

const str = (v, max = 300) => (typeof v === "string" ? v.slice(0, max) : "");

export function mount(app, main, params) {
  const ref = params.ref;
  const via = params.via || "";
  let preview = embeddedPreview();
  let error = "";
  let busy = false;
  const body = h("div", { class: "link-body" });
  main.append(h("section", { class: "page narrow link-page", "aria-labelledby": "link-title" }, body));

  const server = h("input", { id: "own-server", name: "server", autocapitalize: "none", spellcheck: "false",
    placeholder: "example.org", "data-key": "own-server", "aria-describedby": "own-hint own-error" });
  const ownError = h("p", { class: "form-error", id: "own-error", role: "alert" });
  const ownForm = h("form", { class: "own-server", "aria-label": "Open from your own server" },
    h("label", { for: "own-server" }, "Your server"),
    h("div", { class: "inline-field" }, server, h("button", { type: "submit", class: "btn" }, "Open")),
    h("p", { class: "hint", id: "own-hint" }, "Have an account on another server? Its web client opens this room and joins through your server."),
    ownError);
  ownForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const name = server.value.trim().replace(/^https?:\/\//i, "").replace(/\/.*$/, "").toLowerCase();
    if (!SERVER.test(name)) { ownError.textContent = "Enter a server name, like example.org."; server.focus(); return; }
    const target = str(preview?.alias, 255) || str(preview?.room_id, 255) || ref;
    const host = str(preview?.host, 255) || location.host;
    location.assign(`${roomLink(`${location.protocol}//${name}`, target)}?via=${encodeURIComponent(host)}`);
  });

  async function listen() {
    if (busy) return;
    busy = true;
    error = "";
    draw();
    try {
      await listenAsGuest(app);
      const target = str(preview?.room_id, 255) || ref;
      app.leaveLink(roomRoute(target, via || str(preview?.host, 255)));
    } catch (e) {
      busy = false;
      error = e instanceof ApiError && e.errcode === "M_GUEST_ACCESS_FORBIDDEN"
        ? "This room doesn't allow guests. Sign in or open it from your own server to listen."
        : e instanceof ApiError && e.errcode === "M_LIMIT_EXCEEDED" ? "Too many visitors from here right now. Wait a moment and try again."
          : `Couldn't start listening: ${e.message}`;
      draw();
    }
  }

  function draw() {
    const p = preview || {};
    const name = str(p.name, 200) || str(p.alias, 255) || ref;
    const stage = Array.isArray(p.stage) ? p.stage.filter((n) => typeof n === "string").slice(0, 12) : [];
    const listeners = Number.isFinite(p.listener_count) ? p.listener_count : null;
    const scheduled = typeof p.scheduled_for === "number" ? p.scheduled_for : null;
    const live = p.live === true;
    const guests = p.guest_access !== false && p.guest_access !== "forbidden";
    const host = str(p.host, 255) || ref.slice(ref.indexOf(":") + 1);
    document.title = `${name} · Audio rooms`;
    const signIn = `/#/login?next=${encodeURIComponent(roomRoute(str(p.room_id, 255) || ref, via))}`;
    render(body, h("div", { class: "card notice-card link-card" },
      h("p", { class: "host" }, `An audio room on ${host}`),
      h("div", { class: "room-head-top" },
        live ? h("span", { class: "pill pill-live" }, h("span", { class: "dot", "aria-hidden": "true" }), "Live")
          : scheduled ? h("span", { class: "pill pill-soon" }, `Starts ${formatTime(scheduled)}`)
            : preview ? h("span", { class: "pill" }, "Not live") : null),
      h("h1", { id: "link-title" }, name),
      str(p.topic, 500) ? h("p", { class: "topic" }, str(p.topic, 500)) : null,
      stage.length ? h("p", { class: "link-stage" }, h("strong", {}, "On stage: "), stage.join(", ")) : null,
      listeners !== null ? h("p", { class: "counts" },
        `${plural(Number.isFinite(p.speaker_count) ? p.speaker_count : stage.length, "speaker", "speakers")} · ${listeners} listening`) : null,
      error ? h("p", { class: "form-error", role: "alert" }, error) : null,
      h("div", { class: "row-start" },
        live && guests ? h("button", { type: "button", class: "btn btn-primary", "data-key": "listen", "aria-busy": busy ? "true" : null,
          onclick: listen }, busy ? "Starting…" : "Listen now") : null,
        h("a", { class: `btn${live && guests ? "" : " btn-primary"}`, href: signIn }, "Sign in")),
      h("h2", { class: "small-head" }, "Open from your own server"),
      ownForm));
  }

  draw();
  if (!preview) {
    app.api.preview(ref).then((p) => { preview = p && typeof p === "object" ? p : null; draw(); }, () => {});
  }
  return () => { document.title = "Audio rooms"; };
}
