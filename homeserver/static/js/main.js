// The app shell: session, router, header, connection banner, the "now in a room" bar, and
// reactions to the sync loop that matter on every page.
import { Api } from "./api.js";
import { Crypto, deleteStore, purgeStaleStores } from "./crypto.js";
import { avatar, MediaCache } from "./media.js";
import { RoomSession } from "./session.js";
import { Store } from "./store.js";
import { announce, clearToasts, h, render, toast } from "./ui.js";
import * as loginView from "./views/login.js";
import * as hallwayView from "./views/hallway.js";
import * as createView from "./views/create.js";
import * as roomView from "./views/room.js";
import * as dmsView from "./views/dms.js";
import * as profileView from "./views/profile.js";
import * as linkView from "./views/link.js";
import { linkRef, roomRoute } from "./views/link.js";

const SESSION_KEY = "audiorooms.session";

class App {
  constructor() {
    this.api = new Api();
    this.api.onUnauthorized = () => this.expired();
    this.store = null;
    this.media = null;         // blob: URLs of photos, fetched with the access token
    this.user = null;
    this.session = null;       // RoomSession for the audio room the user is in
    this.crypto = null;        // Crypto (crypto.js): end-to-end encryption of DMs
    this.cleanup = null;
    this.main = document.getElementById("main");
    this.route = null;
    window.addEventListener("hashchange", () => this.navigate());
    // Say at once when the connection goes, and try again as soon as it is back.
    this.api.onNetworkError = () => { if (this.store) { this.store.setOffline(); this.store.wake(); } };
    window.addEventListener("offline", () => this.store?.setOffline());
    window.addEventListener("online", () => this.store?.wake());
    document.getElementById("signout").addEventListener("click", () => this.signOut());
    // For debugging and for the browser tests: read-only views of the audio state.
    window.__audiorooms = {
      audioStats: async () => (this.session ? this.session.stats() : null),
      session: () => this.session && { roomId: this.session.roomId, status: this.session.audio.status,
        withMic: this.session.audio.withMic, talking: [...this.session.talking] },
      // A conversation's messages as this page holds them (decrypted where encrypted).
      messages: (roomId) => (this.store?.rooms.get(roomId)?.timeline || []).map((e) => ({
        event_id: e.event_id, type: e.type, content: e.content, e2e: !!e._e2e, utd: !!e._utd })),
    };
  }

  async start() {
    purgeStaleStores();
    let saved = null;
    try { saved = JSON.parse(localStorage.getItem(SESSION_KEY) || "null"); } catch { saved = null; }
    if (saved?.access_token && saved?.user_id) {
      this.signedIn(saved, false);
    }
    // A room's shareable link (/r/<alias or ID>): with a session here, straight into the room.
    const ref = linkRef(location.pathname);
    if (ref) {
      const via = new URLSearchParams(location.search).get("via") || "";
      if (this.store) { this.leaveLink(roomRoute(ref, via)); return; }
      this.link = { ref, via };
    }
    this.navigate();
  }

  /** Leave the /r/ page for a route of this client (no reload: the guest session goes on). */
  leaveLink(route) {
    this.link = null;
    history.replaceState(null, "", `/${route}`);
    this.navigate();
  }

  // accounts --------------------------------------------------------------------------------

  signedIn(creds, fresh = true) {
    this.user = { userId: creds.user_id, deviceId: creds.device_id, homeServer: creds.home_server, guest: creds.guest === true };
    this.api.token = creds.access_token;
    if (fresh) localStorage.setItem(SESSION_KEY, JSON.stringify(creds));
    this.media = new MediaCache(this.api);
    this.store = new Store(this.api, creds.user_id);
    if (!this.user.guest) this.startCrypto();
    this.bindStore();
    this.store.start();
    document.getElementById("topbar").hidden = false;
    document.getElementById("whoami").textContent = this.user.guest ? "Guest" : creds.user_id;
    document.querySelector("nav.mainnav").hidden = this.user.guest;
    document.getElementById("signout").textContent = this.user.guest ? "Stop listening" : "Sign out";
    if (!this.user.guest) this.loadProfile();
  }

