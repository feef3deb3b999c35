// The room the user is in: membership actions, the stage, and its audio, kept in step with
// room state from the sync loop. It outlives the room page, so audio keeps playing while the
// user reads the hallway or the backchannel.
import { ApiError } from "./api.js";
import { LevelMeter, MicError, openMicrophone, RoomAudio } from "./audio.js";
import { HAND, LIVE, ROLE } from "./model.js";

const SPEAKERS_POLL_MS = 900;
const TALKING_LEVEL = 0.02;

export class StageError extends Error {}

export class RoomSession extends EventTarget {
  constructor(app, roomId) {
    super();
    this.app = app;
    this.api = app.api;
    this.store = app.store;
    this.roomId = roomId;
    this.audio = new RoomAudio(this.api, roomId);
    this.audio.addEventListener("status", () => this.emit());
    this.audio.addEventListener("blocked", () => { this.playbackBlocked = true; this.emit(); });
    this.audio.addEventListener("mic-refused-by-server", () => { this.audio.releaseMic(); this.stopMeter(); this.reconcile(true); });
    this.playbackBlocked = false;
    this.talking = new Set();
    this.speakersApi = true;
    this.meter = null;
    this.lastMic = null;
    this.closed = false;
    this.unsub = this.store.on("change", (d) => { if (d.rooms?.has(roomId)) this.reconcile(); });
    this.poller = setInterval(() => this.pollSpeakers(), SPEAKERS_POLL_MS);
  }

  get room() { return this.store.room(this.roomId); }
  get me() { return this.store.me; }

  emit() { this.dispatchEvent(new CustomEvent("change")); }

  /** Bring audio in line with the room state: connected while joined and live; with the mic
   *  while on stage and the mic is open; the mic track enabled only while unmuted. */
  reconcile(force = false) {
    if (this.closed) return;
    const room = this.room;
    const active = room.membership === "join" && room.live().live !== false;
    if (!active) {
      if (this.audio.status !== "idle" && this.audio.status !== "unavailable") this.audio.disconnect();
      this.lastMic = null;
      return;
    }
    const onStage = room.onStage(this.me);
    if (!onStage && this.audio.micStream) { this.audio.releaseMic(); this.stopMeter(); }
    const wantMic = onStage && !!this.audio.micTrack;
    if (force || this.lastMic !== wantMic) {
      this.lastMic = wantMic;
      this.audio.connect(wantMic);
    }
    this.audio.setMicEnabled(onStage && !room.roleOf(this.me).muted);
    this.emit();
  }

  async pollSpeakers() {
    if (this.closed) return;
    const talking = new Set();
    if (this.speakersApi && this.room.membership === "join"
        && (this.audio.status === "connected" || this.audio.status === "connecting")) {
      try {
        const res = await this.api.speakers(this.roomId);
        for (const u of res.talking || []) talking.add(u);
      } catch (e) {
        if (e instanceof ApiError && e.status === 404 && e.errcode === "M_UNRECOGNIZED") this.speakersApi = false;
      }
    }
    // Our own ring follows our own mic, with no round trip.
    if (this.meter && this.audio.micTrack?.enabled && this.meter.level() > TALKING_LEVEL) talking.add(this.me);
    const same = talking.size === this.talking.size && [...talking].every((u) => this.talking.has(u));
    if (!same) {
      this.talking = talking;
      this.dispatchEvent(new CustomEvent("talking", { detail: talking }));
    }
  }

  stopMeter() { if (this.meter) { this.meter.close(); this.meter = null; } }

  // the user's own actions -----------------------------------------------------------------

  async setRole(userId, role, muted = false) {
    return this.api.putState(this.roomId, ROLE, userId, { role, muted });
  }

  async raiseHand(raised = true) {
    await this.api.putState(this.roomId, HAND, this.me, { raised });
  }

  /** Open the mic (a user gesture), then unmute in room state. */
  async unmute() {
    const room = this.room;
    const r = room.roleOf(this.me);
    if (!room.onStage(this.me)) throw new StageError("You're in the audience. Raise your hand and a moderator can invite you to speak.");
    if (r.mutedByModerator) throw new StageError("A moderator muted you; only a moderator can unmute you.");
    if (!this.audio.micTrack) {
      const stream = await openMicrophone(); // MicError with a clear message
      this.audio.setMicStream(stream);
      try { this.meter = new LevelMeter(stream); } catch { this.meter = null; }
    }
    const role = r.role === "listener" ? "moderator" : r.role; // a derived moderator keeps the stage
    try {
      await this.setRole(this.me, role, false);
    } catch (e) {
      if (e instanceof ApiError && e.status === 403) throw new StageError(`You're not allowed to speak: ${e.message}.`);
      throw e;
    }
    this.reconcile();
  }

  async mute() {
    const r = this.room.roleOf(this.me);
    this.audio.setMicEnabled(false); // at once, before the server confirms
    await this.setRole(this.me, r.role === "listener" ? "moderator" : r.role, true);
  }

  async stepDown() {
    await this.setRole(this.me, "listener", false);
  }

  /** Speakers start muted: when a moderator brings us on stage unmuted, mute ourselves, so
   *  the mic opens only when the user chooses to speak. */
  async onPromoted() {
    try { await this.setRole(this.me, this.room.roleOf(this.me).role, true); } catch { /* next sync shows it */ }
  }

  async leave() {
    await this.close(true);
    await this.api.leave(this.roomId);
  }

  async goLive() { await this.api.putState(this.roomId, LIVE, "", { live: true }); }

  /** End the room for everyone (the server closes its audio), then leave it. */
  async end() {
    await this.api.putState(this.roomId, LIVE, "", { live: false });
    await this.close(false);
    await this.api.leave(this.roomId);
  }

  /** Stop everything here; ``tellServer`` false when the server already closed our audio. */
  close(tellServer = true) {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    clearInterval(this.poller);
    this.unsub();
    this.stopMeter();
    return this.audio.close(tellServer);
  }

  async stats() { return this.audio.stats(); }
}

export { MicError };
