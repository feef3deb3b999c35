// Client state kept current by one /sync long-poll loop; views subscribe to its events.
import { ApiError } from "./api.js";
import { LIVE, RECORDING, ROLE, Room } from "./model.js";
import { REACTION } from "./reactions.js";

const SYNC_TIMEOUT_MS = 25000;

export class Store extends EventTarget {
  constructor(api, userId) {
    super();
    this.api = api;
    this.me = userId;
    this.rooms = new Map();
    this.direct = {};            // m.direct: user ID -> [room IDs]
    this.since = null;
    this.synced = false;         // the first sync has arrived
    this.online = true;
    this.running = false;
    this.abort = null;
    this.crypto = null;          // Crypto (crypto.js) once set: decrypts before apply()
    this.readKey = `audiorooms.read.${userId}`;
    try { this.read = JSON.parse(localStorage.getItem(this.readKey) || "{}"); } catch { this.read = {}; }
  }

  room(id) {
    let r = this.rooms.get(id);
    if (!r) { r = new Room(id); this.rooms.set(id, r); }
    return r;
  }

  emit(type, detail = {}) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  on(type, fn) {
    const handler = (e) => fn(e.detail);
    this.addEventListener(type, handler);
    return () => this.removeEventListener(type, handler);
  }

  // the loop ---------------------------------------------------------------------------------

  start() {
    if (this.running) return;
    this.running = true;
    this.loop();
  }

  stop() {
    this.running = false;
    if (this.abort) this.abort.abort();
  }

  async loop() {
    let backoff = 1000;
    while (this.running) {
      this.abort = new AbortController();
      try {
        const res = await this.api.sync(this.since, this.online ? SYNC_TIMEOUT_MS : 0, this.abort.signal);
        if (!this.running) return;
        // Keys and to-device messages are taken in before the next request acknowledges them.
        // Once encryption is up, events are decrypted before they show; while its WebAssembly
        // still loads, the rest of the sync shows at once and encrypted events say
        // "Decrypting…" until it is done.
        let late = null;
        if (this.crypto) {
          const work = this.crypto.processSync(res).catch((e) => console.warn("decrypting the sync failed:", e));
          if (this.crypto.settled) await work; else late = work;
        }
        if (!this.running) return;
        const first = this.since === null;
        this.apply(res, first);
        if (late) { await late; this.applyDecrypted(res); }
        this.since = res.next_batch;
        backoff = 1000;
        if (!this.online || first) { this.online = true; this.synced = true; this.emit("status", { online: true }); }
      } catch (e) {
        if (!this.running) return;
        if (e.name === "AbortError") continue;  // woken up: sync again now
        if (e instanceof ApiError && e.status === 401) return; // signed out elsewhere: app handles it
        this.setOffline(e);
        await new Promise((r) => { this.wakeUp = r; setTimeout(r, backoff); });
        this.wakeUp = null;
        backoff = Math.min(backoff * 2, 8000);
      }
    }
  }

  /** The connection is lost (a request failed, or the browser says so): say so at once. */
  setOffline(error = null) {
    if (!this.online) return;
    this.online = false;
    this.emit("status", { online: false, error });
  }

  /** Sync again now (the network is back, or a request just failed and we want to know). */
  wake() {
    if (this.wakeUp) this.wakeUp();
    else if (this.abort && !this.online) this.abort.abort();
  }

  apply(res, initial) {
    const changed = new Set();
    let directChanged = false;
    for (const ev of res.account_data?.events || []) {
      if (ev.type === "m.direct") { this.direct = ev.content || {}; directChanged = true; }
    }
    const rooms = res.rooms || {};
    for (const [id, data] of Object.entries(rooms.join || {})) {
      const room = this.room(id);
      const wasJoined = room.membership === "join";
      room.inviteState = null;
      if (data.timeline?.limited) { room.timeline = []; room.historyLoaded = false; }
      if (data.timeline?.prev_batch && (!wasJoined || data.timeline?.limited)) room.prevBatch = data.timeline.prev_batch;
      for (const ev of data.state?.events || []) room.setState(ev);
      for (const ev of data.timeline?.events || []) this.applyEvent(room, ev, initial);
      for (const ev of data.ephemeral?.events || []) this.applyEphemeral(room, ev);
      room.membership = room.membershipOf(this.me) || "join";
      changed.add(id);
    }
    for (const [id, data] of Object.entries(rooms.invite || {})) {
      const room = this.room(id);
      room.inviteState = data.invite_state?.events || [];
      room.membership = "invite";
      changed.add(id);
    }
    for (const [id, data] of Object.entries(rooms.leave || {})) {
      const room = this.room(id);
      for (const ev of data.timeline?.events || []) this.applyEvent(room, ev, initial);
      room.membership = room.membershipOf(this.me) || "leave";
      room.inviteState = null;
      changed.add(id);
    }
    if (changed.size || directChanged) this.emit("change", { rooms: changed, direct: directChanged, initial });
    this.trackEncrypted(changed);
  }

