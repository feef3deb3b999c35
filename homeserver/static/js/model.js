// Rooms as the client sees them, and the stage rules of homeserver/stage.py read from state.

export const AUDIO_ROOM = "org.audiorooms.audio";
export const ROLE = "org.audiorooms.role";
export const HAND = "org.audiorooms.hand";
export const LIVE = "org.audiorooms.live";
export const RSVP = "org.audiorooms.rsvp";
export const RECORDING = "org.audiorooms.recording";
export const REPLAY = "org.audiorooms.replay";
export const STAGE_ROLES = ["moderator", "speaker"];

const MXC = /^mxc:\/\/[A-Za-z0-9.:[\]-]+\/[A-Za-z0-9_-]+$/;

/** A well-formed mxc:// URI, or null (anything else in an event is ignored). */
export function mxcOrNull(uri) {
  return typeof uri === "string" && uri.length < 512 && MXC.test(uri) ? uri : null;
}

export class Room {
  constructor(id) {
    this.id = id;
    this.state = new Map();          // "type\u0000state_key" -> event
    this.timeline = [];              // m.room.message events, oldest first
    this.membership = null;          // my membership: join | invite | leave | ban | null
    this.inviteState = null;         // stripped state while invited
    this.prevBatch = null;
    this.historyLoaded = false;
    this.seq = 0;                    // arrival order, to order events with equal timestamps
    this.typing = [];                // user IDs typing now (m.typing)
    this.receipts = new Map();       // user ID -> {eventId, ts}: the last event they have read
  }

  key(type, stateKey = "") { return `${type}\u0000${stateKey}`; }
  get(type, stateKey = "") { return this.state.get(this.key(type, stateKey)); }
  content(type, stateKey = "") { return this.get(type, stateKey)?.content || {}; }
  ofType(type) { return [...this.state.values()].filter((e) => e.type === type); }

  setState(ev) {
    this.seq += 1;
    this.state.set(this.key(ev.type, ev.state_key), { ...ev, _seq: this.seq });
  }

  /** A message decrypted late (its keys arrived after it): in place of its placeholder. */
  replaceMessage(ev) {
    const i = this.timeline.findIndex((e) => e.event_id === ev.event_id);
    if (i < 0) return false;
    this.timeline[i] = ev;
    return true;
  }

  addMessage(ev) {
    if (this.timeline.some((e) => e.event_id === ev.event_id)) return false;
    this.timeline.push(ev);
    this.timeline.sort((a, b) => a.origin_server_ts - b.origin_server_ts);
    if (this.timeline.length > 500) this.timeline.splice(0, this.timeline.length - 500);
    return true;
  }

  get createType() {
    const c = this.get("m.room.create") || this.inviteState?.find((e) => e.type === "m.room.create");
    return c?.content?.type;
  }
  get isAudio() { return this.createType === AUDIO_ROOM; }
  /** The room's encryption algorithm (m.room.encryption), or "" when it is not encrypted. */
  get encryption() {
    const c = this.get("m.room.encryption")?.content
      || this.inviteState?.find((e) => e.type === "m.room.encryption" && e.state_key === "")?.content;
    return typeof c?.algorithm === "string" ? c.algorithm : "";
  }
  get isSpace() { return this.createType === "m.space"; }
  get name() {
    return this.content("m.room.name").name
      || this.inviteState?.find((e) => e.type === "m.room.name")?.content?.name || "";
  }
  get topic() { return this.content("m.room.topic").topic || ""; }
  get alias() { return this.content("m.room.canonical_alias").alias || ""; }
  get joinRule() { return this.content("m.room.join_rules").join_rule || "invite"; }
  get host() { return this.id.slice(this.id.indexOf(":") + 1); }

  membershipOf(userId) { return this.content("m.room.member", userId).membership || null; }

  members(membership = "join") {
    return this.ofType("m.room.member")
      .filter((e) => e.content?.membership === membership)
      .map((e) => ({ userId: e.state_key, displayname: e.content.displayname || e.state_key,
        avatarUrl: mxcOrNull(e.content.avatar_url) }));
  }

