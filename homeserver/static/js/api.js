// The Matrix client-server API (v3) and this server's unstable org.audiorooms endpoints.

const C = "/_matrix/client/v3";
const U = "/_matrix/client/unstable/org.audiorooms";
const enc = encodeURIComponent;

export class ApiError extends Error {
  constructor(message, { status = 0, errcode = "", data = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.errcode = errcode;
    this.data = data;
  }
  get network() { return this.errcode === "NETWORK"; }
}

export const NETWORK_MESSAGE = "Can't reach the server. Check your connection and try again.";

let txnCounter = 0;
function txnId() {
  txnCounter += 1;
  return `w${Date.now().toString(36)}${txnCounter}`;
}

export class Api {
  constructor(base = location.origin) {
    this.base = base;
    this.token = null;
    this.onUnauthorized = null;
    this.onNetworkError = null;
  }

  async request(method, path, body, { query, signal, auth = true } = {}) {
    let url = this.base + path;
    if (query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null) q.set(k, v);
      const s = q.toString();
      if (s) url += "?" + s;
    }
    const headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (auth && this.token) headers.Authorization = `Bearer ${this.token}`;
    let resp;
    try {
      resp = await fetch(url, {
        method, headers, signal, cache: "no-store",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      if (e.name === "AbortError") throw e;
      if (this.onNetworkError && !path.endsWith("/sync")) this.onNetworkError();
      throw new ApiError(NETWORK_MESSAGE, { errcode: "NETWORK" });
    }
    let data = null;
    try { data = await resp.json(); } catch { data = null; }
    if (!resp.ok) {
      const err = new ApiError((data && data.error) || `The server answered ${resp.status}`,
        { status: resp.status, errcode: (data && data.errcode) || "", data });
      if (resp.status === 401 && err.errcode === "M_UNKNOWN_TOKEN" && auth && this.onUnauthorized) {
        this.onUnauthorized(err);
      }
      throw err;
    }
    return data;
  }

  // accounts -------------------------------------------------------------------------------
  login(user, password) {
    return this.request("POST", `${C}/login`, {
      type: "m.login.password", identifier: { type: "m.id.user", user }, password,
      initial_device_display_name: "Audio rooms web",
    }, { auth: false });
  }
  register(username, password) {
    // Open registration completes with the dummy stage; a server that needs other stages
    // answers 401 with its flows, and one with registration closed answers 403.
    return this.request("POST", `${C}/register`, {
      username, password, auth: { type: "m.login.dummy" },
      initial_device_display_name: "Audio rooms web",
    }, { auth: false });
  }
  /** A guest account (Matrix guest access): listen in public rooms, nothing else. */
  registerGuest() {
    return this.request("POST", `${C}/register`, { initial_device_display_name: "Audio rooms web (guest)" },
      { query: { kind: "guest" }, auth: false });
  }
  /** Turn the guest into a full account (the guest's token proves who they were). */
  upgradeGuest(username, password, guestToken) {
    return this.request("POST", `${C}/register`, {
      ...(username ? { username } : {}), password, auth: { type: "m.login.dummy" }, guest_access_token: guestToken,
      initial_device_display_name: "Audio rooms web",
    }, { auth: false });
  }
  logout() { return this.request("POST", `${C}/logout`, {}); }
  whoami() { return this.request("GET", `${C}/account/whoami`); }
  profile(userId) { return this.request("GET", `${C}/profile/${enc(userId)}`); }
  setProfileField(userId, field, value) {
    return this.request("PUT", `${C}/profile/${enc(userId)}/${field}`, { [field]: value });
  }

  // rooms ----------------------------------------------------------------------------------
  createRoom(body) { return this.request("POST", `${C}/createRoom`, body); }
  join(roomIdOrAlias, via = null) {
    return this.request("POST", `${C}/join/${enc(roomIdOrAlias)}`, {}, via ? { query: { server_name: via } } : {});
  }
  invite(roomId, userId, reason) {
    return this.request("POST", `${C}/rooms/${enc(roomId)}/invite`, { user_id: userId, ...(reason ? { reason } : {}) });
  }
  leave(roomId) { return this.request("POST", `${C}/rooms/${enc(roomId)}/leave`, {}); }
  kick(roomId, userId, reason) {
    return this.request("POST", `${C}/rooms/${enc(roomId)}/kick`, { user_id: userId, reason });
  }
  state(roomId) { return this.request("GET", `${C}/rooms/${enc(roomId)}/state`); }
  putState(roomId, type, stateKey, content) {
    return this.request("PUT", `${C}/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`, content);
  }
  send(roomId, type, content) {
    return this.request("PUT", `${C}/rooms/${enc(roomId)}/send/${enc(type)}/${txnId()}`, content);
  }
  messages(roomId, from, limit = 50) {
    return this.request("GET", `${C}/rooms/${enc(roomId)}/messages`, undefined,
      { query: { dir: "b", limit, from } });
  }
  resolveAlias(alias) { return this.request("GET", `${C}/directory/room/${enc(alias)}`); }
  sync(since, timeout, signal) {
    return this.request("GET", `${C}/sync`, undefined, {
      signal,
      query: { since, timeout: since ? timeout : 0, filter: JSON.stringify({ room: { timeline: { limit: 50 } } }) },
    });
  }
  sendReceipt(roomId, eventId, type = "m.read") {
    return this.request("POST", `${C}/rooms/${enc(roomId)}/receipt/${enc(type)}/${enc(eventId)}`, {});
  }
  setTyping(roomId, userId, typing, timeout = 30000) {
    return this.request("PUT", `${C}/rooms/${enc(roomId)}/typing/${enc(userId)}`,
      typing ? { typing, timeout } : { typing });
  }
  accountData(userId, type) {
    return this.request("GET", `${C}/user/${enc(userId)}/account_data/${enc(type)}`);
  }
  setAccountData(userId, type, content) {
    return this.request("PUT", `${C}/user/${enc(userId)}/account_data/${enc(type)}`, content);
  }

  /** TURN servers with short-lived credentials (coturn's REST API); {} when none is set up. */
  turnServer() {
    return this.request("GET", `${C}/voip/turnServer`);
  }

  // media ----------------------------------------------------------------------------------
  /** Upload a file (a Blob) as it is; answers {content_uri}. No ``filename``: none is sent
   *  (an encrypted attachment's name stays inside its encrypted event). */
  async upload(file, filename) {
    return this.raw("POST", "/_matrix/media/v3/upload", file,
      { query: filename ? { filename } : undefined, contentType: file.type || "application/octet-stream" }).then((r) => r.json());
  }
  /** An image's bytes, with the access token (img tags can't send it): a Blob. */
  async mediaBlob(server, mediaId, thumb = null) {
    const path = `/_matrix/client/v1/media/${thumb ? "thumbnail" : "download"}/${enc(server)}/${enc(mediaId)}`;
    const query = thumb ? { width: thumb.width, height: thumb.height, method: thumb.method || "scale" } : undefined;
    return (await this.raw("GET", path, undefined, { query })).blob();
  }

  /** A request whose body and answer are not JSON; a failure throws ApiError like request(). */
  async raw(method, path, body, { query, contentType } = {}) {
    let url = this.base + path;
    if (query) url += "?" + new URLSearchParams(query).toString();
    const headers = {};
    if (contentType) headers["Content-Type"] = contentType;
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    let resp;
    try {
      resp = await fetch(url, { method, headers, body, cache: method === "GET" ? "default" : "no-store" });
    } catch {
      throw new ApiError(NETWORK_MESSAGE, { errcode: "NETWORK" });
    }
    if (!resp.ok) {
      let data = null;
      try { data = await resp.json(); } catch { data = null; }
      throw new ApiError((data && data.error) || `The server answered ${resp.status}`,
        { status: resp.status, errcode: (data && data.errcode) || "", data });
    }
    return resp;
  }

  // audio rooms (unstable) -----------------------------------------------------------------
  hallway({ refresh = false, club } = {}) {
    return this.request("GET", `${U}/hallway`, undefined,
      { query: { refresh: refresh ? "true" : undefined, club, limit: 50 } });
  }
  mediaOffer(roomId, sdp) {
    return this.request("POST", `${U}/rooms/${enc(roomId)}/media`, { type: "offer", sdp });
  }
  /** An ICE restart on the same session: same slots and stage rights, new ICE credentials. */
  mediaRenegotiate(roomId, sessionId, sdp) {
    return this.request("PUT", `${U}/rooms/${enc(roomId)}/media/${enc(sessionId)}`, { type: "offer", sdp });
  }
  mediaLeave(roomId, sessionId) {
    return this.request("DELETE", `${U}/rooms/${enc(roomId)}/media/${enc(sessionId)}`);
  }
  /** What a visitor sees of a room before joining (no token needed). */
  preview(roomIdOrAlias) {
    return this.request("GET", `${U}/rooms/${enc(roomIdOrAlias)}/preview`, undefined, { auth: false });
  }
  speakers(roomId) { return this.request("GET", `${U}/rooms/${enc(roomId)}/speakers`); }
}