  /** Follow the devices of everyone in our encrypted rooms, so keys go to all of them. */
  trackEncrypted(roomIds) {
    if (!this.crypto) return;
    const users = new Set();
    for (const id of roomIds) {
      const room = this.rooms.get(id);
      if (!room?.encryption || room.membership !== "join") continue;
      for (const m of [...room.members("join"), ...room.members("invite")]) users.add(m.userId);
    }
    if (users.size) this.crypto.track([...users]).catch((e) => console.warn("tracking devices failed:", e));
  }

  /** The encrypted events of ``res`` applied before they were decrypted: as decrypted now. */
  applyDecrypted(res) {
    const changed = new Set();
    for (const [id, data] of Object.entries(res.rooms?.join || {})) {
      for (const ev of data.timeline?.events || []) {
        if ((ev._e2e || ev._utd) && this.rooms.get(id)?.replaceMessage(ev)) changed.add(id);
      }
    }
    if (changed.size) this.emit("change", { rooms: changed });
  }

  /** A message that could not be decrypted before now can be: show its text. */
  decrypted(roomId, event) {
    const room = this.rooms.get(roomId);
    if (room?.replaceMessage(event)) this.emit("change", { rooms: new Set([roomId]) });
  }

  /** Send a message: end-to-end encrypted where the room says so (m.room.encryption). */
  async send(roomId, type, content) {
    const room = this.room(roomId);
    if (!room.encryption) return this.api.send(roomId, type, content);
    if (!this.crypto) throw new Error("This conversation is end-to-end encrypted, and encryption isn't available here.");
    const members = [...room.members("join"), ...room.members("invite")].map((m) => m.userId);
    const res = await this.crypto.send(roomId, type, content, members);
    // Our own message shows at once, as we wrote it; its encrypted copy from the sync (the same
    // event ID) then adds nothing.
    if (typeof res?.event_id === "string" && room.addMessage({ event_id: res.event_id, room_id: roomId,
      sender: this.me, type, content, origin_server_ts: Date.now(), _e2e: true })) {
      this.emit("change", { rooms: new Set([roomId]) });
    }
    return res;
  }

  applyEvent(room, ev, initial) {
    if (ev.state_key !== undefined) {
      const before = room.get(ev.type, ev.state_key);
      const roleBefore = ev.type === ROLE && ev.state_key === this.me ? room.roleOf(this.me) : null;
      room.setState(ev);
      if (initial) return;
      if (ev.type === ROLE && ev.state_key === this.me) {
        this.emit("my-role", { roomId: room.id, before: roleBefore, after: room.roleOf(this.me), sender: ev.sender });
      } else if (ev.type === LIVE) {
        if (ev.content?.live === false && typeof ev.content?.scheduled_for !== "number") {
          this.emit("room-ended", { roomId: room.id, sender: ev.sender });
        } else if (ev.content?.live === true && before?.content?.live === false) {
          this.emit("room-live", { roomId: room.id });
        }
      } else if (ev.type === RECORDING && ev.state_key === ""
                 && (ev.content?.recording === true) !== (before?.content?.recording === true)) {
        this.emit("recording", { roomId: room.id, recording: ev.content?.recording === true, sender: ev.sender });
      } else if (ev.type === "m.room.member" && ev.state_key === this.me && ev.sender !== this.me
                 && ["leave", "ban"].includes(ev.content?.membership)
                 && before?.content?.membership === "join") {
        this.emit("removed", { roomId: room.id, membership: ev.content.membership, sender: ev.sender, reason: ev.content.reason });
      }
      return;
    }
    if (ev.type === "m.room.encrypted") {   // not decrypted yet (see loop): a placeholder
      ev = { ...ev, type: "m.room.message", _pending: true, content: { msgtype: "m.bad.encrypted", body: "Decrypting…" } };
    }
    if (ev.type === "m.room.message" && room.addMessage(ev) && !initial) {
      this.emit("message", { roomId: room.id, event: ev });
    } else if (ev.type === REACTION && !initial) {
      this.emit("reaction", { roomId: room.id, event: ev });  // shown live, not kept
    }
  }

