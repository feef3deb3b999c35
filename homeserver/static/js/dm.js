// The backchannel's live parts: typing notifications, "seen" markers, and photos in messages.
import { ApiError } from "./api.js";
import { fit, IMAGE_TYPES, imageSize } from "./media.js";
import { mxcOrNull } from "./model.js";
import { h } from "./ui.js";

const TYPING_TIMEOUT_MS = 20000;   // the server drops us from "typing" after this unless renewed
const TYPING_RENEW_MS = 12000;     // renew this often while the user keeps typing
const TYPING_IDLE_MS = 5000;       // no keystroke for this long: stopped typing
export const MAX_UPLOAD_BYTES = 20 * 1024 * 1024;
const THUMB = { width: 640, height: 480, method: "scale" };

/** Tells the server when the user types in a conversation, throttled: one "typing" when they
 *  start (renewed while they go on), one "stopped" when they send, leave the box, or pause. */
export class TypingNotifier {
  constructor(api, roomId, userId) {
    this.api = api;
    this.roomId = roomId;
    this.userId = userId;
    this.typing = false;
    this.sentAt = 0;
    this.idle = null;
  }

  /** A keystroke; ``empty`` when the box is now empty. */
  input(empty) {
    if (empty) { this.stop(); return; }
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.stop(), TYPING_IDLE_MS);
    const now = Date.now();
    if (this.typing && now - this.sentAt < TYPING_RENEW_MS) return;
    this.typing = true;
    this.sentAt = now;
    this.api.setTyping(this.roomId, this.userId, true, TYPING_TIMEOUT_MS).catch(() => {});
  }

  stop() {
    clearTimeout(this.idle);
    this.idle = null;
    if (!this.typing) return;
    this.typing = false;
    this.api.setTyping(this.roomId, this.userId, false).catch(() => {});
  }
}

/** "bob is typing…" for the other members typing now; "" when nobody is. */
export function typingText(room, me) {
  const names = room.typing.filter((u) => u !== me).map((u) => room.displayName(u));
  if (!names.length) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return "Several people are typing…";
}

/** For each timeline index, the other members whose last read message it is. Only where they
 *  read someone else's message: reading your own says nothing. */
export function seenAt(room, me) {
  const at = new Map();
  for (const m of room.members("join")) {
    if (m.userId === me) continue;
    const i = room.readIndex(m.userId);
    if (i < 0 || room.timeline[i].sender === m.userId) continue;
    if (!at.has(i)) at.set(i, []);
    at.get(i).push(m.displayname);
  }
  return at;
}

export function seenText(names, room) {
  const others = room.members("join").length - 1;
  return others <= 1 ? "Seen" : `Seen by ${names.join(", ")}`;
}

/** Upload a picked image and send it as an m.image message (through ``store.send``, so
 *  encrypted in an encrypted DM; the image file itself is uploaded as it is). */
export async function sendImage(api, store, roomId, file) {
  if (!IMAGE_TYPES.includes(file.type)) {
    throw new Error("That file isn't a photo this app can send (PNG, JPEG, GIF or WebP).");
  }
  if (file.size > MAX_UPLOAD_BYTES) {
    throw new Error(`That photo is too big (${Math.ceil(file.size / 1048576)} MB); the limit is ${MAX_UPLOAD_BYTES / 1048576} MB.`);
  }
  const size = await imageSize(file);
  if (!size) throw new Error("That file couldn't be read as an image.");
  const name = (file.name || "photo").slice(0, 200);
  const { content_uri: url } = await api.upload(file, name);
  await store.send(roomId, "m.room.message", {
    msgtype: "m.image", body: name, url,
    info: { mimetype: file.type, size: file.size, w: size.w, h: size.h },
  });
}

export function uploadError(e) {
  if (!(e instanceof ApiError)) return e.message;
  if (e.network) return e.message;
  if (e.status === 413 || e.errcode === "M_TOO_LARGE") return "That photo is bigger than this server accepts.";
  return `Couldn't send the photo: ${e.message}`;
}

/** An m.image message's body: its thumbnail, a button that opens the full image. */
export function imageBody(media, ev) {
  const c = ev.content || {};
  const mxc = mxcOrNull(c.url);
  const name = typeof c.body === "string" && c.body ? c.body : "photo";
  if (!mxc) return h("p", { class: "msg-body" }, `(a photo that can't be shown: ${name})`);
  const info = c.info && typeof c.info === "object" ? c.info : {};
  const box = fit(Number(info.w) || 0, Number(info.h) || 0, 240);
  const img = media.img(mxc, {
    alt: `Photo: ${name}`, thumb: THUMB, cls: "msg-photo", width: box.width, height: box.height,
    onfail: (el) => el.replaceWith(h("span", { class: "msg-body" }, `Couldn't load the photo ${name}.`)),
  });
  return h("button", { type: "button", class: "msg-image", "aria-label": `Open photo ${name}`,
    onclick: () => openImage(media, mxc, name) }, img);
}

/** The full image in a dialog; Escape or the button closes it. */
export function openImage(media, mxc, name) {
  const close = h("button", { type: "submit", class: "btn", value: "close" }, "Close");
  const img = media.img(mxc, { alt: `Photo: ${name}`, cls: "full-photo" });
  const dlg = h("dialog", { class: "dialog photo-dialog", "aria-label": `Photo: ${name}` },
    h("form", { method: "dialog" }, img, h("div", { class: "row-end" },
      h("span", { class: "muted small photo-name" }, name), close)));
  document.body.append(dlg);
  dlg.addEventListener("close", () => dlg.remove());
  dlg.showModal();
  close.focus();
}
