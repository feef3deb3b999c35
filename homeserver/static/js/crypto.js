// End-to-end encryption for the backchannel: the Matrix Rust SDK's OlmMachine (vendored as
// WebAssembly, see vendor/matrix-sdk-crypto-wasm/README.md) driven directly. The server only
// relays keys and ciphertext (Olm to-device messages carrying Megolm room keys).
//
// One machine per signed-in user and device, its keys kept in this browser's IndexedDB under
// a name made of both, so a reload finds the same identity the server knows for that device.
const VENDOR = new URL("../vendor/matrix-sdk-crypto-wasm/index.js", import.meta.url);
const C = "/_matrix/client/v3";
const enc = encodeURIComponent;
export const MEGOLM = "m.megolm.v1.aes-sha2";
const MAX_PENDING = 500;       // undecryptable events kept for a retry when keys arrive

export function storeName(userId, deviceId) { return `audiorooms-crypto:${userId}:${deviceId}`; }

const STALE_KEY = "audiorooms.crypto.stale";

/** Forget a device's keys (the device was signed out: the server deleted it and its keys).
 *  Deleted on the next page load, when no machine can have its database open. */
export function deleteStore(userId, deviceId) {
  try {
    const stale = JSON.parse(localStorage.getItem(STALE_KEY) || "[]");
    stale.push(storeName(userId, deviceId));
    localStorage.setItem(STALE_KEY, JSON.stringify(stale.slice(-20)));
  } catch { /* private mode */ }
}

/** Delete the stores of signed-out devices (at start, before any machine opens one). */
export function purgeStaleStores() {
  let stale = [];
  try { stale = JSON.parse(localStorage.getItem(STALE_KEY) || "[]"); localStorage.removeItem(STALE_KEY); } catch { return; }
  // The Rust SDK keeps two databases: "<name>::matrix-sdk-crypto" and its meta database.
  for (const name of Array.isArray(stale) ? stale : []) {
    if (typeof name !== "string") continue;
    for (const suffix of ["::matrix-sdk-crypto", "::matrix-sdk-crypto-meta"]) {
      try { indexedDB.deleteDatabase(name + suffix); } catch { /* private mode */ }
    }
  }
}

export class Crypto extends EventTarget {
  constructor(api, userId, deviceId) {
    super();
    this.api = api;
    this.userId = userId;
    this.deviceId = deviceId;
    this.sdk = null;
    this.machine = null;
    this.failed = null;        // why encryption could not start (shown in DMs)
    this.queue = Promise.resolve();   // outgoing requests, one batch at a time
    this.pending = new Map();  // event_id -> {roomId, raw}: not decryptable yet
    this.keysIn = 0;           // to-device batches taken in so far (see decrypt)
    this.ready = this.start();
  }

  /** Started, or failed to: syncs wait for decryption from now on. */
  get settled() { return !!(this.machine || this.failed || this.closed); }

  async start() {
    try {
      this.sdk = await import(VENDOR.href);
      await this.sdk.initAsync();
      const s = this.sdk;
      this.machine = await s.OlmMachine.initialize(new s.UserId(this.userId), new s.DeviceId(this.deviceId),
        storeName(this.userId, this.deviceId));
      await this.flush();       // upload this device's identity and one-time keys at once
      return true;
    } catch (e) {
      this.failed = e?.message || String(e);
      console.warn("end-to-end encryption is unavailable:", e);
      return false;
    }
  }

  /** Signing out: send nothing more, let a request under way finish (bounded), then close. */
  async shutdown() {
    this.closed = true;
    await Promise.race([this.queue, new Promise((r) => setTimeout(r, 3000))]);
    this.close();
  }

  close() {
    const m = this.machine;
    this.machine = null;
    this.closed = true;
    try { m?.close(); } catch { /* already freed */ }
  }

  /** Send the machine's outgoing requests (key uploads and queries, claims, to-device
   *  messages) and hand the answers back; serialized, so none is sent twice. */
  flush() {
    const run = this.queue.then(() => this.sendOutgoing());
    this.queue = run.catch(() => {});
    return run;
  }

  async sendOutgoing() {
    if (!this.machine || this.closed) return;
    const reqs = await this.machine.outgoingRequests();
    for (const r of reqs) if (!this.closed) await this.sendRequest(r);
  }

  async sendRequest(r) {
    const s = this.sdk;
    const body = JSON.parse(r.body);
    let res;
    switch (r.type) {
      case s.RequestType.KeysUpload: res = await this.api.request("POST", `${C}/keys/upload`, body); break;
      case s.RequestType.KeysQuery: res = await this.api.request("POST", `${C}/keys/query`, body); break;
      case s.RequestType.KeysClaim: res = await this.api.request("POST", `${C}/keys/claim`, body); break;
      case s.RequestType.SignatureUpload: res = await this.api.request("POST", `${C}/keys/signatures/upload`, body); break;
      case s.RequestType.ToDevice:
        res = await this.api.request("PUT", `${C}/sendToDevice/${enc(r.event_type)}/${enc(r.txn_id)}`, body); break;
      case s.RequestType.RoomMessage:
        res = await this.api.request("PUT", `${C}/rooms/${enc(r.room_id)}/send/${enc(r.event_type)}/${enc(r.txn_id)}`, body); break;
      default: return;     // key backup: this server's client keeps none
    }
    if (r.id && this.machine) await this.machine.markRequestAsSent(r.id, r.type, JSON.stringify(res ?? {}));
  }

