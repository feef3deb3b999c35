// One direct conversation: messages and photos, who is typing, who has seen what, and the
// composer (text, or a photo picked from the device).
import { ApiError } from "../api.js";
import { imageBody, seenAt, seenText, sendImage, TypingNotifier, typingText, uploadError } from "../dm.js";
import { avatar, IMAGE_TYPES } from "../media.js";
import { inviteInfo, personCard } from "../people.js";
import { h, render, toast } from "../ui.js";

const E2E_TITLE = "End-to-end encrypted: only the people in this conversation can read its messages; the servers carry them scrambled.";

/** The conversation's encryption, said plainly at its top. */
export function e2eBadge(encrypted) {
  return encrypted
    ? h("span", { class: "pill pill-e2e", "data-testid": "e2e-badge", title: E2E_TITLE },
      h("span", { class: "lock", "aria-hidden": "true" }), "End-to-end encrypted")
    : h("span", { class: "pill pill-plain", "data-testid": "e2e-badge",
      title: "Messages here are not end-to-end encrypted: the servers can read them." }, "Not encrypted");
}

function time(ts) {
  return new Date(ts).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** The conversation pane for ``roomId``: {pane, draw, close}. */
export function conversation(app, roomId) {
  const store = app.store;
  const me = store.me;
  const typing = new TypingNotifier(app.api, roomId, me);

  // role=log sits on a wrapper: on the <ol> itself it would hide the list from its items.
  // Focusable, so the keyboard can scroll it.
  const list = h("ol", { class: "messages" });
  const log = h("div", { class: "message-log", role: "log", "aria-live": "polite", "aria-label": "Messages", tabindex: "0" }, list);
  const head = h("div", { class: "conv-head" });
  const typingLine = h("p", { class: "typing-line", role: "status", "aria-live": "polite", "data-testid": "typing" });
  const text = h("textarea", { id: "composer", rows: 1, name: "body", placeholder: "Message…", "aria-describedby": "send-error" });
  const sendError = h("p", { class: "form-error", id: "send-error", role: "alert" });
  const send = h("button", { type: "submit", class: "btn btn-primary" }, "Send");
  const photo = h("input", { type: "file", id: "dm-photo", class: "visually-hidden", accept: IMAGE_TYPES.join(",") });
  const photoLabel = h("label", { for: "dm-photo", class: "btn photo-pick", title: "Attach a photo" },
    h("span", { "aria-hidden": "true" }, "Photo"), h("span", { class: "visually-hidden" }, "Attach a photo"));
  const composer = h("form", { class: "composer" },
    h("label", { for: "composer", class: "visually-hidden" }, "Message"), photo, photoLabel, text, send, sendError);

  const submit = async () => {
    const body = text.value.trim();
    if (!body) return;
    sendError.textContent = "";
    send.disabled = true;
    typing.stop();
    try {
      await store.send(roomId, "m.room.message", { msgtype: "m.text", body });
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
  text.addEventListener("input", () => typing.input(!text.value.trim()));
  text.addEventListener("blur", () => typing.stop());
  photo.addEventListener("change", async () => {
    const file = photo.files?.[0];
    photo.value = "";
    if (!file) return;
    sendError.textContent = "";
    photoLabel.setAttribute("aria-busy", "true");
    photoLabel.classList.add("busy");
    typingLine.textContent = `Sending ${file.name}…`;
    try {
      await sendImage(app.api, store, roomId, file, app.media);
    } catch (e) {
      sendError.textContent = uploadError(e);
    } finally {
      photoLabel.removeAttribute("aria-busy");
      photoLabel.classList.remove("busy");
      typingLine.textContent = typingText(store.room(roomId), me);
    }
  });

  const pane = h("section", { class: "conv-pane", "aria-labelledby": "conv-title" }, head, log, typingLine, composer);

  function inviteCard(room) {
    const { inviter, name, preview } = inviteInfo(room, me);
    return h("li", { class: "invite-card" },
      h("p", {}, h("strong", {}, name || inviter || "Someone"), name && inviter ? ` (${inviter})` : "", " wants to talk with you."),
      preview ? h("blockquote", { class: "invite-preview" }, h("p", {}, preview)) : null,
      room.encryption ? h("p", { class: "muted" }, "Their messages are end-to-end encrypted: accept to read them.") : null,
      h("div", { class: "row-start" },
        h("button", { type: "button", class: "btn btn-primary", "data-key": "accept", onclick: async (ev) => {
          ev.currentTarget.disabled = true;
          try {
            await app.api.join(roomId);
            if (inviter && !(store.direct[inviter] || []).includes(roomId)) {
              store.addDirect([inviter], roomId);
              app.api.setAccountData(me, "m.direct", store.direct).catch(() => {});
            }
            await store.loadState(roomId);
            await store.loadHistory(roomId);
            document.getElementById("composer")?.focus();
          } catch (e) { toast(e instanceof ApiError && e.network ? e.message : `Couldn't accept: ${e.message}`); ev.target.disabled = false; }
        } }, "Accept"),
        h("button", { type: "button", class: "btn", "data-key": "decline", onclick: async () => {
          try { await app.api.leave(roomId); room.membership = "leave"; location.hash = "#/dms"; }
          catch (e) { toast(`Couldn't decline: ${e.message}`); }
        } }, "Decline")));
  }

  function message(room, ev, grouped, seen) {
    const c = ev.content || {};
    const mine = ev.sender === me;
    // Each message says how it came: decrypted here (a lock), or not decryptable (yet).
    const lock = ev._e2e ? h("span", { class: "msg-e2e", role: "img", "aria-label": "Encrypted", title: "End-to-end encrypted",
      "data-testid": "msg-e2e" }, h("span", { class: "lock", "aria-hidden": "true" })) : null;
    if (ev._utd || ev._pending) {
      return h("li", { class: `msg utd${mine ? " mine" : ""}`, dataset: { event: ev.event_id } },
        h("div", { class: "msg-meta" }, h("span", { class: "msg-sender" }, mine ? "You" : room.displayName(ev.sender)),
          h("time", { datetime: new Date(ev.origin_server_ts).toISOString() }, time(ev.origin_server_ts))),
        h("p", { class: "msg-body msg-utd", "data-testid": ev._pending ? "decrypting" : "utd" }, c.body));
    }
    const name = mine ? "You" : room.displayName(ev.sender);
    const isImage = c.msgtype === "m.image";
    const linkRoom = c["org.audiorooms.room_id"];
    return h("li", { class: `msg${mine ? " mine" : ""}${c.msgtype === "m.notice" ? " notice" : ""}${grouped ? " grouped" : ""}`, dataset: { event: ev.event_id } },
      grouped ? null : h("div", { class: "msg-meta" },
        mine ? null : avatar(app.media, ev.sender, name, room.avatarOf(ev.sender), "small"),
        h("span", { class: "msg-sender" }, name),
        h("time", { datetime: new Date(ev.origin_server_ts).toISOString() }, time(ev.origin_server_ts)), lock),
      grouped ? lock : null,
      isImage ? imageBody(app.media, ev) : h("p", { class: "msg-body" }, c.body),
      linkRoom ? h("a", { class: "btn btn-small", href: `#/room/${encodeURIComponent(linkRoom)}?join=1` }, "Join the room") : null,
      seen ? h("p", { class: "seen", "data-testid": "seen" }, seenText(seen, room)) : null);
  }

  function draw() {
    const room = store.room(roomId);
    const others = room.members("join").filter((m) => m.userId !== me);
    render(head,
      h("a", { class: "btn btn-quiet btn-small back-link", href: "#/dms", "data-key": "back" }, "← All"),
      others.length === 1 ? avatar(app.media, others[0].userId, others[0].displayname, others[0].avatarUrl, "small") : null,
      h("h2", { id: "conv-title" }, room.dmTitle(me)),
      room.membership === "join" || room.encryption ? e2eBadge(!!room.encryption) : null,
      h("span", { class: "muted small conv-ids" }, others.map((m) => h("button", { type: "button", class: "linklike",
        "data-key": `who-${m.userId}`, onclick: () => personCard(app, m.userId, { name: m.displayname, avatarUrl: m.avatarUrl }) },
      m.userId))));
    if (room.membership === "invite") {
      composer.hidden = true;
      render(list, inviteCard(room));
      return;
    }
    if (room.membership !== "join") {
      composer.hidden = true;
      render(list, h("li", { class: "empty" }, room.membership ? "You're not in this conversation any more." : "Loading…"));
      return;
    }
    composer.hidden = false;
    const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    const seen = seenAt(room, me);
    const items = [];
    let prev = null;
    room.timeline.forEach((ev, i) => {
      const c = ev.content || {};
      if (typeof c.body !== "string") return;
      const grouped = prev && prev.sender === ev.sender && ev.origin_server_ts - prev.origin_server_ts < 5 * 60 * 1000;
      items.push(message(room, ev, grouped, seen.get(i)));
      prev = ev;
    });
    if (!items.length) items.push(h("li", { class: "empty" }, "No messages yet. Say hello!"));
    render(list, items);
    if (!photoLabel.classList.contains("busy")) typingLine.textContent = typingText(room, me);
    if (nearBottom || !log.dataset.scrolled) { log.scrollTop = log.scrollHeight; log.dataset.scrolled = "1"; }
    readIfSeen();
  }

  /** The latest message is on screen: it's read (and the others see "Seen"). */
  function readIfSeen() {
    const room = store.room(roomId);
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    if (!document.hidden && atBottom && room.membership === "join") store.markRead(room);
  }
  log.addEventListener("scroll", readIfSeen, { passive: true });

  function close() { typing.stop(); }

  return { pane, draw, close, readIfSeen };
}

/** A conversation not created yet: the first message creates it and invites ``userId``.
 *  ``send(body)`` answers "" when it worked, or the error to show. */
export function draftConversation(app, userId, send) {
  const text = h("textarea", { id: "composer", rows: 1, name: "body", placeholder: "Message…", "aria-describedby": "send-error" });
  const sendError = h("p", { class: "form-error", id: "send-error", role: "alert" });
  const button = h("button", { type: "submit", class: "btn btn-primary" }, "Send");
  const composer = h("form", { class: "composer" }, h("label", { for: "composer", class: "visually-hidden" }, "Message"),
    text, button, sendError);
  const submit = async () => {
    const body = text.value.trim();
    if (!body || button.disabled) return;
    button.disabled = true;
    sendError.textContent = "";
    const err = await send(body);
    button.disabled = false;
    if (err) sendError.textContent = err;
  };
  composer.addEventListener("submit", (ev) => { ev.preventDefault(); submit(); });
  text.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); submit(); }
  });
  const pane = h("section", { class: "conv-pane", "aria-labelledby": "conv-title" },
    h("div", { class: "conv-head" },
      h("a", { class: "btn btn-quiet btn-small back-link", href: "#/dms" }, "← All"),
      h("h2", { id: "conv-title" }, `New conversation with ${userId}`), e2eBadge(true)),
    h("ul", { class: "messages", "aria-label": "Messages" },
      h("li", { class: "empty" }, "Your first message goes with the invitation. It is end-to-end encrypted: they read it once they accept, and no server can.")),
    composer);
  setTimeout(() => text.focus(), 0);
  return { pane, draw() {}, close() {}, readIfSeen() {} };
}