  /** A member's photo (an mxc:// URI from their member event), or null. */
  avatarOf(userId) {
    return mxcOrNull(this.content("m.room.member", userId).avatar_url);
  }

  /** Merge an m.receipt event: keep each user's latest m.read (and our own m.read.private). */
  addReceipts(content) {
    for (const [eventId, byType] of Object.entries(content || {})) {
      for (const type of ["m.read", "m.read.private"]) {
        for (const [userId, r] of Object.entries(byType?.[type] || {})) {
          const ts = typeof r?.ts === "number" ? r.ts : 0;
          const have = this.receipts.get(userId);
          if (!have || ts >= have.ts) this.receipts.set(userId, { eventId, ts });
        }
      }
    }
  }

  /** Index in the timeline of the last message ``userId`` has read, or -1. */
  readIndex(userId) {
    const r = this.receipts.get(userId);
    if (!r) return -1;
    let i = this.timeline.findIndex((e) => e.event_id === r.eventId);
    if (i < 0) {
      // A receipt on an event we don't show (a state change): everything up to when they read.
      i = this.timeline.findLastIndex((e) => e.origin_server_ts <= r.ts);
    }
    return i;
  }

  displayName(userId) {
    const c = this.content("m.room.member", userId);
    return (typeof c.displayname === "string" && c.displayname) || userId;
  }

  /** A DM's title: its name, else the other people in it. */
  dmTitle(me) {
    if (this.name) return this.name;
    const others = [...this.members("join"), ...this.members("invite")]
      .filter((m) => m.userId !== me).map((m) => m.displayname);
    if (others.length) return others.join(", ");
    const mine = this.inviteState?.find((e) => e.type === "m.room.member" && e.state_key === me);
    const inviter = mine?.sender;
    if (inviter) {
      const ev = this.inviteState.find((e) => e.type === "m.room.member" && e.state_key === inviter);
      return ev?.content?.displayname || inviter;
    }
    return this.id;
  }

  // the stage --------------------------------------------------------------------------------

  live() {
    const ev = this.get(LIVE);
    return ev ? ev.content : { live: true };
  }
  /** Live false with no schedule means a moderator ended the room. */
  ended() {
    const l = this.live();
    return l.live === false && typeof l.scheduled_for !== "number";
  }
  scheduledFor() {
    const l = this.live();
    return l.live === false && typeof l.scheduled_for === "number" ? l.scheduled_for : null;
  }

  /** A moderator turned recording on (org.audiorooms.recording {recording: true}). */
  recording() { return this.content(RECORDING).recording === true; }

  /** The room's replays: m.audio events with org.audiorooms.replay, from the host server
   *  (the host records and posts them), newest first, each checked field by field. */
  replays() {
    const out = [];
    for (const ev of this.timeline) {
      const r = replayFromEvent(ev, this.host);
      if (r && !out.some((x) => x.url === r.url)) out.push({ ...r, name: this.name });
    }
    return out.reverse();
  }

  roleOf(userId) {
    const ev = this.get(ROLE, userId);
    if (!ev || this.membershipOf(userId) !== "join") {
      return { role: "listener", muted: false, mutedByModerator: false };
    }
    const c = ev.content || {};
    const role = ["moderator", "speaker", "listener"].includes(c.role) ? c.role : "listener";
    const muted = c.muted === true;
    return { role, muted, mutedByModerator: muted && ev.sender !== userId };
  }

  handRaised(userId) {
    return this.content(HAND, userId).raised === true && this.membershipOf(userId) === "join";
  }
  handSince(userId) { return this.get(HAND, userId)?.origin_server_ts || 0; }

