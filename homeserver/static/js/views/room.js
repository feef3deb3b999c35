// A room: the stage, the hand queue, the audience, and the user's controls.
import { ApiError } from "../api.js";
import { MicError } from "../audio.js";
import { HAND, RECORDING, RSVP } from "../model.js";
import { ReplayShelf } from "../replay.js";
import { StageError } from "../session.js";
import { avatar } from "../media.js";
import { announce, confirmDialog, formatTime, h, icon, plural, render, toast } from "../ui.js";
import { joinErrorMessage } from "./hallway.js";
import { REACTION, ReactionLayer, reactionBar, reactionError } from "../reactions.js";
import { personCard } from "../people.js";
import { upgradeDialog } from "../guest.js";
import { roomLink } from "./link.js";

const NS = "org.audiorooms.";

function actionError(e, what) {
  if (e instanceof MicError || e instanceof StageError) return e.message;
  if (e instanceof ApiError) {
    if (e.network) return e.message;
    if (e.status === 403) return `You can't ${what}: ${e.message}.`;
    return `Couldn't ${what}: ${e.message}`;
  }
  return `Couldn't ${what}: ${e.message}`;
}

export function mount(app, main, params) {
  const store = app.store;
  const me = store.me;
  let ref = params.roomId;
  let roomId = ref.startsWith("!") ? ref : null;
  let phase = "loading";          // loading | preview | joining | in | ended | removed | error
  let message = "";
  let preview = null;             // the room's hallway entry, before joining
  let micError = "";
  let busy = false;
  let stopped = false;
  const unsubs = [];
  const shelf = new ReplayShelf(app);   // replay players outlive redraws

  const body = h("div", { class: "room-body" });
  // Outside ``body``, which every draw replaces: floating reactions outlive a redraw.
  const reactions = new ReactionLayer(() => body.querySelector("section.stage"));
  main.append(h("section", { class: "page room", "aria-labelledby": "room-title" }, body,
    reactions.el, reactions.live));

  const session = () => (app.session && app.session.roomId === roomId ? app.session : null);

  // The fixed controls bar must never hide what has keyboard focus (WCAG 2.4.11): its height
  // is the page's scroll-padding-bottom (app.css), so focus scrolls clear of it.
  const barObserver = new ResizeObserver(([e]) => document.documentElement.style.setProperty(
    "--controls-height", `${Math.ceil(e.target.getBoundingClientRect().height)}px`));

  // the flow: resolve, preview or enter, join ---------------------------------------------

  async function start() {
    if (!roomId) {
      try {
        roomId = (await app.api.resolveAlias(ref)).room_id;
      } catch (e) {
        if (params.join) return join();  // joining resolves remote aliases through the server
        phase = "error";
        message = joinErrorMessage(e, ref);
        return draw();
      }
    }
    if (!store.synced) { phase = "loading"; draw(); await new Promise((r) => { const u = store.on("status", () => { u(); r(); }); }); }
    if (stopped) return;
    const room = store.room(roomId);
    if (room.membership === "join") {
      if (room.ended()) { phase = "ended"; return draw(); }
      enter();
    } else if (params.join) {
      join();
    } else {
      phase = "preview";
      draw();
      try {
        const hall = await app.api.hallway({});
        preview = [...hall.live, ...hall.upcoming].find((e) => e.room_id === roomId) || null;
      } catch { preview = null; }
      if (!stopped && phase === "preview") draw();
    }
  }

  async function join() {
    phase = "joining";
    draw();
    try {
      const res = await app.api.join(roomId || ref, typeof params.via === "string" && params.via.length < 256 ? params.via : null);
      roomId = res.room_id;
      const room = await store.loadState(roomId);
      if (stopped) return;
      if (room.ended()) {
        await app.api.leave(roomId).catch(() => {});
        phase = "ended";
        return draw();
      }
      enter();
      announce(`You joined ${room.name || "the room"} as a listener.`);
    } catch (e) {
      if (stopped) return;
      phase = "error";
      message = joinErrorMessage(e, roomId || ref);
      draw();
    }
  }

  function enter() {
    const canonical = `#/room/${encodeURIComponent(roomId)}`;
    if (location.hash !== canonical) history.replaceState(null, "", canonical);
    app.route.params.roomId = roomId;
    const s = app.enterRoom(roomId);
    phase = "in";
    bindSession(s);
    draw();
    // Replays posted before this sync's timeline (the store adds them and says "change").
    store.loadHistory(roomId).catch(() => {});
  }

  let boundSession = null;
  function bindSession(s) {
    if (boundSession === s) return;
    boundSession = s;
    const onChange = () => draw();
    const onTalking = (ev) => paintTalking(ev.detail);
    s.addEventListener("change", onChange);
    s.addEventListener("talking", onTalking);
    unsubs.push(() => { s.removeEventListener("change", onChange); s.removeEventListener("talking", onTalking); });
  }

  unsubs.push(store.on("change", (d) => { if (roomId && d.rooms?.has(roomId) && phase === "in") draw(); }));
  unsubs.push(store.on("reaction", (d) => {
    if (d.roomId === roomId && phase === "in") reactions.received(d.event, d.event.sender === me);
  }));
  function react(key) {
    reactions.tapped(key);
    app.api.send(roomId, REACTION, { key }).catch((e) => { reactions.forget(key); reactionError(e); });
  }
  unsubs.push(store.on("room-ended", (d) => { if (d.roomId === roomId) { phase = "ended"; draw(); } }));
  unsubs.push(store.on("removed", (d) => {
    if (d.roomId === roomId) { phase = "removed"; message = d.membership === "ban" ? "A moderator removed you from this room and banned you from rejoining." : "A moderator removed you from this room."; draw(); }
  }));

  // actions ---------------------------------------------------------------------------------

  function closeMenus() {
    for (const d of body.querySelectorAll("details.person-menu[open]")) d.open = false;
  }
  // Escape closes an open menu and puts focus back on its button.
  body.addEventListener("keydown", (ev) => {
    if (ev.key !== "Escape") return;
    const open = ev.target.closest?.("details.person-menu[open]");
    if (open) { open.open = false; open.querySelector("summary").focus(); ev.preventDefault(); }
  });

  async function act(what, fn, button) {
    if (busy) return;
    busy = true;
    if (button?.closest(".person-menu")) {
      // Focus the menu's button, not a menu item that is about to go away.
      const summary = button.closest(".person-menu").querySelector("summary");
      closeMenus();
      summary.focus();
    }
    if (button) button.setAttribute("aria-busy", "true");
    try {
      await fn();
    } catch (e) {
      const msg = actionError(e, what);
      if (e instanceof MicError) micError = msg;
      toast(msg);
    } finally {
      busy = false;
      if (button) button.removeAttribute("aria-busy");
      draw();
    }
  }

  const setRole = (uid, role, muted) => app.api.putState(roomId, "org.audiorooms.role", uid, { role, muted });

  function moderatorActions(room, uid, name) {
    const r = room.roleOf(uid);
    const onStage = room.onStage(uid);
    const isMod = room.isModerator(uid);
    const items = [];
    const item = (label, what, fn, danger = false) => items.push(h("button", {
      type: "button", class: `menu-item${danger ? " danger" : ""}`, "data-key": `act-${label}-${uid}`,
      onclick: (ev) => act(what, fn, ev.currentTarget) }, label));
    if (!onStage) {
      item("Invite to speak", "invite them to speak", async () => {
        await setRole(uid, "speaker", false);
        if (room.handRaised(uid)) await app.api.putState(roomId, HAND, uid, { raised: false });
        announce(`You invited ${name} to speak.`);
      });
    } else {
      if (!r.muted) item("Mute", "mute them", () => setRole(uid, isMod ? "moderator" : "speaker", true));
      else item("Allow to unmute", "allow them to unmute", () => setRole(uid, isMod && r.role !== "speaker" ? "moderator" : "speaker", false));
      item("Move to audience", "move them to the audience", () => setRole(uid, "listener", false));
    }
    if (r.role !== "moderator") {
      item("Make moderator", "make them a moderator", async () => {
        await setRole(uid, "moderator", r.muted || !onStage);
        // Best effort: let the new moderator remove people too (needs power to change levels).
        const pl = room.content("m.room.power_levels");
        if (room.powerOf(me) >= ((pl.events || {})["m.room.power_levels"] ?? 100) && room.powerOf(uid) < (pl.kick ?? 50)) {
          await app.api.putState(roomId, "m.room.power_levels", "", { ...pl, users: { ...(pl.users || {}), [uid]: pl.kick ?? 50 } }).catch(() => {});
        }
      });
    } else {
      item("Make speaker", "make them a speaker", () => setRole(uid, "speaker", r.muted));
    }
    item("Remove from room", "remove them", async () => {
      if (!(await confirmDialog(`Remove ${name}?`, `${name} will leave the room. They can rejoin unless the room is invite-only.`, "Remove", true))) return;
      await app.api.kick(roomId, uid, "Removed by a moderator");
      announce(`${name} was removed.`);
    }, true);
    return h("details", { class: "person-menu", "data-key": `menu-${uid}` },
      h("summary", { "aria-label": `Actions for ${name}`, "data-key": `menu-summary-${uid}` }, h("span", { "aria-hidden": "true" }, "⋯")),
      h("div", { class: "menu", role: "group", "aria-label": `Actions for ${name}` }, items));
  }

  function person(room, uid, { amMod, stage }) {
    const name = room.displayName(uid);
    const r = room.roleOf(uid);
    const isMod = room.isModerator(uid);
    const hand = !stage && room.handRaised(uid);
    const talking = session()?.talking.has(uid);
    const status = [];
    if (isMod) status.push(h("span", { class: "tag tag-mod", title: "Moderator" }, "Mod"));
    if (stage && r.muted) status.push(icon("micOff", "muted", "status-muted"));
    if (hand) status.push(icon("hand", "hand raised", "status-hand"));
    const label = `${name}${uid === me ? " (you)" : ""}`;
    return h("li", { class: `person${talking ? " talking" : ""}${stage ? " on-stage" : ""}`, dataset: { user: uid } },
      h("span", { class: "avatar-ring" }, avatar(app.media, uid, name, room.avatarOf(uid), stage ? "large" : "")),
      h("button", { type: "button", class: "person-name linklike", "data-key": `who-${uid}`, "aria-haspopup": "dialog",
        onclick: () => personCard(app, uid, { name, avatarUrl: room.avatarOf(uid) }) }, label),
      h("span", { class: "person-status" }, status),
      amMod && uid !== me ? moderatorActions(room, uid, name) : null);
  }

  function paintTalking(talking) {
    for (const li of body.querySelectorAll("li.person[data-user]")) {
      li.classList.toggle("talking", talking.has(li.dataset.user));
    }
  }

  function shareLink() {
    const room = store.room(roomId);
    const target = room.alias || roomId;
    const link = roomLink(location.origin, target);
    const done = () => toast(`Link copied: ${target}`, "info", 4000);
    if (navigator.clipboard?.writeText) navigator.clipboard.writeText(link).then(done, () => toast(`Copy this link: ${link}`, "info", 15000));
    else toast(`Copy this link: ${link}`, "info", 15000);
  }

  async function setRecording(on) {
    if (on && !(await confirmDialog("Start recording?",
      "Everyone in the room will see that it's recorded, and people on stage are told they are. When you stop recording or end the room, a replay is posted to the room and listed in the hallway.",
      "Start recording"))) return;
    await app.api.putState(roomId, RECORDING, "", { recording: on });
    announce(on ? "Recording started." : "Recording stopped. The replay will be posted to the room.");
  }

  // drawing ---------------------------------------------------------------------------------

  function replaysSection(room) {
    const replays = room.replays();
    shelf.keep(replays);
    if (!replays.length) return null;
    return h("section", { class: "replays", "aria-labelledby": "h-replays" },
      h("h2", { id: "h-replays" }, "Replays"),
      h("div", { class: "replay-list" }, replays.map((r) => shelf.player(r))));
  }

  /** The red REC badge everyone in a recorded room sees. */
  function recBadge() {
    const text = "This room is being recorded";
    return h("span", { class: "pill pill-rec", role: "img", "aria-label": text, title: text, "data-testid": "rec-badge" },
      h("span", { class: "dot", "aria-hidden": "true" }), "REC");
  }

  function panel(title, text, extra) {
    render(body, h("div", { class: "card notice-card" },
      h("h1", { id: "room-title" }, title),
      text ? h("p", { role: phase === "error" ? "alert" : null }, text) : null,
      extra,
      h("p", {}, h("a", { class: "btn", href: "#/hallway", "data-key": "back" }, "Back to the hallway"))));
  }

  function draw() {
    if (stopped) return;
    if (phase === "loading") return panel("Opening room…", "");
    if (phase === "joining") return panel("Joining…", `Joining ${preview?.name || roomId || ref} as a listener.`);
    if (phase === "error") return panel("Can't open this room", message,
      h("p", {}, h("button", { type: "button", class: "btn btn-primary", "data-key": "retry", onclick: () => join() }, "Try again")));
    if (phase === "ended") {
      const room = roomId ? store.room(roomId) : null;
      const recorded = room && (room.recording() || room.replays().length > 0);
      return panel(room?.name ? `${room.name} has ended` : "This room has ended", "The moderators ended this room. Thanks for listening!", room ? [
        recorded ? h("p", {}, room.joinRule === "public" ? "It was recorded: its replay is listed in the hallway." : "It was recorded.") : null,
        replaysSection(room)] : null);
    }
    if (phase === "removed") return panel("You left the room", message);
    if (phase === "preview") {
      const p = preview;
      return render(body, h("div", { class: "card notice-card" },
        h("p", { class: "host" }, `Hosted on ${roomId.slice(roomId.indexOf(":") + 1)}`),
        h("h1", { id: "room-title" }, p?.name || "Audio room"),
        p?.topic ? h("p", { class: "topic" }, p.topic) : null,
        p ? h("p", { class: "counts" }, `${plural(p[NS + "speaker_count"] || 0, "speaker", "speakers")} · ${p[NS + "listener_count"] || 0} listening`) : null,
        h("div", { class: "row-start" },
          h("button", { type: "button", class: "btn btn-primary", "data-key": "join", onclick: () => join() }, "Join as listener"),
          h("a", { class: "btn btn-quiet", href: "#/hallway" }, "Back to the hallway"))));
    }
    drawRoom();
  }

  function drawRoom() {
    const room = store.room(roomId);
    const s = session();
    if (room.membership !== "join" && !s) {
      return panel("You left the room", "You're no longer in this room.",
        h("p", {}, h("button", { type: "button", class: "btn btn-primary", "data-key": "rejoin", onclick: () => join() }, "Join again")));
    }
    if (room.ended()) { phase = "ended"; return draw(); }
    const { onStage, audience, hands, mods } = room.stage();
    const amMod = mods.includes(me);
    const mine = room.roleOf(me);
    const iAmOnStage = onStage.includes(me);
    const scheduled = room.scheduledFor();
    const audio = s?.audio;
    const recording = room.recording();

    const head = h("header", { class: "room-head" },
      h("div", { class: "room-head-top" },
        scheduled ? h("span", { class: "pill pill-soon" }, `Starts ${formatTime(scheduled)}`)
          : h("span", { class: "pill pill-live" }, h("span", { class: "dot", "aria-hidden": "true" }), "Live"),
        recording ? recBadge() : null,
        h("span", { class: "host" }, h("span", { class: "visually-hidden" }, "Hosted on "), room.host),
        room.joinRule !== "public" ? h("span", { class: "tag" }, "Invite-only") : null,
        h("span", { class: "tag", "data-testid": "not-encrypted",
          title: "Audio rooms are a public broadcast: what is said and written here is not end-to-end encrypted. Use the backchannel for private, encrypted messages." },
        "Public broadcast · not encrypted"),
        h("button", { type: "button", class: "btn btn-small btn-quiet share", "data-key": "share", onclick: shareLink }, "Copy link")),
      h("h1", { id: "room-title" }, room.name || "Audio room"),
      room.topic ? h("p", { class: "topic" }, room.topic) : null,
      h("p", { class: "counts", "aria-live": "polite" },
        `${plural(onStage.length, "speaker", "speakers")} · ${audience.length} listening`));

    let audioLine = null;
    if (scheduled) {
      audioLine = h("p", { class: "audio-status" }, `This room is scheduled for ${formatTime(scheduled)}. `,
        amMod ? "Go live when you're ready." : "You'll get a notice when it starts if you asked for a reminder.");
    } else if (audio) {
      const st = audio.status;
      const text = st === "connected" ? (iAmOnStage ? "You're connected to the room's audio." : "You're listening.")
        : audio.message || "Connecting audio…";
      audioLine = h("p", { class: `audio-status status-${st}`, role: "status", "data-testid": "audio-status" },
        h("span", { class: "status-dot", "aria-hidden": "true" }), text);
    }

    const stageSection = h("section", { class: "stage", "aria-labelledby": "h-stage" },
      h("h2", { id: "h-stage" }, "Stage"),
      h("ul", { class: "people stage-people" }, onStage.map((u) => person(room, u, { amMod, stage: true }))));

    const handsSection = amMod ? h("section", { class: "hands", "aria-labelledby": "h-hands" },
      h("h2", { id: "h-hands" }, "Raised hands ", h("span", { class: "count" }, `(${hands.length})`)),
      hands.length ? h("ol", { class: "hand-queue" }, hands.map((u) => {
        const name = room.displayName(u);
        return h("li", { class: "hand-item", dataset: { user: u } },
          avatar(app.media, u, name, room.avatarOf(u), "small"),
          h("button", { type: "button", class: "person-name linklike", "data-key": `hwho-${u}`, "aria-haspopup": "dialog",
            onclick: () => personCard(app, u, { name, avatarUrl: room.avatarOf(u) }) }, name),
          h("span", { class: "hand-actions" },
            h("button", { type: "button", class: "btn btn-small btn-primary", "data-key": `invite-${u}`,
              onclick: (ev) => act("invite them to speak", async () => {
                await setRole(u, "speaker", false);
                await app.api.putState(roomId, HAND, u, { raised: false });
                announce(`You invited ${name} to speak.`);
              }, ev.currentTarget) }, "Invite to speak"),
            h("button", { type: "button", class: "btn btn-small", "data-key": `lower-${u}`,
              onclick: (ev) => act("lower their hand", () => app.api.putState(roomId, HAND, u, { raised: false }), ev.currentTarget) },
            "Lower hand")));
      })) : h("p", { class: "empty" }, "No hands raised.")) : null;

    const audienceSection = h("section", { class: "audience", "aria-labelledby": "h-audience" },
      h("h2", { id: "h-audience" }, "Audience ", h("span", { class: "count" }, `(${audience.length})`)),
      audience.length ? h("ul", { class: "people" }, audience.map((u) => person(room, u, { amMod, stage: false })))
        : h("p", { class: "empty" }, "No one in the audience yet."));

    // controls
    const c = [];
    if (!scheduled) {
      if (iAmOnStage) {
        const muted = mine.muted || !audio?.micTrack;
        c.push(h("button", { type: "button", class: `btn ${muted ? "btn-primary" : "btn-live"}`, "data-key": "mic",
          "aria-pressed": muted ? "false" : "true",
          onclick: (ev) => act(muted ? "unmute" : "mute", async () => {
            if (muted) { micError = ""; await s.unmute(); announce("Your microphone is on."); }
            else { await s.mute(); announce("Your microphone is off."); }
          }, ev.currentTarget) }, icon(muted ? "micOff" : "mic"), muted ? "Unmute" : "Mute"));
        if (!(amMod && mine.role === "listener")) {
          c.push(h("button", { type: "button", class: "btn", "data-key": "step-down",
            onclick: (ev) => act("move to the audience", () => s.stepDown(), ev.currentTarget) }, "Move to audience"));
        }
      } else if (app.user.guest) {
        c.push(h("button", { type: "button", class: "btn btn-primary", "data-key": "upgrade",
          onclick: () => upgradeDialog(app, roomId) }, icon("hand"), "Sign up to raise your hand"));
      } else {
        const raised = room.handRaised(me);
        c.push(h("button", { type: "button", class: `btn ${raised ? "btn-live" : "btn-primary"}`, "data-key": "hand",
          "aria-pressed": raised ? "true" : "false",
          onclick: (ev) => act(raised ? "lower your hand" : "raise your hand", async () => {
            await s.raiseHand(!raised);
            announce(raised ? "You lowered your hand." : `You raised your hand. A moderator can invite you to speak.${recording ? " This room is being recorded: on stage, you will be too." : ""}`);
          }, ev.currentTarget) }, icon("hand"), raised ? "Lower hand" : "Raise hand"));
      }
      if (s?.playbackBlocked) {
        c.push(h("button", { type: "button", class: "btn", "data-key": "sound",
          onclick: () => { s.playbackBlocked = false; s.audio.resume(); draw(); } }, "Turn on sound"));
      }
    } else if (amMod) {
      c.push(h("button", { type: "button", class: "btn btn-live", "data-key": "go-live",
        onclick: (ev) => act("go live", () => s.goLive(), ev.currentTarget) }, "Go live now"));
    } else if (!app.user.guest) {
      const going = room.content(RSVP, me).going === true;
      c.push(h("button", { type: "button", class: "btn", "data-key": "rsvp", "aria-pressed": going ? "true" : "false",
        onclick: (ev) => act("set a reminder", () => app.api.putState(roomId, RSVP, me, { going: !going }), ev.currentTarget) },
      going ? "Reminder set" : "Remind me"));
    }
    if (amMod && !scheduled) {
      c.push(h("button", { type: "button", class: `btn${recording ? " btn-rec" : ""}`, "data-key": "record",
        onclick: (ev) => act(recording ? "stop recording" : "start recording", () => setRecording(!recording), ev.currentTarget) },
      h("span", { class: "rec-mark", "aria-hidden": "true" }), recording ? "Stop recording" : "Start recording"));
    }
    if (!scheduled && !app.user.guest) c.push(reactionBar(react));
    c.push(h("button", { type: "button", class: "btn btn-quiet", "data-key": "leave",
      onclick: () => act("leave", async () => { await app.leaveRoom(); location.hash = "#/hallway"; }) }, "Leave quietly"));
    if (amMod) {
      c.push(h("button", { type: "button", class: "btn btn-danger", "data-key": "end",
        onclick: (ev) => act("end the room", async () => {
          if (!(await confirmDialog("End the room for everyone?", "Everyone will be disconnected and the room will close.", "End room", true))) return;
          await app.endRoom();
          phase = "ended";
        }, ev.currentTarget) }, "End room"));
    }

    render(body,
      head,
      audioLine,
      micError ? h("p", { class: "form-error", role: "alert", "data-testid": "mic-error" }, micError) : null,
      iAmOnStage && mine.mutedByModerator ? h("p", { class: "notice" }, "A moderator muted you. Only a moderator can let you unmute.") : null,
      recording && !scheduled ? h("p", { class: "notice notice-rec", "data-testid": "recording-notice" },
        iAmOnStage ? [h("strong", {}, "You're being recorded."), " What you say on stage goes into this room's replay."]
          : "This room is being recorded. If you're invited to speak, you'll be recorded too.") : null,
      h("div", { class: `room-grid${amMod ? " with-hands" : ""}` }, stageSection, handsSection, audienceSection, replaysSection(room)),
      h("div", { class: "controls", role: "group", "aria-label": "Your controls" }, c));
    barObserver.disconnect();
    barObserver.observe(body.querySelector(".controls"));
  }

  start();
  return () => {
    stopped = true;
    barObserver.disconnect();
    document.documentElement.style.removeProperty("--controls-height");
    reactions.close();
    for (const u of unsubs) u();
    shelf.close();
  };
}