  // the sync loop --------------------------------------------------------------------------

  /** Before a sync response is applied: take in its to-device messages (room keys), device
   *  list changes and key counts, then decrypt its encrypted timeline events in place. */
  async processSync(res) {
    if (!(await this.ready) || !this.machine) { await this.decryptTimelines(res); return; }
    const s = this.sdk;
    const toDevice = Array.isArray(res.to_device?.events) ? res.to_device.events : [];
    const lists = res.device_lists || {};
    const ids = (a) => (Array.isArray(a) ? a : []).filter((u) => typeof u === "string").slice(0, 1000)
      .flatMap((u) => { try { return [new s.UserId(u)]; } catch { return []; } });
    const counts = new Map(Object.entries(res.device_one_time_keys_count || {})
      .filter(([, n]) => Number.isInteger(n)));
    const fallback = Array.isArray(res.device_unused_fallback_key_types)
      ? new Set(res.device_unused_fallback_key_types.filter((t) => typeof t === "string")) : null;
    await this.machine.receiveSyncChanges(JSON.stringify(toDevice),
      new s.DeviceLists(ids(lists.changed), ids(lists.left)), counts, fallback);
    if (toDevice.length) this.keysIn++;
    await this.decryptTimelines(res);
    if (toDevice.length && this.pending.size) this.retry();
    this.flush().catch((e) => console.warn("sending encryption keys failed:", e));
  }

  async decryptTimelines(res) {
    for (const [roomId, data] of Object.entries(res.rooms?.join || {})) {
      const events = Array.isArray(data?.timeline?.events) ? data.timeline.events : [];
      for (let i = 0; i < events.length; i++) {
        if (events[i]?.type === "m.room.encrypted") events[i] = await this.decrypt(roomId, events[i]);
      }
    }
  }

  /** An m.room.encrypted event as its plaintext event (marked ``_e2e``), or as an
   *  "unable to decrypt" placeholder (``_utd``) kept for a retry when keys arrive. */
  async decrypt(roomId, ev) {
    if (!(await this.ready) || !this.machine) return utd(ev, this.failed || "encryption is unavailable here");
    for (let attempt = 0; ; attempt++) {
      // A key that comes in while this attempt is under way finds nothing pending to retry
      // (a history page decrypts beside the sync loop), so the attempt checks for it itself.
      const keysBefore = this.keysIn;
      try {
        const out = await this.machine.decryptRoomEvent(JSON.stringify(ev), new this.sdk.RoomId(roomId),
          new this.sdk.DecryptionSettings(this.sdk.TrustRequirement.Untrusted));
        const clear = JSON.parse(out.event);
        this.pending.delete(ev.event_id);
        const content = clear.content && typeof clear.content === "object" ? clear.content : {};
        return { ...ev, type: typeof clear.type === "string" ? clear.type : "m.room.message", content, _e2e: true };
      } catch (e) {
        if (this.keysIn !== keysBefore && attempt < 3) continue;
        if (this.pending.size < MAX_PENDING) this.pending.set(ev.event_id, { roomId, raw: ev });
        return utd(ev, e?.description || e?.message || "no key");
      }
    }
  }

  /** Keys arrived: try the undecryptable events again; "decrypted" events say which. */
  async retry() {
    for (const [eventId, { roomId, raw }] of [...this.pending]) {
      const ev = await this.decrypt(roomId, raw);
      if (ev._e2e) this.dispatchEvent(new CustomEvent("decrypted", { detail: { roomId, eventId, event: ev } }));
    }
  }

  /** Follow these users' devices (members of encrypted rooms). */
  async track(userIds) {
    if (!(await this.ready) || !this.machine || this.closed || !userIds.length) return;
    await this.machine.updateTrackedUsers(userIds.map((u) => new this.sdk.UserId(u)));
  }

  // sending --------------------------------------------------------------------------------

  /** Encrypt ``content`` for ``members`` (joined and invited) and send it to the room. */
  async send(roomId, type, content, members) {
    if (!(await this.ready) || !this.machine) {
      throw new Error(`This conversation is end-to-end encrypted, but encryption couldn't start in this browser (${this.failed}).`);
    }
    const s = this.sdk;
    const users = [...new Set([this.userId, ...members])].map((u) => new s.UserId(u));
    // One sender at a time: the room key is shared before any message that uses it.
    const run = this.queue.then(async () => {
      await this.machine.updateTrackedUsers(users.map((u) => u.clone()));
      await this.sendOutgoing();                     // the key queries for new members
      const claim = await this.machine.getMissingSessions(users.map((u) => u.clone()));
      if (claim) await this.sendRequest(claim);      // one-time keys for new Olm sessions
      const settings = new s.EncryptionSettings();
      settings.sharingStrategy = s.CollectStrategy.deviceBasedStrategy(false, false);
      const share = await this.machine.shareRoomKey(new s.RoomId(roomId), users.map((u) => u.clone()), settings);
      for (const r of share || []) await this.sendRequest(r);
      return JSON.parse(await this.machine.encryptRoomEvent(new s.RoomId(roomId), type, JSON.stringify(content)));
    });
    this.queue = run.catch(() => {});
    const encrypted = await run;
    return this.api.send(roomId, "m.room.encrypted", encrypted);
  }
}

function utd(ev, why) {
  return { ...ev, type: "m.room.message", _utd: true, _why: String(why).slice(0, 200),
    content: { msgtype: "m.bad.encrypted", body: "Unable to decrypt this message. It will show here if the sender's keys arrive." } };
}
