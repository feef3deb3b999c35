// Reactions in an audio room: a bar of emoji buttons (one tap sends an org.audiorooms.reaction
// event) and a layer where everyone's reactions, the user's own too, float up over the stage
// for a couple of seconds. Screen readers get a polite summary now and then, not every emoji.
import { ApiError } from "./api.js";
import { h, toast } from "./ui.js";

export const REACTION = "org.audiorooms.reaction";
export const EMOJI = [
  ["👏", "applause"], ["❤️", "heart"], ["😂", "laughing"], ["🔥", "fire"], ["🙌", "raised hands"], ["💯", "hundred"],
];
const FLOAT_MS = 2600;        // how long one floats (the CSS animation's length, and then some)
const MAX_FLOATING = 24;      // a busy room shows this many at once, the rest are skipped
const SUMMARY_EVERY_MS = 8000; // at most one spoken summary this often
const MAX_KEY = 16;           // as the server: a short key, else not shown
const OWN_ECHO_MS = 10000;    // our own reaction, shown at the tap, is not shown again from sync

/** The bar: one button per emoji; ``send(key)`` is called on a tap. */
export function reactionBar(send) {
  return h("div", { class: "reaction-bar", role: "group", "aria-label": "React" },
    EMOJI.map(([key, name]) => h("button", {
      type: "button", class: "btn btn-small btn-quiet reaction-btn", "data-key": `react-${name}`,
      "aria-label": `React with ${name}`, title: name, onclick: () => send(key),
    }, h("span", { "aria-hidden": "true" }, key))));
}

export class ReactionLayer {
  /** ``anchor()`` returns the element reactions float over (the stage), or null. */
  constructor(anchor) {
    this.anchor = anchor;
    this.el = h("div", { class: "reaction-layer", "aria-hidden": "true", "data-testid": "reaction-layer" });
    this.live = h("div", { class: "visually-hidden", role: "status", "aria-live": "polite", "data-testid": "reaction-summary" });
    this.pending = new Map();  // key -> count, for the next spoken summary
    this.summaryTimer = null;
    this.own = [];             // [key, time] of our taps not yet echoed by sync
  }

  /** Show a reaction that arrived by sync (``mine``: sent by this user). */
  received(event, mine) {
    const key = event?.content?.key;
    if (typeof key !== "string" || !key || key.length > MAX_KEY) return;
    if (mine) {
      const i = this.own.findIndex(([k, t]) => k === key && Date.now() - t < OWN_ECHO_MS);
      if (i >= 0) { this.own.splice(i, 1); return; }  // already floated at the tap
    } else {
      this.pending.set(key, (this.pending.get(key) || 0) + 1);
      this.scheduleSummary();
    }
    this.float(key, mine);
  }

  /** The user tapped: float it at once, sync's copy is then skipped. */
  tapped(key) {
    this.own = this.own.filter(([, t]) => Date.now() - t < OWN_ECHO_MS);
    this.own.push([key, Date.now()]);
    this.float(key, true);
  }

  /** The tap's send failed: sync will bring nothing to skip. */
  forget(key) {
    const i = this.own.findIndex(([k]) => k === key);
    if (i >= 0) this.own.splice(i, 1);
  }

  float(key, mine) {
    if (this.el.childElementCount >= MAX_FLOATING) return;
    const box = this.anchor()?.getBoundingClientRect();
    const left = box && box.width ? box.left + box.width * (0.15 + Math.random() * 0.7) : window.innerWidth / 2;
    const bottom = box && box.height ? Math.min(box.bottom, window.innerHeight - 80) : window.innerHeight / 2;
    const span = h("span", { class: `reaction-float${mine ? " mine" : ""}`, "data-reaction": key,
      style: `left:${Math.round(left)}px;top:${Math.round(bottom - 40)}px;--drift:${Math.round((Math.random() - 0.5) * 60)}px` }, key);
    this.el.append(span);
    // Removed by time, not animationend: with reduced motion there is no animation to end.
    setTimeout(() => span.remove(), FLOAT_MS);
  }

  scheduleSummary() {
    if (this.summaryTimer) return;
    this.summaryTimer = setTimeout(() => {
      this.summaryTimer = null;
      const parts = [...this.pending].map(([k, n]) => (n > 1 ? `${k} ${n}` : k));
      const total = [...this.pending.values()].reduce((a, b) => a + b, 0);
      this.pending.clear();
      if (total) this.live.textContent = `${total} ${total === 1 ? "reaction" : "reactions"}: ${parts.join(", ")}`;
    }, SUMMARY_EVERY_MS);
  }

  close() {
    clearTimeout(this.summaryTimer);
    this.el.remove();
    this.live.remove();
  }
}

/** What a failed send tells the user (a toast; too fast is said once, kindly). */
let slowToastAt = 0;
export function reactionError(e) {
  if (e instanceof ApiError && e.status === 429) {
    if (Date.now() - slowToastAt > 3000) toast("You're reacting very fast; give it a second.", "info", 3000);
    slowToastAt = Date.now();
  } else if (e instanceof ApiError && e.network) toast(e.message);
  else toast(`Couldn't send your reaction: ${e.message}`);
}
