// Guests (Matrix guest access): listen at once from a room's link, then sign up in place.
import { ApiError } from "./api.js";
import { h } from "./ui.js";

function upgradeMessage(e) {
  if (!(e instanceof ApiError)) return `Something went wrong: ${e.message}`;
  if (e.network) return e.message;
  if (e.errcode === "M_USER_IN_USE") return "That username is taken. Pick another one.";
  if (e.errcode === "M_INVALID_USERNAME") return `That username can't be used: ${e.message}`;
  if (e.errcode === "M_FORBIDDEN") return "This server isn't accepting new accounts right now.";
  if (e.errcode === "M_LIMIT_EXCEEDED") return "Too many attempts. Wait a moment and try again.";
  return e.message;
}

/** Register a guest and sign in as it. */
export async function listenAsGuest(app) {
  const creds = await app.api.registerGuest();
  app.signedIn({ ...creds, guest: true });
}

/** The "Sign up" dialog for a guest in a room: the account keeps the room and its audio. */
export function upgradeDialog(app, roomId) {
  const error = h("p", { class: "form-error", role: "alert", id: "upgrade-error" });
  const name = h("input", { id: "up-name", name: "displayname", required: true, autocomplete: "nickname",
    maxlength: 100, "aria-describedby": "up-hint upgrade-error" });
  const password = h("input", { id: "up-password", name: "password", type: "password", required: true,
    autocomplete: "new-password", "aria-describedby": "upgrade-error" });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Create account");
  const cancel = h("button", { type: "button", class: "btn", onclick: () => dlg.close() }, "Not now");
  const form = h("form", { novalidate: true },
    h("h2", { id: "up-title" }, "Sign up to raise your hand"),
    h("p", {}, "You'll stay in the room and keep listening."),
    h("div", { class: "field" }, h("label", { for: "up-name" }, "Your name"), name,
      h("p", { class: "hint", id: "up-hint" }, `Your account keeps the ID you're listening with, ${app.user.userId}: sign in with it next time.`)),
    h("div", { class: "field" }, h("label", { for: "up-password" }, "Password"), password),
    error,
    h("div", { class: "row-end" }, cancel, submit));
  const dlg = h("dialog", { class: "dialog", "aria-labelledby": "up-title" }, form);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    const display = name.value.trim();
    if (!display || !password.value) {
      error.textContent = "Enter your name and a password.";
      (display ? password : name).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = "Creating account…";
    try {
      // As the spec has it, a guest keeps its user ID when it signs up (no username to pick).
      const creds = await app.api.upgradeGuest(null, password.value, app.api.token);
      dlg.close();
      await app.upgraded(creds, roomId, display);
    } catch (e) {
      error.textContent = upgradeMessage(e);
      submit.disabled = false;
      submit.textContent = "Create account";
      name.focus();
    }
  });
  document.body.append(dlg);
  dlg.addEventListener("close", () => dlg.remove());
  dlg.showModal();
  name.focus();
}