  /** Joined users by role, longest-standing first (stage.stage_members). */
  stageMembers() {
    const out = { moderator: [], speaker: [], listener: [] };
    for (const m of this.ofType("m.room.member")) {
      if (m.content?.membership !== "join") continue;
      const uid = m.state_key;
      const role = this.roleOf(uid).role;
      const roleEv = this.get(ROLE, uid);
      const since = roleEv && role !== "listener" ? roleEv : m;
      out[role].push([since.origin_server_ts || 0, since._seq || 0, uid]);
    }
    for (const r of Object.keys(out)) {
      out[r] = out[r].sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[2]);
    }
    return out;
  }

  /** Explicit moderators, or the one derived when none is left (stage.moderators). */
  moderators() {
    const m = this.stageMembers();
    if (m.moderator.length) return m.moderator;
    if (m.speaker.length) return m.speaker.slice(0, 1);
    return m.listener.slice(0, 1);
  }

  isModerator(userId) { return this.moderators().includes(userId); }
  onStage(userId) {
    return STAGE_ROLES.includes(this.roleOf(userId).role) || this.isModerator(userId);
  }

  stage() {
    const members = this.stageMembers();
    const mods = this.moderators();
    const onStage = [...members.moderator, ...members.speaker];
    for (const m of mods) if (!onStage.includes(m)) onStage.push(m);
    const audience = members.listener.filter((u) => !onStage.includes(u));
    const hands = audience.filter((u) => this.handRaised(u))
      .sort((a, b) => this.handSince(a) - this.handSince(b));
    return { onStage, audience, hands, mods };
  }

  /** Power to send a kind of event, from m.room.power_levels. */
  powerOf(userId) {
    const pl = this.content("m.room.power_levels");
    const users = pl.users || {};
    return userId in users ? users[userId] : (pl.users_default || 0);
  }
  canKick(userId) {
    const pl = this.content("m.room.power_levels");
    return this.powerOf(userId) >= (pl.kick ?? 50);
  }
}

const MAX_DURATION_MS = 24 * 3600 * 1000;
const num = (v, max) => (typeof v === "number" && Number.isFinite(v) && v >= 0 && v <= max ? v : null);

/** A replay from a timeline event, or null: ``{eventId, url, duration, size, startedTs, endedTs}``. */
export function replayFromEvent(ev, host) {
  const c = ev?.content;
  if (ev?.type !== "m.room.message" || !c || c.msgtype !== "m.audio") return null;
  const meta = c[REPLAY];
  if (!meta || typeof meta !== "object") return null;
  if (typeof ev.sender !== "string" || ev.sender.slice(ev.sender.indexOf(":") + 1) !== host) return null;
  const url = mxcOrNull(c.url);
  if (!url) return null;
  const info = c.info && typeof c.info === "object" ? c.info : {};
  return {
    eventId: ev.event_id, url,
    duration: num(info.duration, MAX_DURATION_MS),
    size: num(info.size, Number.MAX_SAFE_INTEGER),
    startedTs: num(meta.started_ts, Number.MAX_SAFE_INTEGER),
    endedTs: num(meta.ended_ts, Number.MAX_SAFE_INTEGER) ?? num(ev.origin_server_ts, Number.MAX_SAFE_INTEGER),
  };
}

/** A replay from a hallway ``replays`` entry, or null (tolerant of the field names used). */
export function replayFromHallway(e) {
  if (!e || typeof e !== "object" || typeof e.room_id !== "string" || e.room_id.length > 512) return null;
  const url = mxcOrNull(e.url ?? e.content_uri);
  if (!url) return null;
  const name = [e.name, e.room_name].find((n) => typeof n === "string") || "";
  const duration = num(e.duration ?? e.duration_ms ?? e.info?.duration, MAX_DURATION_MS);
  return {
    eventId: typeof e.event_id === "string" ? e.event_id : null,
    roomId: e.room_id, name: name.slice(0, 200), url, duration,
    size: num(e.size ?? e.info?.size, Number.MAX_SAFE_INTEGER),
    startedTs: num(e.started_ts, Number.MAX_SAFE_INTEGER),
    endedTs: num(e.ended_ts, Number.MAX_SAFE_INTEGER),
    host: e.room_id.slice(e.room_id.indexOf(":") + 1),
  };
}