  /** End-to-end encryption for DMs: this device's keys, kept in this browser under the user
   *  and device ID (a reload keeps the session's device, so it finds the same keys). */
  startCrypto() {
    if (this.crypto || !this.user?.deviceId) return;
    this.crypto = new Crypto(this.api, this.user.userId, this.user.deviceId);
    this.crypto.addEventListener("decrypted", (e) => this.store?.decrypted(e.detail.roomId, e.detail.event));
    this.store.crypto = this.crypto;
  }

  /** The guest signed up in a room: a full account that stays in the room, its audio going on. */
  async upgraded(creds, roomId, displayname = "") {
    if (creds.user_id === this.user?.userId) {
      this.user.guest = false;
      this.user.deviceId = creds.device_id || this.user.deviceId;
      this.api.token = creds.access_token;
      this.startCrypto();
      localStorage.setItem(SESSION_KEY, JSON.stringify(creds));
      document.getElementById("whoami").textContent = creds.user_id;
      document.querySelector("nav.mainnav").hidden = false;
      document.getElementById("signout").textContent = "Sign out";
      this.loadProfile();
      this.store.emit("change", { rooms: new Set([roomId]) });
    } else {
      // A new user ID: rejoin as it, quietly, and stay on the room's page.
      if (this.session) { this.session.close(false); this.session = null; }
      this.store.stop();
      this.signedIn(creds);
      await this.api.join(roomId);
      await this.store.loadState(roomId);
      this.navigate();
    }
    if (displayname) {
      await this.api.setProfileField(this.user.userId, "displayname", displayname).catch(() => {});
      this.loadProfile();
    }
    announce("Your account is ready. You can raise your hand now.");
    toast(`Your account is ready: you're ${this.user.userId}. Sign in with it next time.`, "info", 12000);
  }

  /** The user's own name and photo, for the top bar and the profile page. */
  async loadProfile() {
    try { this.setProfile(await this.api.profile(this.user.userId)); } catch { this.setProfile({}); }
  }

  setProfile(profile) {
    if (!this.user) return;
    this.user.profile = profile || {};
    const name = this.user.profile.displayname || this.user.userId;
    document.getElementById("my-avatar").replaceChildren(
      avatar(this.media, this.user.userId, name, this.user.profile.avatar_url, "small"));
  }

  async signOut() {
    const api = this.api;
    const { userId, deviceId } = this.user || {};
    await this.leaveSessionQuietly();
    this.store?.stop();
    if (this.crypto) await this.crypto.shutdown();
    try { await api.logout(); } catch { /* the token goes away locally either way */ }
    this.forget();
    // The server deleted this device and its keys: its crypto store is of no further use.
    if (userId && deviceId) deleteStore(userId, deviceId);
    announce("You signed out.");
    location.hash = "#/login";
  }

  expired() {
    if (!this.store) return;
    this.forget();
    toast("Your session has ended (signed out on another device or by the server). Please sign in again.");
    location.hash = "#/login";
  }

  forget() {
    if (this.session) { this.session.close(false); this.session = null; }
    if (this.store) { this.store.stop(); this.store = null; }
    if (this.crypto) { this.crypto.close(); this.crypto = null; }
    if (this.media) { this.media.close(); this.media = null; }
    this.user = null;
    this.api.token = null;
    localStorage.removeItem(SESSION_KEY);
    document.getElementById("topbar").hidden = true;
    document.getElementById("nowplaying").hidden = true;
    document.getElementById("conn-banner").hidden = true;
  }

  // the sync loop's app-wide effects ---------------------------------------------------------

