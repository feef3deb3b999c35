// The backchannel: direct conversations with anyone on any server, live from the sync loop.
import { ApiError } from "../api.js";
import { avatar } from "../media.js";
import { ENCRYPTED_DM, inviteInfo, startDm } from "../people.js";
import { h, render } from "../ui.js";
import { conversation, draftConversation } from "./conversation.js";

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
      newInput.value = "";
      // One person: they're invited with the first message, so they see what it's about.
      location.hash = existing ? `#/dms/${encodeURIComponent(existing)}` : `#/dms?to=${encodeURIComponent(ids[0])}`;
      return;
    }
    newButton.disabled = true;
    newButton.textContent = "Starting…";
    try {
      const res = await app.api.createRoom({ is_direct: true, invite: ids, preset: "trusted_private_chat", visibility: "private",
        initial_state: ENCRYPTED_DM });
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
    if (room.membership === "invite") {
      const { preview } = inviteInfo(room, me);
      return preview ? `Invited you: “${preview}”` : room.encryption ? "Invited you (an encrypted message)" : "Invited you to talk";
    }
    const ev = room.timeline.at(-1);
    if (!ev) return "No messages yet";
    const who = ev.sender === me ? "You: " : "";
    return who + (ev.content?.msgtype === "m.image" ? "sent a photo" : ev.content?.body || "");
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
      const otherMember = room.members("join").find((m) => m.userId !== me);
      const other = otherMember?.userId || room.inviteState?.find((e) => e.type === "m.room.member" && e.state_key === me)?.sender || room.id;
      // The link's name is its visible text (title, last line) plus the unread state, so
      // speech input can say what is on screen (WCAG 2.5.3 label in name).
      const state = room.membership === "invite" ? ", invitation" : unread ? `, ${unread} unread` : "";
      return h("li", {},
        h("a", { class: `dm-item${room.id === current ? " active" : ""}${unread ? " unread" : ""}`,
          href: `#/dms/${encodeURIComponent(room.id)}`, "data-key": `dm-${room.id}`,
          "aria-current": room.id === current ? "page" : null },
        avatar(app.media, other, title, otherMember?.avatarUrl, "small"),
        h("span", { class: "dm-text" }, h("span", { class: "dm-title" }, title,
          room.encryption ? h("span", { class: "lock dm-lock", role: "img", "aria-label": "(encrypted)", title: "End-to-end encrypted" }) : null),
          state ? h("span", { class: "visually-hidden" }, state) : null,
          h("span", { class: "dm-last" }, lastLine(room))),
        unread ? h("span", { class: "badge", "aria-hidden": "true" }, room.membership === "invite" ? "new" : String(unread)) : null));
    }));
  }

  // the conversation ----------------------------------------------------------------------------
  const draftTo = !current && USER_ID.test(params.to || "") && params.to !== me ? params.to : null;
  const conv = current ? conversation(app, current)
    : draftTo ? draftConversation(app, draftTo, async (body) => {
      try {
        const roomId = await startDm(app, draftTo, body);
        location.hash = `#/dms/${encodeURIComponent(roomId)}`;
        return "";
      } catch (e) { return startError(e, [draftTo]); }
    }) : null;
  const convPane = conv ? conv.pane : h("section", { class: "conv-pane conv-empty", "aria-label": "Conversation" },
    h("p", { class: "muted" }, "Pick a conversation, or message someone on any server."));
  const drawConversation = () => { if (conv) conv.draw(); };

  main.append(h("div", { class: `page dms${current || draftTo ? " has-conv" : ""}` }, listPane, convPane));
  drawList();
  drawConversation();
  if (current && store.room(current).membership === "join") store.loadHistory(current).catch(() => {});
  const unsub = store.on("change", (d) => {
    if (stopped) return;
    drawList();
    if (current && (d.rooms?.has(current) || d.direct) && !d.read) drawConversation();
  });
  const onVisible = () => { if (conv) conv.readIfSeen(); };
  document.addEventListener("visibilitychange", onVisible);
  return () => {
    stopped = true;
    unsub();
    if (conv) conv.close();
    document.removeEventListener("visibilitychange", onVisible);
  };
}
