// Photos and replays from the media repository. Downloads need the access token, which an <img>
// or <audio> can't send, so files are fetched with it and shown from blob: URLs (seeking in a
// replay then needs no further requests), cached per (URI, size) and revoked once no image or
// player on the page has used them for a while.
import { b64, decryptAttachment } from "./attachments.js";
import { mxcOrNull } from "./model.js";
import { h, hue, initials } from "./ui.js";

const SWEEP_MS = 30000;
const MAX_ENTRIES = 300;
export const IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/** The cache key of a source: an mxc:// URI (with a thumbnail size), or an encrypted file
 *  ``{encrypted: parseEncryptedFile(...), mimetype}`` (keyed by its key too: another message
 *  may point at the same upload with a different key). */
function keyOf(src, thumb) {
  if (typeof src !== "string") return `${src.encrypted.mxc}#e2e:${b64(src.encrypted.key)}:${b64(src.encrypted.iv)}`;
  return thumb ? `${src}#${thumb.width}x${thumb.height}${thumb.method || "scale"}` : src;
}

function parse(mxc) {
  const rest = mxc.slice("mxc://".length);
  const i = rest.indexOf("/");
  return { server: rest.slice(0, i), mediaId: rest.slice(i + 1) };
}

export class MediaCache {
  constructor(api) {
    this.api = api;
    this.entries = new Map();   // key -> {url, promise, used}
    this.timer = setInterval(() => this.sweep(), SWEEP_MS);
  }

  /** A blob: URL for the file (an image's thumbnail when ``thumb`` {width, height, method}).
   *  ``src``: an mxc:// URI, or an encrypted file (see keyOf), fetched as ciphertext through
   *  the same authenticated endpoint, checked against its hash and decrypted here.
   *  ``keep``: a player holds it; it is not revoked until ``release(mxc)``. */
  url(src, thumb = null, { keep = false } = {}) {
    const key = keyOf(src, thumb);
    let e = this.entries.get(key);
    if (!e) {
      e = { url: null, used: Date.now(), promise: null };
      e.promise = this.fetch(src, thumb)
        .then((blob) => { e.url = URL.createObjectURL(blob); return e.url; })
        .catch((err) => { this.entries.delete(key); throw err; });
      this.entries.set(key, e);
      this.trim();
    }
    e.used = Date.now();
    if (keep) e.keep = true;
    return e.url ? Promise.resolve(e.url) : e.promise;
  }

  async fetch(src, thumb) {
    if (typeof src !== "string") {
      const { server, mediaId } = parse(src.encrypted.mxc);
      const data = await (await this.api.mediaBlob(server, mediaId)).arrayBuffer();
      return new Blob([await decryptAttachment(data, src.encrypted)], { type: src.mimetype || "application/octet-stream" });
    }
    const { server, mediaId } = parse(src);
    return this.api.mediaBlob(server, mediaId, thumb)
      .catch((err) => (thumb ? this.api.mediaBlob(server, mediaId) : Promise.reject(err)));
  }

  /** A file this page has just encrypted and sent: shown from its plaintext, no download. */
  seed(src, blob) {
    const key = keyOf(src, null);
    if (this.entries.has(key)) return;
    const url = URL.createObjectURL(blob);
    this.entries.set(key, { url, used: Date.now(), promise: Promise.resolve(url) });
    this.trim();
  }

  /** A player no longer holds the file: it may be revoked like any other. */
  release(mxc) {
    const e = this.entries.get(mxc);
    if (e) { e.keep = false; e.used = Date.now(); }
  }

  /** The view showing ``src`` went (a dialog closed): revoke its URL now, unless another
   *  image on the page still shows it. */
  drop(src, thumb = null) {
    const key = keyOf(src, thumb);
    const e = this.entries.get(key);
    if (!e?.url || e.keep || [...document.images].some((i) => i.src === e.url)) return;
    URL.revokeObjectURL(e.url);
    this.entries.delete(key);
  }

  /** An <img> that shows the image once it has arrived; ``onfail`` if it can't. */
  img(src, { alt, thumb = null, cls = "", width, height, onfail } = {}) {
    const img = h("img", { alt, class: cls, width, height, decoding: "async" });
    const key = keyOf(src, thumb);
    const ready = this.entries.get(key)?.url;
    if (ready) { img.src = ready; this.entries.get(key).used = Date.now(); }
    else {
      img.classList.add("loading");
      this.url(src, thumb).then((u) => { img.src = u; img.classList.remove("loading"); },
        () => { img.classList.remove("loading"); if (onfail) onfail(img); });
    }
    return img;
  }

  /** Revoke URLs no image or player on the page shows and nobody asked for recently. */
  sweep(force = false) {
    const shown = new Set([...document.images, ...document.querySelectorAll("audio, video")].map((i) => i.src));
    const old = Date.now() - SWEEP_MS;
    for (const [key, e] of this.entries) {
      if (e.url && !e.keep && !shown.has(e.url) && (force || e.used < old)) {
        URL.revokeObjectURL(e.url);
        this.entries.delete(key);
      }
    }
  }

  trim() {
    if (this.entries.size > MAX_ENTRIES) this.sweep(true);
  }

  close() {
    clearInterval(this.timer);
    for (const e of this.entries.values()) if (e.url) URL.revokeObjectURL(e.url);
    this.entries.clear();
  }
}

const AVATAR_PX = { small: 30, "": 44, large: 64, xl: 96 };

/** A person's round avatar: their photo when they have one, else their initials. */
export function avatar(media, userId, name, avatarUrl, size = "") {
  const span = h("span", { class: `avatar ${size}`, style: `--hue:${hue(userId)}` },
    h("span", { class: "avatar-initials", "aria-hidden": "true" }, initials(name || userId)));
  const mxc = mxcOrNull(avatarUrl);
  if (!mxc || !media) { span.setAttribute("aria-hidden", "true"); return span; }
  const px = AVATAR_PX[size] ?? 44;
  const side = px <= 32 ? 32 : px <= 64 ? 64 : 96;   // a few sizes, so the cache is shared
  const img = media.img(mxc, {
    alt: `Photo of ${name || userId}`, cls: "avatar-photo", width: px, height: px,
    thumb: { width: side * 2, height: side * 2, method: "crop" },
    onfail: (el) => { el.remove(); span.setAttribute("aria-hidden", "true"); },
  });
  span.append(img);
  span.classList.add("has-photo");
  return span;
}

/** The size of a picked image, read locally before uploading. */
export async function imageSize(file) {
  try {
    const bmp = await createImageBitmap(file);
    const size = { w: bmp.width, h: bmp.height };
    bmp.close();
    return size;
  } catch {
    return null;   // not an image the browser can decode
  }
}

/** Fit (w, h) inside max x max, never enlarging. */
export function fit(w, h, max) {
  if (!w || !h) return { width: max, height: Math.round(max * 0.75) };
  const k = Math.min(1, max / Math.max(w, h));
  return { width: Math.max(1, Math.round(w * k)), height: Math.max(1, Math.round(h * k)) };
}