  bindStore() {
    const store = this.store;
    store.on("status", ({ online }) => {
      const banner = document.getElementById("conn-banner");
      banner.hidden = online;
      banner.textContent = online ? "" : `Can't reach your server (${location.host}). Retrying… Changes you make may fail until it's back.`;
    });
    store.on("change", () => { this.updateBadge(); this.updateNowPlaying(); });
    store.on("my-role", ({ roomId, before, after, sender }) => {
      const mine = sender === store.me;
      const wasOn = before && before.role !== "listener";
      const isOn = after.role !== "listener";
      const room = store.room(roomId);
      // Someone else opened our mic (invited to speak, or allowed to unmute): mute ourselves,
      // so the mic goes live only when the user presses Unmute.
      if (isOn && !after.muted && !mine && (!wasOn || before.muted) && this.session?.roomId === roomId) {
        this.session.onPromoted();
      }
      if (!wasOn && isOn && !mine) {
        toast(room.recording()
          ? `You're on stage in ${room.name || "the room"}, and you're being recorded (this room is recorded). Unmute when you're ready to speak.`
          : `You're on stage in ${room.name || "the room"}. Unmute when you're ready to speak.`, "info", room.recording() ? 15000 : 9000, roomId);
      } else if (wasOn && isOn && before.muted && !after.muted && !mine) {
        toast("A moderator allowed you to unmute.", "info", 9000, roomId);
      } else if (wasOn && !isOn && !mine) {
        toast("A moderator moved you to the audience.", "info", 9000, roomId);
      } else if (isOn && after.muted && !before?.muted && !mine) {
        toast("A moderator muted you.", "info", 9000, roomId);
      } else if (after.role === "moderator" && before?.role !== "moderator" && !mine) {
        toast("You're now a moderator.", "info", 9000, roomId);
      }
    });
    store.on("recording", ({ roomId, recording, sender }) => {
      if (this.session?.roomId !== roomId) return;
      const room = store.room(roomId);
      const name = room.name || "The room";
      if (recording && room.onStage(store.me) && sender !== store.me) {
        toast(`Recording started: you're being recorded in ${name}.`, "info", 15000, roomId);
      } else if (sender !== store.me) {
        announce(recording ? `${name} is now being recorded.` : `${name} is no longer being recorded.`);
      }
      this.updateNowPlaying();
    });
    store.on("room-ended", ({ roomId }) => {
      const room = store.room(roomId);
      clearToasts(roomId);
      if (this.session?.roomId === roomId) {
        const s = this.session;
        this.session = null;
        s.close(false).then(() => this.api.leave(roomId)).catch(() => {});
        this.updateNowPlaying();
      }
      announce(`${room.name || "The room"} has ended.`);
    });
    store.on("removed", ({ roomId, membership }) => {
      const room = store.room(roomId);
      if (this.session?.roomId === roomId) { this.session.close(false); this.session = null; this.updateNowPlaying(); }
      if (room.isAudio) toast(membership === "ban" ? `A moderator removed you from ${room.name || "the room"} and banned you from rejoining.` : `A moderator removed you from ${room.name || "the room"}.`);
    });
    store.on("message", ({ roomId, event }) => {
      if (event.sender === store.me) return;
      const room = store.room(roomId);
      if (!store.isDirect(room)) return;
      const viewing = this.route?.name === "dms" && this.route.params.roomId === roomId && !document.hidden;
      if (!viewing) announce(`New message from ${room.displayName(event.sender)}`);
    });
  }

  updateBadge() {
    const badge = document.getElementById("dm-badge");
    const link = document.getElementById("nav-dms");
    const n = this.store ? this.store.totalUnread() : 0;
    badge.hidden = n === 0;
    badge.textContent = String(n);
    link.setAttribute("aria-label", n ? `Backchannel, ${n} unread` : "Backchannel");
  }

  updateNowPlaying() {
    const bar = document.getElementById("nowplaying");
    const s = this.session;
    const onItsPage = this.route?.name === "room" && this.route.params.roomId === s?.roomId;
    if (!s || onItsPage) { bar.hidden = true; return; }
    const room = s.room;
    bar.hidden = false;
    render(bar,
      h("span", { class: "np-dot", "aria-hidden": "true" }),
      h("span", { class: "np-text" }, "In ", h("strong", {}, room.name || room.id)),
      room.recording() ? h("span", { class: "pill pill-rec", role: "img", "aria-label": "This room is being recorded",
        title: "This room is being recorded" }, "REC") : null,
      h("a", { class: "btn btn-small", href: `#/room/${encodeURIComponent(s.roomId)}`, "data-key": "np-return" },
        "Return", h("span", { class: "np-long" }, " to room")),
      h("button", { type: "button", class: "btn btn-small btn-quiet", "data-key": "np-leave",
        onclick: () => this.leaveRoom() }, "Leave", h("span", { class: "np-long" }, " quietly")));
  }

