// The backchannel's live parts: typing notifications, "seen" markers, and photos in messages.
import { ApiError } from "./api.js";
import { encryptAttachment, parseEncryptedFile } from "./attachments.js";
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
 *  encrypted in an encrypted DM). In an encrypted DM the file itself is encrypted here first
 *  (attachments.js) and the event carries ``file`` (and ``info.thumbnail_file`` for a large
 *  photo, its thumbnail made here: the server can't make one from ciphertext) instead of ``url``. */
export async function sendImage(api, store, roomId, file, media = null) {
  if (!IMAGE_TYPES.includes(file.type)) {
    throw new Error("That file isn't a photo this app can send (PNG, JPEG, GIF or WebP).");
  }
  if (file.size > MAX_UPLOAD_BYTES) {
    throw new Error(`That photo is too big (${Math.ceil(file.size / 1048576)} MB); the limit is ${MAX_UPLOAD_BYTES / 1048576} MB.`);
  }
  const size = await imageSize(file);
  if (!size) throw new Error("That file couldn't be read as an image.");
  const name = (file.name || "photo").slice(0, 200);
  const info = { mimetype: file.type, size: file.size, w: size.w, h: size.h };
  if (!store.room(roomId).encryption) {
    const { content_uri: url } = await api.upload(file, name);
    await store.send(roomId, "m.room.message", { msgtype: "m.image", body: name, url, info });
    return;
  }
  const sent = await uploadEncrypted(api, file);
  const thumb = await thumbnail(file, size);
  if (thumb) {
    const t = await uploadEncrypted(api, thumb.blob);
    const tParsed = parseEncryptedFile(t);
    if (media && tParsed) media.seed({ encrypted: tParsed, mimetype: thumb.blob.type }, thumb.blob);
    info.thumbnail_file = t;
    info.thumbnail_info = { mimetype: thumb.blob.type, size: thumb.blob.size, w: thumb.w, h: thumb.h };
  }
  const parsed = parseEncryptedFile(sent);
  if (media && parsed) media.seed({ encrypted: parsed, mimetype: file.type }, file);
  await store.send(roomId, "m.room.message", { msgtype: "m.image", body: name, file: sent, info });
}

/** Encrypt a Blob and upload the ciphertext (no name, no type): its EncryptedFile. */
async function uploadEncrypted(api, blob) {
  const { data, file } = await encryptAttachment(await blob.arrayBuffer());
  const { content_uri: url } = await api.upload(new Blob([data], { type: "application/octet-stream" }));
  return { url, ...file };
}

/** A JPEG thumbnail for a photo larger than THUMB, or null (small photos show as they are). */
async function thumbnail(file, size) {
  if (size.w <= THUMB.width && size.h <= THUMB.height) return null;
  try {
    const k = Math.min(THUMB.width / size.w, THUMB.height / size.h);
    const w = Math.max(1, Math.round(size.w * k)), hgt = Math.max(1, Math.round(size.h * k));
    const bmp = await createImageBitmap(file, { resizeWidth: w, resizeHeight: hgt, resizeQuality: "high" });
    const canvas = document.createElement("canvas");
    canvas.width = w;
    canvas.height = hgt;
    canvas.getContext("2d").drawImage(bmp, 0, 0);
    bmp.close();
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
    return blob ? { blob, w, h: hgt } : null;
  } catch {
    return null;   // no thumbnail: the full photo shows in the list
  }
}

/** What an m.image shows: an encrypted file (``file``, thumbnail ``info.thumbnail_file``) or a
 *  plain mxc:// URI (the server's thumbnail); null when neither is usable. */
function imageSources(c, info) {
  if (c.file !== undefined) {
    const full = parseEncryptedFile(c.file);
    if (!full) return null;
    const mimetype = IMAGE_TYPES.includes(info.mimetype) ? info.mimetype : "application/octet-stream";
    const tInfo = info.thumbnail_info && typeof info.thumbnail_info === "object" ? info.thumbnail_info : {};
    const t = info.thumbnail_file !== undefined ? parseEncryptedFile(info.thumbnail_file) : null;
    const src = { encrypted: full, mimetype };
    return { full: src, small: t ? { encrypted: t, mimetype: IMAGE_TYPES.includes(tInfo.mimetype) ? tInfo.mimetype : "image/jpeg" } : src, thumb: null };
  }
  const mxc = mxcOrNull(c.url);
  return mxc ? { full: mxc, small: mxc, thumb: THUMB } : null;
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
  const name = typeof c.body === "string" && c.body ? c.body : "photo";
  const info = c.info && typeof c.info === "object" ? c.info : {};
  const src = imageSources(c, info);
  if (!src) return h("p", { class: "msg-body" }, `(a photo that can't be shown: ${name})`);
  const box = fit(Number(info.w) || 0, Number(info.h) || 0, 240);
  const img = media.img(src.small, {
    alt: `Photo: ${name}`, thumb: src.thumb, cls: "msg-photo", width: box.width, height: box.height,
    onfail: (el) => el.replaceWith(h("span", { class: "msg-body" }, `Couldn't load the photo ${name}.`)),
  });
  return h("button", { type: "button", class: "msg-image", "aria-label": `Open photo ${name}`,
    onclick: () => openImage(media, src.full, name) }, img);
}

/** The full image in a dialog; Escape or the button closes it. ``src``: an mxc:// URI or an
 *  encrypted file (see media.js). */
export function openImage(media, src, name) {
  const close = h("button", { type: "submit", class: "btn", value: "close" }, "Close");
  const img = media.img(src, { alt: `Photo: ${name}`, cls: "full-photo" });
  const dlg = h("dialog", { class: "dialog photo-dialog", "aria-label": `Photo: ${name}` },
    h("form", { method: "dialog" }, img, h("div", { class: "row-end" },
      h("span", { class: "muted small photo-name" }, name), close)));
  document.body.append(dlg);
  dlg.addEventListener("close", () => { dlg.remove(); media.drop(src); });
  dlg.showModal();
  close.focus();
}
