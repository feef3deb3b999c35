// The backchannel: direct conversations with anyone on any server, live from the sync loop.
import { ApiError } from "../api.js";
import { avatar, h, render, toast } from "../ui.js";

const USER_ID = /^@[^:\s]+:[^\s]+$/;

function startError(e, ids) {
  if (!(e instanceof ApiError)) return `Couldn't start the conversation: ${e.message}`;
  if (e.network) return e.message;
  if (e.errcode === "M_NOT_FOUND") return `There's no such user: ${e.message.replace(/^Unknown user /, "")}.`;
  if (e.status === 502 || e.status === 504) {
    const servers = [...new Set(ids.map((u) => u.slice(u.indexOf(":") + 1)))].join(", ");
    return `Couldn't reach ${servers} to invite them. That server may be down; try again later.`;
  }
  if (e.errcode === "M_FORBIDDEN") return `That user can't be invited: ${e.message}`;
  return `Couldn't start the conversation: ${e.message}`;
}

function time(ts) {
  return new Date(ts).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function mount(app, main, params) {
  const store = app.store;
  const me = store.me;
  const current = params.roomId;
  let stopped = false;

  // the list --------------------------------------------------------------------------------
  const newInput = h("input", { id: "dm-user", name: "user", autocapitalize: "none", spellcheck: "false",
    placeholder: "@name:server", "data-key": "dm-user", "aria-describedby": "dm-hint dm-error" });
  const newError = h("p", { class: "form-error", id: "dm-error", role: "alert" });
  const newButton = h("button", { type: "submit", class: "btn btn-primary" }, "Start");
  const newForm = h("form", { class: "dm-new", "aria-label": "Start a conversation" },
    h("label", { for: "dm-user" }, "Message someone"),
    h("div", { class: "inline-field" }, newInput, newButton),
    h("p", { class: "hint", id: "dm-hint" }, "A user ID on any server; separate several with commas for a group."),
    newError);
  newForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    newError.textContent = "";
    const ids = newInput.value.split(/[\s,]+/).filter(Boolean);
    if (!ids.length) { newError.textContent = "Enter a user ID, like @name:server."; newInput.focus(); return; }
    const bad = ids.find((u) => !USER_ID.test(u));
    if (bad) { newError.textContent = `“${bad}” isn't a user ID. User IDs look like @name:server.`; newInput.focus(); return; }
    if (ids.includes(me)) { newError.textContent = "That's you! Enter someone else's user ID."; newInput.focus(); return; }
    if (ids.length === 1) {
      const existing = (store.direct[ids[0]] || []).find((id) => store.rooms.get(id)?.membership === "join");
      if (existing) { newInput.value = ""; location.hash = `#/dms/${encodeURIComponent(existing)}`; return; }
    }
    newButton.disabled = true;
    newButton.textContent = "Starting…";
    try {
      const res = await app.api.createRoom({ is_direct: true, invite: ids, preset: "trusted_private_chat", visibility: "private" });
      store.room(res.room_id).membership = "join";
      await store.loadState(res.room_id).catch(() => {});
      store.addDirect(ids, res.room_id);
      newInput.value = "";
      location.hash = `#/dms/${encodeURIComponent(res.room_id)}`;
    } catch (e) {
      newError.textContent = startError(e, ids);
      newInput.focus();
    } finally {
      newButton.disabled = false;
      newButton.textContent = "Start";
    }
  });

  const list = h("ul", { class: "dm-list", "aria-label": "Conversations" });
  const listPane = h("section", { class: "dm-list-pane", "aria-labelledby": "dms-title" },
    h("h1", { id: "dms-title" }, "Backchannel"), newForm, list);

  function lastLine(room) {
    if (room.membership === "invite") return "Invited you to talk";
    const ev = room.timeline.at(-1);
    if (!ev) return "No messages yet";
    const who = ev.sender === me ? "You: " : "";
    return who + (ev.content?.body || "");
  }

  function drawList() {
    const rooms = store.dmRooms();
    if (!rooms.length) {
      render(list, h("li", { class: "empty" }, "No conversations yet. Message someone above."));
      return;
    }
    render(list, rooms.map((room) => {
      const unread = store.unread(room);
      const title = room.dmTitle(me);
      const other = room.members("join").find((m) => m.userId !== me)?.userId || room.inviteState?.find((e) => e.type === "m.room.member" && e.state_key === me)?.sender || room.id;
      const label = `${title}${room.membership === "invite" ? ", invitation" : unread ? `, ${unread} unread` : ""}`;
      return h("li", {},
        h("a", { class: `dm-item${room.id === current ? " active" : ""}${unread ? " unread" : ""}`,
          href: `#/dms/${encodeURIComponent(room.id)}`, "data-key": `dm-${room.id}`, "aria-label": label,
          "aria-current": room.id === current ? "page" : null },
        avatar(other, title, "small"),
        h("span", { class: "dm-text" }, h("span", { class: "dm-title" }, title), h("span", { class: "dm-last" }, lastLine(room))),
        unread ? h("span", { class: "badge", "aria-hidden": "true" }, room.membership === "invite" ? "new" : String(unread)) : null));
    }));
  }

  // the conversation ----------------------------------------------------------------------------
  let convPane = null;
  let log = null;
  let convHead = null;
  let composer = null;
  if (current) {
    log = h("ol", { class: "messages", role: "log", "aria-live": "polite", "aria-label": "Messages" });
    convHead = h("div", { class: "conv-head" });
    const text = h("textarea", { id: "composer", rows: 1, name: "body", placeholder: "Write a message", "aria-describedby": "send-error" });
    const sendError = h("p", { class: "form-error", id: "send-error", role: "alert" });
    const send = h("button", { type: "submit", class: "btn btn-primary" }, "Send");
    composer = h("form", { class: "composer" },
      h("label", { for: "composer", class: "visually-hidden" }, "Message"), text, send, sendError);
    const submit = async () => {
      const body = text.value.trim();
      if (!body) return;
      sendError.textContent = "";
      send.disabled = true;
      try {
        await app.api.send(current, "m.room.message", { msgtype: "m.text", body });
        text.value = "";
      } catch (e) {
        sendError.textContent = e instanceof ApiError && e.network ? e.message
          : e instanceof ApiError && e.status === 403 ? `You can't send here: ${e.message}` : `Couldn't send: ${e.message}`;
      } finally {
        send.disabled = false;
        text.focus();
      }
    };
    composer.addEventListener("submit", (ev) => { ev.preventDefault(); submit(); });
    text.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); submit(); }
    });
    convPane = h("section", { class: "conv-pane", "aria-labelledby": "conv-title" }, convHead, log, composer);
  } else {
    convPane = h("section", { class: "conv-pane conv-empty", "aria-label": "Conversation" },
      h("p", { class: "muted" }, "Pick a conversation, or message someone on any server."));
  }

  function drawConversation() {
    if (!current) return;
    const room = store.room(current);
    const title = room.dmTitle(me);
    render(convHead,
      h("a", { class: "btn btn-quiet btn-small back-link", href: "#/dms", "data-key": "back" }, "← All"),
      h("h2", { id: "conv-title" }, title),
      h("span", { class: "muted small conv-ids" }, room.members("join").filter((m) => m.userId !== me).map((m) => m.userId).join(", ")));
    if (room.membership === "invite") {
      composer.hidden = true;
      const inviter = room.inviteState?.find((e) => e.type === "m.room.member" && e.state_key === me)?.sender;
      render(log, h("li", { class: "invite-card" },
        h("p", {}, h("strong", {}, inviter || "Someone"), " wants to talk with you."),
        h("div", { class: "row-start" },
          h("button", { type: "button", class: "btn btn-primary", "data-key": "accept", onclick: async (ev) => {
            ev.currentTarget.disabled = true;
            try {
              await app.api.join(current);
              await store.loadState(current);
              await store.loadHistory(current);
              document.getElementById("composer")?.focus();
            } catch (e) { toast(e instanceof ApiError && e.network ? e.message : `Couldn't accept: ${e.message}`); ev.target.disabled = false; }
          } }, "Accept"),
          h("button", { type: "button", class: "btn", "data-key": "decline", onclick: async () => {
            try { await app.api.leave(current); room.membership = "leave"; location.hash = "#/dms"; }
            catch (e) { toast(`Couldn't decline: ${e.message}`); }
          } }, "Decline"))));
      return;
    }
    if (room.membership !== "join") {
      composer.hidden = true;
      render(log, h("li", { class: "empty" }, room.membership ? "You're not in this conversation any more." : "Loading…"));
      return;
    }
    composer.hidden = false;
    const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    const items = [];
    let prev = null;
    for (const ev of room.timeline) {
      const c = ev.content || {};
      if (typeof c.body !== "string") continue;
      const mine = ev.sender === me;
      const grouped = prev && prev.sender === ev.sender && ev.origin_server_ts - prev.origin_server_ts < 5 * 60 * 1000;
      const linkRoom = c["org.audiorooms.room_id"];
      items.push(h("li", { class: `msg${mine ? " mine" : ""}${c.msgtype === "m.notice" ? " notice" : ""}${grouped ? " grouped" : ""}` },
        grouped ? null : h("div", { class: "msg-meta" },
          h("span", { class: "msg-sender" }, mine ? "You" : room.displayName(ev.sender)),
          h("time", { datetime: new Date(ev.origin_server_ts).toISOString() }, time(ev.origin_server_ts))),
        h("p", { class: "msg-body" }, c.body),
        linkRoom ? h("a", { class: "btn btn-small", href: `#/room/${encodeURIComponent(linkRoom)}?join=1` }, "Join the room") : null));
      prev = ev;
    }
    if (!items.length) items.push(h("li", { class: "empty" }, "No messages yet. Say hello!"));
    render(log, items);
    if (nearBottom || !log.dataset.scrolled) { log.scrollTop = log.scrollHeight; log.dataset.scrolled = "1"; }
    if (!document.hidden) store.markRead(room);
  }

  main.append(h("div", { class: `page dms${current ? " has-conv" : ""}` }, listPane, convPane));
  drawList();
  drawConversation();
  if (current && store.room(current).membership === "join") store.loadHistory(current).catch(() => {});
  const unsub = store.on("change", (d) => {
    if (stopped) return;
    drawList();
    if (current && (d.rooms?.has(current) || d.direct) && !d.read) drawConversation();
  });
  const onVisible = () => { if (!document.hidden && current) store.markRead(store.room(current)); };
  document.addEventListener("visibilitychange", onVisible);
  return () => { stopped = true; unsub(); document.removeEventListener("visibilitychange", onVisible); };
}