  applyEphemeral(room, ev) {
    if (ev.type === "m.typing") {
      const ids = ev.content?.user_ids;
      room.typing = Array.isArray(ids) ? ids.filter((u) => typeof u === "string").slice(0, 50) : [];
    } else if (ev.type === "m.receipt" && ev.content && typeof ev.content === "object") {
      room.addReceipts(ev.content);
    }
  }

  /** Seed a room's state straight from the server (after joining, before sync catches up). */
  async loadState(roomId) {
    const events = await this.api.state(roomId);
    const room = this.room(roomId);
    for (const ev of events) {
      const have = room.get(ev.type, ev.state_key);
      if (!have || have.event_id !== ev.event_id) room.setState(ev);
    }
    room.membership = room.membershipOf(this.me) || room.membership;
    this.emit("change", { rooms: new Set([roomId]) });
    return room;
  }

  async loadHistory(roomId) {
    const room = this.room(roomId);
    if (room.historyLoaded) return;
    const res = await this.api.messages(roomId, undefined, 100);
    for (let ev of res.chunk || []) {
      if (ev.type === "m.room.encrypted" && this.crypto) ev = await this.crypto.decrypt(roomId, ev);
      if (ev.type === "m.room.message") room.addMessage(ev);
    }
    room.historyLoaded = true;
    this.emit("change", { rooms: new Set([roomId]) });
  }

  // the backchannel ------------------------------------------------------------------------

  isDirect(room) {
    if (room.membership === "invite") {
      const mine = room.inviteState?.find((e) => e.type === "m.room.member" && e.state_key === this.me);
      // Our DMs invite after the first message (with it as the reason), and the invite API
      // can't carry is_direct: an unnamed chat room is a DM too.
      const reason = mine?.content?.reason;
      return mine?.content?.is_direct === true
        || (typeof reason === "string" && reason !== "" && !room.isAudio && !room.isSpace && !room.name);
    }
    return Object.values(this.direct).some((ids) => Array.isArray(ids) && ids.includes(room.id));
  }

  dmRooms() {
    const out = [];
    for (const room of this.rooms.values()) {
      if (!["join", "invite"].includes(room.membership)) continue;
      if (room.isAudio || room.isSpace) continue;
      if (this.isDirect(room)) out.push(room);
    }
    const last = (r) => r.timeline.at(-1)?.origin_server_ts || r.get("m.room.create")?.origin_server_ts || Date.now();
    return out.sort((a, b) => (b.membership === "invite") - (a.membership === "invite") || last(b) - last(a));
  }

  unread(room) {
    if (room.membership === "invite") return 1;
    const since = this.read[room.id] || 0;
    return room.timeline.filter((e) => e.sender !== this.me && e.origin_server_ts > since).length;
  }

  totalUnread() { return this.dmRooms().reduce((n, r) => n + this.unread(r), 0); }

  /** The user has seen the room's latest message: clear its unread count here, and tell the
   *  server (a read receipt, which the other members see as "Seen"). */
  markRead(room) {
    this.sendReceipt(room);
    const last = room.timeline.at(-1)?.origin_server_ts;
    if (!last || (this.read[room.id] || 0) >= last) return;
    this.read[room.id] = last;
    try { localStorage.setItem(this.readKey, JSON.stringify(this.read)); } catch { /* private mode */ }
    this.emit("change", { rooms: new Set([room.id]), read: true });
  }

  sendReceipt(room) {
    const last = room.timeline.findLast((e) => e.sender !== this.me);
    if (!last || room.membership !== "join") return;
    const mine = room.receipts.get(this.me);
    if (mine && (mine.eventId === last.event_id || room.readIndex(this.me) >= room.timeline.indexOf(last))) return;
    if (this.receiptSent?.[room.id] === last.event_id) return;
    this.receiptSent = { ...this.receiptSent, [room.id]: last.event_id };
    this.api.sendReceipt(room.id, last.event_id).catch(() => {
      if (this.receiptSent?.[room.id] === last.event_id) delete this.receiptSent[room.id]; // try again next time
    });
  }

  /** Show a new DM at once; the server records it in m.direct and sync brings that. */
  addDirect(userIds, roomId) {
    for (const u of userIds) {
      const list = this.direct[u] || [];
      if (!list.includes(roomId)) this.direct = { ...this.direct, [u]: [...list, roomId] };
    }
    this.emit("change", { rooms: new Set([roomId]), direct: true });
  }

  audioRooms() {
    return [...this.rooms.values()].filter((r) => r.isAudio && r.membership === "join");
  }
  spaces() {
    return [...this.rooms.values()].filter((r) => r.isSpace && r.membership === "join");
  }
}
