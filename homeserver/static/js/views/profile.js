// The user's profile: their photo (shown on the stage, in the audience and in DMs) and name.
import { ApiError } from "../api.js";
import { avatar, IMAGE_TYPES, imageSize } from "../media.js";
import { announce, h, render } from "../ui.js";

const MAX_PHOTO_BYTES = 10 * 1024 * 1024;

function problem(e) {
  if (!(e instanceof ApiError)) return e.message;
  if (e.network) return e.message;
  if (e.status === 413 || e.errcode === "M_TOO_LARGE") return "That photo is bigger than this server accepts.";
  return `Couldn't save: ${e.message}`;
}

export function mount(app, main) {
  const me = app.user.userId;
  const status = h("p", { class: "hint", role: "status", id: "photo-status" });
  const error = h("p", { class: "form-error", role: "alert", id: "profile-error" });
  const picture = h("div", { class: "profile-photo" });
  const file = h("input", { type: "file", id: "profile-photo", name: "photo", accept: IMAGE_TYPES.join(","),
    "aria-describedby": "photo-hint photo-status profile-error" });
  const remove = h("button", { type: "button", class: "btn btn-quiet" }, "Remove photo");
  const name = h("input", { id: "profile-name", name: "displayname", maxlength: 100, autocomplete: "nickname" });
  const save = h("button", { type: "submit", class: "btn btn-primary" }, "Save name");

  function draw() {
    const p = app.user?.profile || {};
    render(picture, avatar(app.media, me, p.displayname || me, p.avatar_url, "xl"));
    remove.hidden = !p.avatar_url;
    if (document.activeElement !== name) name.value = p.displayname || "";
  }

  async function setField(field, value) {
    await app.api.setProfileField(me, field, value);
    app.setProfile({ ...app.user.profile, [field]: value });
    draw();
  }

  file.addEventListener("change", async () => {
    const f = file.files?.[0];
    if (!f) return;
    error.textContent = "";
    try {
      if (!IMAGE_TYPES.includes(f.type)) throw new Error("Pick a PNG, JPEG, GIF or WebP photo.");
      if (f.size > MAX_PHOTO_BYTES) throw new Error("That photo is too big; pick one under 10 MB.");
      if (!(await imageSize(f))) throw new Error("That file couldn't be read as an image.");
      status.textContent = "Uploading your photo…";
      const { content_uri: uri } = await app.api.upload(f, (f.name || "avatar").slice(0, 200));
      await setField("avatar_url", uri);
      status.textContent = "Your photo is saved. Everyone in your rooms and conversations sees it.";
      announce("Profile photo updated.");
    } catch (e) {
      status.textContent = "";
      error.textContent = problem(e);
    } finally {
      file.value = "";
    }
  });
  remove.addEventListener("click", async () => {
    error.textContent = "";
    try { await setField("avatar_url", ""); status.textContent = "Photo removed."; }
    catch (e) { error.textContent = problem(e); }
  });
  const nameForm = h("form", { class: "field" },
    h("label", { for: "profile-name" }, "Display name"),
    h("div", { class: "inline-field" }, name, save));
  nameForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    const v = name.value.trim();
    if (!v) { error.textContent = "Enter a name, or keep the one you have."; return; }
    try { await setField("displayname", v); status.textContent = "Your name is saved."; }
    catch (e) { error.textContent = problem(e); }
  });

  main.append(h("section", { class: "page narrow profile", "aria-labelledby": "profile-title" },
    h("h1", { id: "profile-title" }, "Your profile"),
    h("div", { class: "card" },
      picture,
      h("dl", { class: "card-facts my-id" },
        h("dt", {}, "Your user ID"), h("dd", {}, h("code", { class: "user-id" }, me)),
        h("dt", {}, "Server"), h("dd", {}, me.slice(me.indexOf(":") + 1))),
      h("p", { class: "hint" }, "Give people your user ID so they can message you from any server."),
      h("div", { class: "field" },
        h("label", { for: "profile-photo" }, "Profile photo"), file,
        h("p", { class: "hint", id: "photo-hint" }, "A PNG, JPEG, GIF or WebP picture. It's shown on the stage, in the audience and in your conversations."),
        remove),
      nameForm, status, error)));
  draw();
  if (!app.user.profile) app.loadProfile().then(draw);
  return null;
}
