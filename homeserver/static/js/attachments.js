// Encrypted attachments (Matrix spec, "Sending encrypted attachments"): in an end-to-end
// encrypted conversation a photo is encrypted here before it is uploaded, with AES-CTR-256
// under a fresh random key and a 128-bit counter block (random high 64 bits, zero low 64 bits).
// The event (itself Megolm-encrypted) carries ``file: {url, key, iv, hashes, v}``; the servers
// only ever store and relay ciphertext. On display the ciphertext is fetched, its SHA-256
// checked against ``hashes.sha256``, then decrypted here (WebCrypto).
import { mxcOrNull } from "./model.js";

const B64URL = /^[A-Za-z0-9_-]+$/;
const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Unpadded standard base64 of bytes (the spec's encoding for ``iv`` and hashes). */
export function b64(bytes) {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/=+$/, "");
}

/** Bytes from base64, standard or URL-safe, padded or not; null when malformed. */
export function unb64(text) {
  if (typeof text !== "string" || text.length > 1000) return null;
  const std = text.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  if (std && !B64.test(std)) return null;
  try {
    const bin = atob(std + "=".repeat((4 - (std.length % 4)) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/** Encrypt a file's bytes: ``{data}`` (the ciphertext, to upload) and ``{file}`` (the
 *  EncryptedFile object without ``url``, which the caller adds after the upload). */
export async function encryptAttachment(plain) {
  const key = await crypto.subtle.generateKey({ name: "AES-CTR", length: 256 }, true, ["encrypt", "decrypt"]);
  const iv = new Uint8Array(16);
  crypto.getRandomValues(iv.subarray(0, 8));          // the low 64 bits (the counter) stay 0
  const data = await crypto.subtle.encrypt({ name: "AES-CTR", counter: iv, length: 64 }, key, plain);
  const jwk = await crypto.subtle.exportKey("jwk", key);
  const hash = await crypto.subtle.digest("SHA-256", data);
  return {
    data,
    file: {
      key: { kty: "oct", key_ops: ["encrypt", "decrypt"], alg: "A256CTR", k: jwk.k, ext: true },
      iv: b64(iv),
      hashes: { sha256: b64(hash) },
      v: "v2",
    },
  };
}

/** An event's EncryptedFile, checked field by field; null when anything is off (a hostile or
 *  broken sender): {mxc, file, key (32 bytes), iv (16 bytes), sha256 (32 bytes)}. */
export function parseEncryptedFile(f) {
  if (!f || typeof f !== "object" || Array.isArray(f)) return null;
  const mxc = mxcOrNull(f.url);
  const k = f.key;
  if (!mxc || f.v !== "v2" || !k || typeof k !== "object") return null;
  if (k.kty !== "oct" || k.alg !== "A256CTR" || typeof k.k !== "string" || !B64URL.test(k.k.replace(/=+$/, ""))) return null;
  if (!Array.isArray(k.key_ops) || !k.key_ops.includes("decrypt")) return null;
  const key = unb64(k.k);
  const iv = unb64(f.iv);
  const sha256 = unb64(f.hashes && typeof f.hashes === "object" ? f.hashes.sha256 : null);
  if (key?.length !== 32 || iv?.length !== 16 || sha256?.length !== 32) return null;
  return { mxc, key, iv, sha256 };
}

/** The plaintext of an attachment's ciphertext; throws if its hash does not match. */
export async function decryptAttachment(data, parsed) {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  if (hash.length !== parsed.sha256.length || hash.some((b, i) => b !== parsed.sha256[i])) {
    throw new Error("The file doesn't match the hash in its message: it was changed on the way.");
  }
  const key = await crypto.subtle.importKey("raw", parsed.key, { name: "AES-CTR" }, false, ["decrypt"]);
  return crypto.subtle.decrypt({ name: "AES-CTR", counter: parsed.iv, length: 64 }, key, data);
}
