// Start a room: title, topic, open or invite-only, now or scheduled, optionally in a club.
import { ApiError } from "../api.js";
import { AUDIO_ROOM, LIVE, ROLE } from "../model.js";
import { h, toast } from "../ui.js";

const USER_ID = /^@[^:\s]+:[^\s]+$/;

function localInputValue(d) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A readable address from a title: "Friday Jazz!" -> "friday-jazz". */
export function slugify(title) {
  return (title || "").normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
    .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40).replace(/-+$/, "");
}

/** Create the room with the address the user chose, or by default one from its title (with a
 *  short suffix when it's taken), so its link reads /r/#friday-jazz:server. */
async function createWithAlias(api, body, chosen) {
  if (chosen) return api.createRoom({ ...body, room_alias_name: chosen });
  const slug = slugify(body.name);
  if (!slug) return api.createRoom(body);
  for (let i = 0; i < 4; i += 1) {
    const name = i === 0 ? slug : `${slug}-${Math.random().toString(36).slice(2, 6)}`;
    try {
      return await api.createRoom({ ...body, room_alias_name: name });
    } catch (e) {
      if (!(e instanceof ApiError && e.errcode === "M_ROOM_IN_USE")) throw e;
    }
  }
  return api.createRoom(body);
}

export function mount(app, main) {
  const store = app.store;
  const error = h("p", { class: "form-error", role: "alert", id: "create-error" });
  const name = h("input", { id: "room-name", name: "name", required: true, maxlength: 120, "aria-describedby": "create-error" });
  const topic = h("textarea", { id: "room-topic", name: "topic", rows: 2, maxlength: 500 });
  const alias = h("input", { id: "room-alias", name: "alias", autocapitalize: "none", spellcheck: "false",
    pattern: "[a-z0-9._=/+-]+", "aria-describedby": "alias-hint" });
  const open = h("input", { type: "radio", name: "access", id: "access-open", value: "open", checked: true });
  const closed = h("input", { type: "radio", name: "access", id: "access-invite", value: "invite" });
  const invites = h("input", { id: "room-invites", name: "invites", autocapitalize: "none", spellcheck: "false",
    placeholder: "@friend:example.org, @other:server", "aria-describedby": "invites-hint" });
  const inviteField = h("div", { class: "field", hidden: true },
    h("label", { for: "room-invites" }, "Invite people"), invites,
    h("p", { class: "hint", id: "invites-hint" }, "User IDs on any server, separated by commas."));
  const now = h("input", { type: "radio", name: "when", id: "when-now", value: "now", checked: true });
  const later = h("input", { type: "radio", name: "when", id: "when-later", value: "later" });
  const soon = new Date(Date.now() + 60 * 60 * 1000);
  soon.setMinutes(0, 0, 0);
  const when = h("input", { type: "datetime-local", id: "room-when", name: "scheduled", value: localInputValue(soon),
    min: localInputValue(new Date()) });
  const whenField = h("div", { class: "field", hidden: true }, h("label", { for: "room-when" }, "Starts at"), when);
  const spaces = store.spaces();
  const club = spaces.length ? h("select", { id: "room-club", name: "club" }, h("option", { value: "" }, "No club"),
    spaces.map((s) => h("option", { value: s.id }, s.name || s.id))) : null;
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Start room");

  const sync = () => {
    inviteField.hidden = !closed.checked;
    whenField.hidden = !later.checked;
    submit.textContent = later.checked ? "Schedule room" : "Start room";
  };
  for (const r of [open, closed, now, later]) r.addEventListener("change", sync);

  const form = h("form", { class: "card form-card", novalidate: true, "aria-labelledby": "create-title" },
    h("h1", { id: "create-title" }, "Start a room"),
    h("div", { class: "field" }, h("label", { for: "room-name" }, "Title"), name),
    h("div", { class: "field" }, h("label", { for: "room-topic" }, "What's it about? ", h("span", { class: "muted" }, "(optional)")), topic),
    h("fieldset", { class: "field" }, h("legend", {}, "Who can join"),
      h("div", { class: "choice" }, open, h("label", { for: "access-open" }, h("strong", {}, "Open"), " — listed in the hallway; anyone on any server can listen")),
      h("div", { class: "choice" }, closed, h("label", { for: "access-invite" }, h("strong", {}, "Invite-only"), " — not listed; only people you invite"))),
    inviteField,
    h("fieldset", { class: "field" }, h("legend", {}, "When"),
      h("div", { class: "choice" }, now, h("label", { for: "when-now" }, "Now")),
      h("div", { class: "choice" }, later, h("label", { for: "when-later" }, "Schedule for later"))),
    whenField,
    h("div", { class: "field" }, h("label", { for: "room-alias" }, "Address ", h("span", { class: "muted" }, "(optional)")),
      h("div", { class: "alias-field" }, h("span", { "aria-hidden": "true" }, "#"), alias, h("span", { "aria-hidden": "true" }, `:${app.user.homeServer || location.host}`)),
      h("p", { class: "hint", id: "alias-hint" }, "A short name people can use to join, e.g. friday-jam")),
    club && h("div", { class: "field" }, h("label", { for: "room-club" }, "Club"), club),
    error,
    h("div", { class: "row-end" }, h("a", { class: "btn btn-quiet", href: "#/hallway" }, "Cancel"), submit));

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    const title = name.value.trim();
    if (!title) { error.textContent = "Give the room a title."; name.focus(); return; }
    const invitees = closed.checked ? invites.value.split(/[\s,]+/).filter(Boolean) : [];
    const bad = invitees.find((u) => !USER_ID.test(u));
    if (bad) { error.textContent = `“${bad}” isn't a user ID. User IDs look like @name:server.`; invites.focus(); return; }
    let scheduledFor = null;
    if (later.checked) {
      scheduledFor = new Date(when.value).getTime();
      if (!when.value || Number.isNaN(scheduledFor)) { error.textContent = "Pick a date and time."; when.focus(); return; }
      if (scheduledFor < Date.now()) { error.textContent = "That time has passed. Pick a time in the future."; when.focus(); return; }
    }
    const aliasName = alias.value.trim().replace(/^#/, "").split(":")[0];
    if (aliasName && !/^[a-z0-9._=/+-]+$/.test(aliasName)) {
      error.textContent = "The address may use lowercase letters, digits and . _ = / + -"; alias.focus(); return;
    }
    const me = store.me;
    const initial = [
      { type: ROLE, state_key: me, content: { role: "moderator", muted: true } },
      { type: LIVE, state_key: "", content: scheduledFor ? { live: false, scheduled_for: scheduledFor } : { live: true } },
    ];
    const clubId = club?.value;
    if (clubId) {
      initial.push({ type: "m.space.parent", state_key: clubId, content: { via: [clubId.split(":").slice(1).join(":")], canonical: true } });
    }
    const body = {
      name: title, creation_content: { type: AUDIO_ROOM },
      visibility: open.checked ? "public" : "private",
      preset: open.checked ? "public_chat" : "private_chat",
      initial_state: initial,
    };
    if (topic.value.trim()) body.topic = topic.value.trim();
    if (invitees.length) body.invite = invitees;
    submit.disabled = true;
    try {
      const res = await createWithAlias(app.api, body, aliasName);
      if (clubId) {
        app.api.putState(clubId, "m.space.child", res.room_id, { via: [me.slice(me.indexOf(":") + 1)] })
          .catch(() => toast("The room was created, but you can't add rooms to that club.", "info"));
      }
      await store.loadState(res.room_id).catch(() => {});
      location.hash = `#/room/${encodeURIComponent(res.room_id)}`;
    } catch (e) {
      submit.disabled = false;
      if (e instanceof ApiError && e.errcode === "M_ROOM_IN_USE") { error.textContent = "That address is taken. Pick another one."; alias.focus(); }
      else if (e instanceof ApiError && e.network) error.textContent = e.message;
      else error.textContent = `Couldn't create the room: ${e.message}`;
    }
  });

  main.append(h("section", { class: "page narrow" }, form));
  sync();
}
