// The hallway: live and upcoming rooms from this server and the servers it federates with.
import { ApiError } from "../api.js";
import { avatar as face } from "../media.js";
import { replayFromHallway, RSVP } from "../model.js";
import { ReplayShelf } from "../replay.js";
import { announce, formatTime, h, plural, render, toast } from "../ui.js";

const NS = "org.audiorooms.";
const POLL_MS = 5000;

/** A room ID or alias from what a user pastes: an alias, an ID, this client's link, matrix.to. */
export function parseRoomRef(text) {
  let t = (text || "").trim();
  if (!t) return null;
  const m = t.match(/#\/(?:room\/)?([^?\s]+)/) || t.match(/^https?:\/\/[^/]+\/r\/([^?#\s]+)/i);
  if (/^https?:\/\//i.test(t) && m) t = m[1];
  try { t = decodeURIComponent(t); } catch { /* keep as typed */ }
  if (/^[#!][^:\s]+:[^\s]+$/.test(t)) return t;
  if (m && /^[^#!:\s/][^:\s]*:[^\s]+$/.test(t)) return `#${t}`;   // a /r/ link's alias, "#" left out
  return null;
}

export function joinErrorMessage(e, ref) {
  if (!(e instanceof ApiError)) return `Couldn't join: ${e.message}`;
  if (e.network) return e.message;
  const server = (ref || "").slice((ref || "").indexOf(":") + 1);
  if (e.errcode === "M_NOT_FOUND") return `There's no room at ${ref}. Check the link or alias.`;
  if (e.errcode === "M_FORBIDDEN") {
    if (/ban/i.test(e.message)) return "You were removed from this room and can't rejoin.";
    return `You can't join this room: it's invite-only or you're not allowed in (${e.message}).`;
  }
  if (e.status === 502 || e.status === 504) return `Couldn't reach ${server}, the server that hosts this room. It may be down; try again later.`;
  if (e.errcode === "M_LIMIT_EXCEEDED") return "Too many requests. Wait a moment and try again.";
  return `Couldn't join: ${e.message}`;
}

export function mount(app, main, params) {
  const store = app.store;
  const club = params.club || "";
  let data = null;
  let error = "";
  let lastLiveCount = null;
  let timer = null;
  let stopped = false;
  const shelf = new ReplayShelf(app, { title: true });   // players outlive the 5 s refresh

  const joinInput = h("input", { id: "join-ref", name: "ref", "data-key": "join-ref", placeholder: "#room:server or a room link",
    autocapitalize: "none", spellcheck: "false", "aria-describedby": "join-error join-hint" });
  const joinError = h("p", { class: "form-error", id: "join-error", role: "alert" });
  const joinForm = h("form", { class: "join-form" },
    h("label", { for: "join-ref" }, "Join by link or alias"),
    h("div", { class: "inline-field" }, joinInput, h("button", { type: "submit", class: "btn" }, "Join")),
    h("p", { class: "hint", id: "join-hint" }, "Works for rooms on any server, e.g. #jazz:example.org"),
    joinError);
  joinForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const ref = parseRoomRef(joinInput.value);
    if (!ref) {
      joinError.textContent = "That isn't a room link or alias. Aliases look like #name:server, room IDs like !abc:server.";
      joinInput.focus();
      return;
    }
    joinError.textContent = "";
    location.hash = `#/room/${encodeURIComponent(ref)}?join=1`;
  });

  const listBox = h("div", { class: "hallway-lists" });
  const clubBox = h("div", { class: "club-filter" });
  const status = h("span", { class: "muted small", id: "hallway-status" });
  const refresh = h("button", { type: "button", class: "btn btn-quiet btn-small", onclick: () => load(true) }, "Refresh");

  main.append(h("section", { class: "page hallway" },
    h("div", { class: "page-head" },
      h("h1", {}, "Hallway"),
      h("a", { class: "btn btn-primary", href: "#/create" }, "Start a room")),
    h("div", { class: "hallway-status" }, status, refresh),
    h("div", { class: "hallway-tools" }, joinForm, clubBox),
    listBox));

  function clubName(id) {
    const r = store.rooms.get(id);
    return (r && r.name) || id;
  }

  function renderClubs() {
    const ids = new Set(store.spaces().map((r) => r.id));
    for (const e of [...(data?.live || []), ...(data?.upcoming || [])]) for (const c of e[NS + "clubs"] || []) ids.add(c);
    if (club) ids.add(club);
    if (!ids.size) { render(clubBox); return; }
    const select = h("select", { id: "club", "data-key": "club", onchange: (ev) => {
      const v = ev.target.value;
      location.hash = v ? `#/hallway?club=${encodeURIComponent(v)}` : "#/hallway";
    } }, h("option", { value: "" }, "All clubs"),
    [...ids].sort().map((id) => h("option", { value: id, selected: id === club }, clubName(id))));
    render(clubBox, h("label", { for: "club" }, "Club"), select);
  }

  async function join(entry, button) {
    location.hash = `#/room/${encodeURIComponent(entry.room_id)}?join=1`;
    if (button) button.disabled = true;
  }

  async function remind(entry, button) {
    button.disabled = true;
    try {
      await app.api.join(entry.room_id);
      await app.api.putState(entry.room_id, RSVP, store.me, { going: true });
      toast(`We'll send you a notice when ${entry.name || "the room"} starts.`, "info");
      await store.loadState(entry.room_id);
    } catch (e) {
      toast(joinErrorMessage(e, entry.room_id));
      button.disabled = false;
    }
  }

  function speakersLine(entry) {
    const speakers = entry[NS + "speakers"] || [];
    const shown = speakers.slice(0, 4);
    return h("ul", { class: "speaker-faces", "aria-label": "Speakers" },
      shown.map((s) => h("li", {}, face(app.media, s.user_id, s.displayname, s.avatar_url, "small"),
        h("span", { class: "face-name" }, s.displayname || s.user_id, s.moderator ? h("span", { class: "visually-hidden" }, " (moderator)") : null))),
      speakers.length > shown.length ? h("li", { class: "more" }, `+${speakers.length - shown.length} more`) : null);
  }

  function card(entry, upcoming) {
    const id = entry.room_id;
    const room = store.rooms.get(id);
    const joined = room?.membership === "join";
    const inSession = app.session?.roomId === id;
    const titleId = `t-${id.replace(/[^a-zA-Z0-9]/g, "")}`;
    const speakers = entry[NS + "speaker_count"] ?? 0;
    const listeners = entry[NS + "listener_count"] ?? 0;
    const going = room && room.content(RSVP, store.me).going === true;
    let action;
    if (upcoming) {
      action = joined
        ? h("a", { class: "btn", href: `#/room/${encodeURIComponent(id)}`, "data-key": `open-${id}` }, going ? "Reminder set · Open" : "Open", h("span", { class: "visually-hidden" }, ` ${entry.name || "room"}`))
        : h("button", { type: "button", class: "btn", "data-key": `remind-${id}`,
          onclick: (ev) => remind(entry, ev.currentTarget) }, "Remind me", h("span", { class: "visually-hidden" }, ` about ${entry.name || "this room"}`));
    } else {
      action = h("button", { type: "button", class: `btn ${inSession ? "" : "btn-primary"}`, "data-key": `join-${id}`,
        onclick: (ev) => join(entry, ev.currentTarget) },
      inSession ? "Return" : joined ? "Open" : "Join", h("span", { class: "visually-hidden" }, ` ${entry.name || "room"}`));
    }
    return h("li", { class: "room-card", dataset: { roomId: id } },
      h("article", { "aria-labelledby": titleId },
        h("div", { class: "card-top" },
          upcoming
            ? h("span", { class: "pill pill-soon" }, formatTime(entry[NS + "scheduled_for"]))
            : h("span", { class: "pill pill-live" }, h("span", { class: "dot", "aria-hidden": "true" }), "Live"),
          h("span", { class: "host", title: "Host server" }, h("span", { class: "visually-hidden" }, "Hosted on "), entry[NS + "host"])),
        h("h3", { id: titleId, class: "room-title" }, entry.name || entry.topic || "Untitled room"),
        entry.topic && entry.name ? h("p", { class: "topic" }, entry.topic) : null,
        speakersLine(entry),
        h("div", { class: "card-bottom" },
          h("p", { class: "counts" },
            h("span", {}, plural(speakers, "speaker", "speakers")), " · ",
            h("span", { class: "listener-count" }, `${listeners} listening`)),
          action)));
  }

  function renderLists() {
    renderClubs();
    const sections = [];
    const invites = [...store.rooms.values()].filter((r) => r.membership === "invite" && r.isAudio);
    if (invites.length) {
      sections.push(h("section", { "aria-labelledby": "h-invites" },
        h("h2", { id: "h-invites" }, "Invitations"),
        h("ul", { class: "room-list" }, invites.map((r) => h("li", { class: "room-card" },
          h("article", {}, h("h3", { class: "room-title" }, r.name || r.id),
            h("div", { class: "card-bottom" }, h("p", { class: "counts" }, `Invite-only · ${r.host}`),
              h("a", { class: "btn btn-primary", href: `#/room/${encodeURIComponent(r.id)}?join=1` }, "Join"))))))));
    }
    if (!data) {
      sections.push(h("p", { class: "muted" }, error || "Looking for rooms…"));
      render(listBox, sections);
      return;
    }
    const listed = new Set([...data.live, ...data.upcoming].map((e) => e.room_id));
    const mine = store.audioRooms().filter((r) => !listed.has(r.id) && !r.ended());
    sections.push(h("section", { "aria-labelledby": "h-live" },
      h("h2", { id: "h-live" }, "Live now"),
      data.live.length
        ? h("ul", { class: "room-list" }, data.live.map((e) => card(e, false)))
        : h("p", { class: "empty" }, club ? "No rooms are live in this club right now." : "No rooms are live right now. Start one!")));
    if (data.upcoming.length) {
      sections.push(h("section", { "aria-labelledby": "h-upcoming" },
        h("h2", { id: "h-upcoming" }, "Upcoming"),
        h("ul", { class: "room-list" }, data.upcoming.map((e) => card(e, true)))));
    }
    shelf.keep(data.replays);
    if (data.replays.length) {
      sections.push(h("section", { "aria-labelledby": "h-replays" },
        h("h2", { id: "h-replays" }, "Replays"),
        h("ul", { class: "room-list replay-list" }, data.replays.map((r) => h("li", { class: "room-card replay-card" }, shelf.player(r))))));
    }
    if (mine.length) {
      sections.push(h("section", { "aria-labelledby": "h-mine" },
        h("h2", { id: "h-mine" }, "Your other rooms"),
        h("ul", { class: "room-list compact" }, mine.map((r) => h("li", { class: "room-card" },
          h("article", {}, h("h3", { class: "room-title" }, r.name || r.id),
            h("div", { class: "card-bottom" }, h("p", { class: "counts" }, `${r.joinRule === "public" ? "Open" : "Invite-only"} · ${r.host}`),
              h("a", { class: "btn", href: `#/room/${encodeURIComponent(r.id)}` }, "Open"))))))));
    }
    render(listBox, sections);
  }

  async function load(refreshRemote) {
    clearTimeout(timer);
    try {
      const res = await app.api.hallway({ refresh: refreshRemote, club: club || undefined });
      if (stopped) return;
      // ``replays`` is newer than the rest of the hallway: a server without it lists none.
      const replays = Array.isArray(res.replays) ? res.replays.slice(0, 100).map(replayFromHallway)
        .filter((r, i, all) => r && all.findIndex((x) => x?.url === r.url) === i) : [];
      data = { live: res.live || [], upcoming: res.upcoming || [], replays };
      error = "";
      const n = data.live.length;
      status.textContent = `${plural(n, "room", "rooms")} live${club ? " in this club" : ""} · updated ${new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" })}`;
      if (lastLiveCount !== null && lastLiveCount !== n) announce(n === 1 ? "1 room is live now" : `${n} rooms are live now`);
      lastLiveCount = n;
    } catch (e) {
      if (stopped) return;
      error = e instanceof ApiError && e.network ? e.message : `Couldn't load the hallway: ${e.message}`;
      status.textContent = error;
    }
    renderLists();
    if (!stopped) timer = setTimeout(() => load(false), POLL_MS);
  }

  const unsub = store.on("change", () => { if (data) renderLists(); });
  renderLists();
  load(true);
  return () => { stopped = true; clearTimeout(timer); unsub(); shelf.close(); };
}