  // rooms -----------------------------------------------------------------------------------

  /** Become the room's session (leaving the previous audio room) and return it. */
  enterRoom(roomId) {
    if (this.session?.roomId === roomId) return this.session;
    if (this.session) {
      const old = this.session;
      old.close().then(() => this.api.leave(old.roomId)).catch(() => {});
    }
    this.session = new RoomSession(this, roomId);
    this.session.reconcile();
    this.updateNowPlaying();
    return this.session;
  }

  async endRoom() {
    const s = this.session;
    this.session = null;   // the room-ended event from sync finds nothing left to close
    this.updateNowPlaying();
    await s.end();
    announce("You ended the room.");
  }

  async leaveRoom() {
    const s = this.session;
    if (!s) return;
    this.session = null;
    this.updateNowPlaying();
    try { await s.leave(); announce("You left the room."); } catch (e) { toast(`Couldn't leave the room: ${e.message}`); }
  }

  async leaveSessionQuietly() {
    if (!this.session) return;
    const s = this.session;
    this.session = null;
    try { await s.close(); await this.api.leave(s.roomId); } catch { /* signing out anyway */ }
  }

  // routing ---------------------------------------------------------------------------------

  parse() {
    const raw = location.hash.replace(/^#\/?/, "");
    const [path, query = ""] = raw.split("?");
    const parts = path.split("/").map((p) => { try { return decodeURIComponent(p); } catch { return p; } });
    const q = Object.fromEntries(new URLSearchParams(query));
    if (this.link) return { name: "link", params: { ...this.link } };
    switch (parts[0]) {
      case "login": return { name: "login", params: { mode: "signin", ...q } };
      case "signup": return { name: "login", params: { mode: "signup", ...q } };
      case "create": return { name: "create", params: q };
      case "room": return { name: "room", params: { roomId: parts.slice(1).join("/"), ...q } };
      case "profile": return { name: "profile", params: q };
      case "dms": return { name: "dms", params: { roomId: parts[1] || null, ...q } };
      case "hallway": case "": return { name: "hallway", params: q };
      default: return { name: "notfound", params: {} };
    }
  }

  navigate() {
    const route = this.parse();
    if (route.name !== "login" && route.name !== "link" && !this.store) {
      const next = location.hash && !location.hash.startsWith("#/login") ? location.hash : "";
      location.replace(`#/login${next ? "?next=" + encodeURIComponent(next) : ""}`);
      return;
    }
    if (route.name === "login" && this.store) { location.replace("#/hallway"); return; }
    if (this.cleanup) { try { this.cleanup(); } catch (e) { console.warn(e); } this.cleanup = null; }
    this.route = route;
    for (const a of document.querySelectorAll("[data-nav]")) {
      if (a.dataset.nav === route.name) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    document.body.dataset.route = route.name;
    const view = { login: loginView, hallway: hallwayView, create: createView, room: roomView, dms: dmsView, profile: profileView, link: linkView }[route.name];
    this.main.replaceChildren();
    if (this.user?.guest && view && route.name !== "room") {
      // Guests listen; everything else needs an account.
      const back = this.session ? `#/room/${encodeURIComponent(this.session.roomId)}` : null;
      render(this.main, h("section", { class: "page narrow" }, h("h1", {}, "You're listening as a guest"),
        h("p", {}, "Sign up from the room to raise your hand, message people and start rooms."),
        back ? h("p", {}, h("a", { class: "btn btn-primary", href: back }, "Back to the room")) : null));
    } else if (!view) {
      render(this.main, h("section", { class: "page narrow" }, h("h1", {}, "Page not found"),
        h("p", {}, h("a", { href: "#/hallway" }, "Go to the hallway"))));
    } else {
      this.cleanup = view.mount(this, this.main, route.params) || null;
    }
    this.updateNowPlaying();
    this.updateBadge();
    const heading = this.main.querySelector("h1");
    if (heading && this.started) { heading.setAttribute("tabindex", "-1"); heading.focus({ preventScroll: true }); }
    this.started = true;
    window.scrollTo(0, 0);
  }
}

const app = new App();
app.start();
