// People: a person's card (name, full ID, server, "Message"), and starting a DM with them.
import { MEGOLM } from "./crypto.js";
import { avatar } from "./media.js";
import { h, serverOf, toast } from "./ui.js";

const PREVIEW_CHARS = 140;

/** The user's joined DM with ``userId``, or null. */
export function existingDm(store, userId) {
  return (store.direct[userId] || []).find((id) => {
    const r = store.rooms.get(id);
    return r && r.membership === "join" && !r.isAudio;
  }) || null;
}

/** Open the conversation with ``userId``: the existing one, or a new one that is created (and
 *  they are invited, with a preview) when the first message is sent. */
export function messagePerson(app, userId) {
  const dm = existingDm(app.store, userId);
  location.hash = dm ? `#/dms/${encodeURIComponent(dm)}` : `#/dms?to=${encodeURIComponent(userId)}`;
}

/** The state that makes a new DM end-to-end encrypted (Megolm), as Element does. */
export const ENCRYPTED_DM = [{ type: "m.room.encryption", state_key: "", content: { algorithm: MEGOLM } }];

/** Create an end-to-end encrypted DM inviting ``userId``, then send the first message,
 *  encrypted for both (the invitee's devices get the room key now, and read it once they
 *  accept). No preview goes with the invitation: the server must not see the text. */
export async function startDm(app, userId, body) {
  const { api, store } = app;
  const res = await api.createRoom({ is_direct: true, preset: "trusted_private_chat", visibility: "private",
    invite: [userId], initial_state: ENCRYPTED_DM });
  const roomId = res.room_id;
  store.room(roomId).membership = "join";
  store.addDirect([userId], roomId);
  await store.loadState(roomId);
  await store.send(roomId, "m.room.message", { msgtype: "m.text", body });
  await api.setAccountData(store.me, "m.direct", store.direct).catch(() => {});
  return roomId;
}

/** The invite's sender and the preview (its reason) for an invite in ``room``. */
export function inviteInfo(room, me) {
  const ev = room.inviteState?.find((e) => e.type === "m.room.member" && e.state_key === me);
  if (!ev) return { inviter: null, name: "", preview: "" };
  const member = room.inviteState.find((e) => e.type === "m.room.member" && e.state_key === ev.sender);
  const name = typeof member?.content?.displayname === "string" ? member.content.displayname : "";
  const reason = typeof ev.content?.reason === "string" ? ev.content.reason.slice(0, PREVIEW_CHARS + 20) : "";
  return { inviter: ev.sender, name, preview: reason };
}

/** A dialog with a person's name, full user ID, server and actions. */
export function personCard(app, userId, { name = "", avatarUrl = null } = {}) {
  const me = app.user?.userId;
  const self = userId === me;
  const shown = name || userId;
  const close = h("button", { type: "submit", value: "close", class: "btn" }, "Close");
  const copy = h("button", { type: "button", class: "btn btn-small", onclick: () => {
    const done = () => toast(`Copied ${userId}`, "info", 3000);
    if (navigator.clipboard?.writeText) navigator.clipboard.writeText(userId).then(done, () => {});
  } }, "Copy ID");
  const actions = [];
  if (!self && !app.user?.guest && app.store) {
    actions.push(h("button", { type: "button", class: "btn btn-primary", onclick: () => {
      dlg.close();
      messagePerson(app, userId);
    } }, "Message"));
  }
  if (self && !app.user?.guest) {
    actions.push(h("a", { class: "btn", href: "#/profile", onclick: () => dlg.close() }, "Edit profile"));
  }
  const dlg = h("dialog", { class: "dialog person-card", "aria-labelledby": "card-title" },
    h("form", { method: "dialog" },
      h("div", { class: "card-head" },
        avatar(app.media, userId, shown, avatarUrl, "large"),
        h("h2", { id: "card-title" }, shown, self ? " (you)" : "")),
      h("dl", { class: "card-facts" },
        h("dt", {}, "User ID"), h("dd", {}, h("code", { class: "user-id" }, userId), " ", copy),
        h("dt", {}, "Server"), h("dd", {}, serverOf(userId))),
      h("div", { class: "row-end" }, actions, close)));
  document.body.append(dlg);
  dlg.addEventListener("close", () => dlg.remove());
  dlg.showModal();
  (actions[0] || close).focus();
  return dlg;
}
