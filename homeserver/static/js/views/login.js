// Sign in and sign up, following the server's registration rules.
import { ApiError } from "../api.js";
import { h } from "../ui.js";

function loginMessage(e) {
  if (!(e instanceof ApiError)) return `Something went wrong: ${e.message}`;
  if (e.network) return e.message;
  if (e.errcode === "M_FORBIDDEN") return "Wrong username or password.";
  if (e.errcode === "M_LIMIT_EXCEEDED") return "Too many attempts. Wait a moment and try again.";
  if (e.errcode === "M_USER_DEACTIVATED") return "This account has been deactivated.";
  return e.message;
}

function registerMessage(e) {
  if (!(e instanceof ApiError)) return `Something went wrong: ${e.message}`;
  if (e.network) return e.message;
  if (e.errcode === "M_USER_IN_USE") return "That username is taken. Pick another one.";
  if (e.errcode === "M_INVALID_USERNAME") return `That username can't be used: ${e.message}`;
  if (e.errcode === "M_FORBIDDEN") return "This server isn't accepting new accounts. Ask its operator for an account, then sign in.";
  if (e.errcode === "M_LIMIT_EXCEEDED") return "Too many attempts. Wait a moment and try again.";
  if (e.status === 401) {
    const stages = (e.data?.flows || []).map((f) => (f.stages || []).join(" → ")).join("; ");
    return `This server needs a sign-up step this client doesn't support (${stages || "unknown"}). Use another Matrix client to sign up, then sign in here.`;
  }
  return e.message;
}

export function mount(app, main, params) {
  const signup = params.mode === "signup";
  const next = params.next && params.next.startsWith("#/") ? params.next : "#/hallway";
  const error = h("p", { class: "form-error", role: "alert", id: "auth-error" });
  const username = h("input", { id: "username", name: "username", required: true, autocomplete: "username",
    autocapitalize: "none", spellcheck: "false", "aria-describedby": "username-hint auth-error" });
  const password = h("input", { id: "password", name: "password", type: "password", required: true,
    autocomplete: signup ? "new-password" : "current-password", "aria-describedby": "auth-error" });
  const confirm = signup ? h("input", { id: "password2", name: "password2", type: "password", required: true,
    autocomplete: "new-password" }) : null;
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block" }, signup ? "Create account" : "Sign in");
  const otherHref = `#/${signup ? "login" : "signup"}${params.next ? "?next=" + encodeURIComponent(params.next) : ""}`;

  const form = h("form", { class: "card auth-card", novalidate: true, "aria-labelledby": "auth-title" },
    h("h1", { id: "auth-title" }, signup ? "Create your account" : "Sign in"),
    h("p", { class: "muted" }, "on ", h("strong", {}, location.host)),
    h("div", { class: "field" },
      h("label", { for: "username" }, "Username"),
      username,
      h("p", { class: "hint", id: "username-hint" }, signup
        ? `Letters, digits and . _ = - / +. You'll be @name:${location.host}`
        : `Your username, or your full ID like @name:${location.host}`)),
    h("div", { class: "field" }, h("label", { for: "password" }, "Password"), password),
    confirm && h("div", { class: "field" }, h("label", { for: "password2" }, "Repeat password"), confirm),
    error,
    submit,
    h("p", { class: "auth-switch" }, signup ? "Already have an account? " : "New here? ",
      h("a", { href: otherHref }, signup ? "Sign in" : "Create an account")));

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    const user = username.value.trim();
    if (!user || !password.value) {
      error.textContent = "Enter a username and a password.";
      (user ? password : username).focus();
      return;
    }
    if (signup && password.value !== confirm.value) {
      error.textContent = "The two passwords don't match.";
      confirm.focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = signup ? "Creating account…" : "Signing in…";
    try {
      const creds = signup
        ? await app.api.register(user.replace(/^@/, "").split(":")[0], password.value)
        : await app.api.login(user, password.value);
      app.signedIn(creds);
      location.hash = next;
    } catch (e) {
      error.textContent = signup ? registerMessage(e) : loginMessage(e);
      submit.disabled = false;
      submit.textContent = signup ? "Create account" : "Sign in";
      password.focus();
      password.select();
    }
  });

  main.append(h("section", { class: "page auth-page" },
    h("div", { class: "auth-intro" },
      h("span", { class: "brand-mark big", "aria-hidden": "true" }),
      h("p", { class: "lead" }, "Live audio rooms on your own server, open to the whole federation.")),
    form));
  setTimeout(() => username.focus(), 0);
}
