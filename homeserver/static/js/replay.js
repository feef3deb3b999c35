// Replays: a recorded room played back in the page. The Ogg/Opus file comes from the media
// repository with the access token (an <audio> can't send it) into a blob: URL held by
// media.js's cache, so the player's seek bar jumps anywhere without another request. A file
// is fetched only when the user presses Play: a hallway can list many long replays.
import { ApiError } from "./api.js";
import { formatTime, h } from "./ui.js";

/** 0:07, 5:00, 1:02:03. */
export function formatDuration(ms) {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) return "";
  const total = Math.round(ms / 1000);
  const s = total % 60;
  const m = Math.floor(total / 60) % 60;
  const hours = Math.floor(total / 3600);
  const ss = String(s).padStart(2, "0");
  return hours ? `${hours}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** "5 minutes", "1 hour 2 minutes", "40 seconds": the duration read aloud. */
function spokenDuration(ms) {
  const total = Math.round(ms / 1000);
  const hours = Math.floor(total / 3600);
  const m = Math.floor(total / 60) % 60;
  const parts = [];
  if (hours) parts.push(`${hours} hour${hours === 1 ? "" : "s"}`);
  if (m) parts.push(`${m} minute${m === 1 ? "" : "s"}`);
  if (!hours && !m) parts.push(`${total} second${total === 1 ? "" : "s"}`);
  return parts.join(" ");
}

function megabytes(bytes) {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1e3))} kB`;
}

let counter = 0;

/** One replay's player: {el, audio, close}. ``title`` shows the room's name (the hallway). */
function makePlayer(app, replay, { title = false } = {}) {
  counter += 1;
  const id = `replay-${counter}`;
  const when = replay.startedTs || replay.endedTs;
  const name = replay.name || "Audio room";
  const label = `Replay of ${name}${when ? `, recorded ${formatTime(when)}` : ""}`;
  const durationText = h("span", { class: "replay-duration" }, formatDuration(replay.duration));
  const audio = h("audio", { controls: true, preload: "auto", hidden: true, class: "replay-audio",
    "aria-label": label, "data-key": `${id}-audio` });
  const status = h("p", { class: "replay-status", role: "status", "aria-live": "polite" });
  const play = h("button", { type: "button", class: "btn btn-primary replay-play", "data-key": `${id}-play`,
    "aria-describedby": `${id}-meta` },
  "Play replay", h("span", { class: "visually-hidden" }, ` of ${name}`));

  let loaded = false;
  async function load() {
    play.disabled = true;
    play.setAttribute("aria-busy", "true");
    status.textContent = replay.size ? `Loading the replay (${megabytes(replay.size)})…` : "Loading the replay…";
    try {
      audio.src = await app.media.url(replay.url, null, { keep: true });
      loaded = true;
      audio.hidden = false;
      play.remove();
      status.textContent = "";
      audio.focus();
      await audio.play().catch(() => { status.textContent = "Press play to listen."; });
    } catch (e) {
      play.disabled = false;
      play.removeAttribute("aria-busy");
      status.textContent = e instanceof ApiError && e.network ? e.message
        : e instanceof ApiError && e.status === 404 ? "This replay isn't available any more."
          : `Couldn't load the replay: ${e.message}`;
    }
  }
  play.addEventListener("click", load);
  audio.addEventListener("loadedmetadata", () => {
    if (!replay.duration && Number.isFinite(audio.duration)) durationText.textContent = formatDuration(audio.duration * 1000);
  });
  audio.addEventListener("error", () => {
    if (loaded) status.textContent = "This replay can't be played in this browser.";
  });

  const el = h("article", { class: "replay", "aria-label": label, dataset: { replay: replay.url } },
    title ? h("h3", { class: "room-title replay-title" }, name) : null,
    h("div", { class: "replay-meta", id: `${id}-meta` },
      h("span", { class: "pill pill-replay" }, "Replay"),
      title && replay.host ? h("span", { class: "host" }, h("span", { class: "visually-hidden" }, "Hosted on "), replay.host) : null,
      when ? h("span", { class: "replay-date" }, "Recorded ", h("time", { datetime: new Date(when).toISOString() }, formatTime(when))) : null,
      replay.duration ? h("span", { class: "visually-hidden" }, `, ${spokenDuration(replay.duration)}`) : null,
      h("span", { "aria-hidden": "true" }, when ? "· " : "", durationText)),
    play, audio, status);
  return {
    el, audio,
    close() {
      audio.pause();
      if (loaded) app.media?.release(replay.url);
    },
  };
}

/** The players a view shows, one per replay and the same node on every redraw (a redraw that
 *  moves a playing <audio> does not stop it). */
export class ReplayShelf {
  constructor(app, options = {}) {
    this.app = app;
    this.options = options;
    this.players = new Map();   // mxc -> player
  }

  player(replay) {
    let p = this.players.get(replay.url);
    if (!p) { p = makePlayer(this.app, replay, this.options); this.players.set(replay.url, p); }
    return p.el;
  }

  /** Drop the players of replays no longer listed. */
  keep(replays) {
    const urls = new Set(replays.map((r) => r.url));
    for (const [url, p] of this.players) {
      if (!urls.has(url)) { p.close(); this.players.delete(url); }
    }
  }

  close() {
    for (const p of this.players.values()) p.close();
    this.players.clear();
  }
}
