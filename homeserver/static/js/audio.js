// One WebRTC peer connection per room with the server's SFU: K receive-only slots, plus a mic
// track when the user may speak. Contract: POST .../rooms/{id}/media {type: offer, sdp} ->
// {type: answer, sdp, session_id}; PUT .../media/{session_id} (an ICE restart on the same
// session after a network change or an ICE failure); DELETE .../media/{session_id}; GET .../speakers.
import { ApiError } from "./api.js";

export const DEFAULT_SLOTS = 3;

export const MESSAGES = {
  unavailable: "Live audio isn't available on this server yet. You can still follow the stage, raise your hand and use the backchannel.",
  network: "Can't reach the server for audio. Check your connection; we'll keep trying.",
  failed: "The audio connection failed. Trying again…",
  micRefused: "Microphone access was refused. Allow the microphone for this site in your browser's settings to speak; you can keep listening.",
  micMissing: "No microphone was found. Plug one in to speak; you can keep listening.",
  micBusy: "Your microphone is in use by another app or can't be opened.",
  micUnsupported: "This browser can't use a microphone here (the page must be opened over HTTPS or from localhost).",
  autoplay: "Your browser blocked the sound. Press “Turn on sound” to hear the room.",
};

export class MicError extends Error {
  constructor(message, kind) { super(message); this.name = "MicError"; this.kind = kind; }
}

export async function openMicrophone() {
  if (!navigator.mediaDevices?.getUserMedia) throw new MicError(MESSAGES.micUnsupported, "unsupported");
  try {
    return await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true }, video: false,
    });
  } catch (e) {
    if (e.name === "NotAllowedError" || e.name === "SecurityError" || e.name === "PermissionDeniedError") {
      throw new MicError(MESSAGES.micRefused, "refused");
    }
    if (e.name === "NotFoundError" || e.name === "OverconstrainedError") throw new MicError(MESSAGES.micMissing, "missing");
    throw new MicError(MESSAGES.micBusy, "busy");
  }
}

function gathered(pc, timeoutMs = 3000) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { clearTimeout(t); pc.removeEventListener("icegatheringstatechange", check); resolve(); };
    const check = () => { if (pc.iceGatheringState === "complete") done(); };
    const t = setTimeout(done, timeoutMs);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

/**
 * status: idle | connecting | connected | unavailable | error
 * Emits "status" whenever status or message changes, "blocked" when playback needs a click.
 */
export class RoomAudio extends EventTarget {
  constructor(api, roomId, slots = DEFAULT_SLOTS) {
    super();
    this.api = api;
    this.roomId = roomId;
    this.slots = slots;
    this.pc = null;
    this.sessionId = null;
    this.withMic = false;
    this.micStream = null;
    this.status = "idle";
    this.message = "";
    this.queue = Promise.resolve();
    this.sink = document.getElementById("audio-sink") || document.body.appendChild(
      Object.assign(document.createElement("div"), { id: "audio-sink", hidden: true }));
    this.elements = [];
    this.retries = 0;
    this.closed = false;
    this.lastRestart = 0;
    this.disconnectTimer = null;
    // A new network (Wi-Fi to cellular, a VPN, a cable): restart ICE on the same session.
    this.onNetworkChange = () => this.restartIce("network");
    window.addEventListener("online", this.onNetworkChange);
    navigator.connection?.addEventListener?.("change", this.onNetworkChange);
  }

  setStatus(status, message = "") {
    if (status === this.status && message === this.message) return;
    this.status = status;
    this.message = message;
    this.dispatchEvent(new CustomEvent("status", { detail: { status, message } }));
  }

  /** The homeserver's TURN servers (/voip/turnServer), reused until half their lifetime has
   * passed; none when it has none or cannot say (audio then goes direct, as before). */
  async iceServers() {
    const now = Date.now();
    if (this.turn && now < this.turn.until) return this.turn.servers;
    let servers = [];
    let ttl = 60;
    try {
      const t = await this.api.turnServer();
      if (t && Array.isArray(t.uris) && t.uris.length) {
        servers = [{ urls: t.uris.filter((u) => typeof u === "string"),
                     username: String(t.username || ""), credential: String(t.password || "") }];
        ttl = Math.max(60, Number(t.ttl) || 60);
      }
    } catch (e) {
      console.warn("audio: no TURN servers:", e.message);
    }
    this.turn = { servers, until: now + ttl * 500 };
    return servers;
  }

  /** Serialise connects and disconnects, so quick role changes cannot interleave. */
  run(fn) {
    this.queue = this.queue.then(fn, fn).catch((e) => console.warn("audio:", e));
    return this.queue;
  }

  get micTrack() { return this.micStream?.getAudioTracks()[0] || null; }

  setMicStream(stream) { this.micStream = stream; }

  releaseMic() {
    for (const t of this.micStream?.getTracks() || []) t.stop();
    this.micStream = null;
  }

  setMicEnabled(on) { if (this.micTrack) this.micTrack.enabled = !!on; }

  connect(withMic) {
    return this.run(async () => {
      if (this.closed) return;
      await this.teardown();
      this.withMic = !!(withMic && this.micTrack);
      this.setStatus("connecting", "Connecting audio…");
      let pc;
      try {
        pc = new RTCPeerConnection({ iceServers: await this.iceServers(), bundlePolicy: "max-bundle" });
        this.pc = pc;
        for (let i = 0; i < this.slots; i++) pc.addTransceiver("audio", { direction: "recvonly" });
        if (this.withMic) pc.addTransceiver(this.micTrack, { direction: "sendonly", streams: [this.micStream] });
        pc.addEventListener("track", (e) => this.play(e.track));
        pc.addEventListener("connectionstatechange", () => this.onConnectionState(pc));
        pc.addEventListener("iceconnectionstatechange", () => this.onIceState(pc));
        await pc.setLocalDescription(await pc.createOffer());
        await gathered(pc);
      } catch (e) {
        if (pc) pc.close();
        this.pc = null;
        this.setStatus("error", `This browser can't join live audio (${e.message}). You can still follow the stage and the backchannel.`);
        return;
      }
      let answer;
      try {
        answer = await this.api.mediaOffer(this.roomId, pc.localDescription.sdp);
      } catch (e) {
        pc.close();
        if (this.pc === pc) this.pc = null;
        this.handleOfferError(e, withMic);
        return;
      }
      if (this.closed || this.pc !== pc) { this.forget(answer.session_id); pc.close(); return; }
      this.sessionId = answer.session_id;
      try {
        await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
      } catch (e) {
        this.setStatus("error", `The audio server sent an answer this browser can't use (${e.message}).`);
        await this.teardown();
        return;
      }
      if (pc.connectionState === "connected") this.setStatus("connected", "");
    });
  }

  handleOfferError(e, withMic) {
    if (e instanceof ApiError && e.status === 404 && e.errcode === "M_UNRECOGNIZED") {
      this.setStatus("unavailable", MESSAGES.unavailable);
    } else if (e instanceof ApiError && e.errcode === "ORG.AUDIOROOMS_NOT_LIVE") {
      this.setStatus("error", /ended/i.test(e.message) ? "This room has ended." : "This room isn't live yet.");
    } else if (e instanceof ApiError && e.status === 403 && withMic) {
      this.setStatus("error", `You're not allowed to speak right now: ${e.message}`);
      this.dispatchEvent(new CustomEvent("mic-refused-by-server", { detail: e }));
    } else if (e instanceof ApiError && e.network) {
      this.setStatus("error", MESSAGES.network);
      this.retryLater(withMic);
    } else {
      this.setStatus("error", `Couldn't start audio: ${e.message}`);
    }
  }

  retryLater(withMic) {
    if (this.retries >= 5 || this.closed) return;
    this.retries += 1;
    setTimeout(() => { if (!this.closed) this.connect(withMic); }, 1500 * this.retries);
  }

  onConnectionState(pc) {
    if (pc !== this.pc) return;
    const s = pc.connectionState;
    if (s === "connected") { this.retries = 0; this.setStatus("connected", ""); }
    else if (s === "failed") { this.setStatus("connecting", MESSAGES.failed); this.restartIce("failed"); }
    else if (s === "disconnected") this.setStatus("connecting", "Audio interrupted, reconnecting…");
  }

  onIceState(pc) {
    if (pc !== this.pc) return;
    const s = pc.iceConnectionState;
    clearTimeout(this.disconnectTimer);
    if (s === "failed") this.restartIce("failed");
    // "disconnected" may heal by itself (a short loss): restart only if it lasts
    else if (s === "disconnected") this.disconnectTimer = setTimeout(() => this.restartIce("disconnected"), 2000);
  }

  /** ICE restart on the same session (PUT): new ICE credentials, the same slots, stage
   *  rights and DTLS; a new session (POST) only if the server refuses the PUT. */
  restartIce(reason) {
    if (!this.pc || !this.sessionId || this.closed) return Promise.resolve();
    return this.run(async () => {
      const pc = this.pc, sessionId = this.sessionId;
      if (!pc || !sessionId || this.closed || pc.signalingState !== "stable") return;
      if (Date.now() - this.lastRestart < 2000 && reason !== "network") return;
      this.lastRestart = Date.now();
      let answer;
      try {
        pc.restartIce();
        await pc.setLocalDescription(await pc.createOffer());
        await gathered(pc);
        answer = await this.api.mediaRenegotiate(this.roomId, sessionId, pc.localDescription.sdp);
        if (pc !== this.pc) return;
        await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
      } catch (e) {
        if (pc !== this.pc || this.closed) return;
        if (e instanceof ApiError && e.network) { this.setStatus("error", MESSAGES.network); }
        console.info("audio: ICE restart refused, opening a new session:", e.message);
        setTimeout(() => { if (!this.closed) this.connect(this.withMic); }, 0);
      }
    });
  }

  play(track) {
    const el = document.createElement("audio");
    el.autoplay = true;
    el.srcObject = new MediaStream([track]);
    this.sink.append(el);
    this.elements.push(el);
    el.play().catch((e) => {
      if (e.name === "NotAllowedError") this.dispatchEvent(new CustomEvent("blocked"));
    });
    track.addEventListener("ended", () => { el.remove(); });
  }

  /** After a click: retry playback the browser blocked. */
  resume() {
    for (const el of this.elements) el.play().catch(() => {});
  }

  forget(sessionId) {
    if (!sessionId) return Promise.resolve();
    return this.api.mediaLeave(this.roomId, sessionId).catch(() => {});
  }

  /** Close our side; tell the server too unless it closed the session itself (the room
   *  ended, or we left or were removed, which ends our sessions server-side). */
  async teardown(tellServer = true) {
    if (this.sessionId) {
      const id = this.sessionId;
      this.sessionId = null;
      if (tellServer) await this.forget(id);
    }
    if (this.pc) { this.pc.close(); this.pc = null; }
    for (const el of this.elements) { el.srcObject = null; el.remove(); }
    this.elements = [];
  }

  disconnect() {
    return this.run(async () => {
      await this.teardown();
      this.withMic = false;
      if (this.status !== "unavailable") this.setStatus("idle", "");
    });
  }

  close(tellServer = true) {
    this.closed = true;
    clearTimeout(this.disconnectTimer);
    window.removeEventListener("online", this.onNetworkChange);
    navigator.connection?.removeEventListener?.("change", this.onNetworkChange);
    this.releaseMic();
    return this.run(async () => { await this.teardown(tellServer); this.setStatus("idle", ""); });
  }

  /** Received and sent audio, from WebRTC stats (also read by the browser tests). */
  async stats() {
    const out = { status: this.status, withMic: this.withMic, inboundEnergy: 0, inboundPackets: 0,
                  inboundBytes: 0, inboundLevel: 0, outboundPackets: 0, slots: 0 };
    if (!this.pc) return out;
    const report = await this.pc.getStats();
    report.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "audio") {
        out.slots += 1;
        out.inboundEnergy += s.totalAudioEnergy || 0;
        out.inboundPackets += s.packetsReceived || 0;
        out.inboundBytes += s.bytesReceived || 0;
        out.inboundLevel = Math.max(out.inboundLevel, s.audioLevel || 0);
      } else if (s.type === "outbound-rtp" && s.kind === "audio") {
        out.outboundPackets += s.packetsSent || 0;
      }
    });
    // The path the audio takes: our end of the selected candidate pair (host/relay, udp/tcp).
    report.forEach((s) => {
      if (s.type !== "transport" || !s.selectedCandidatePairId) return;
      const local = report.get(report.get(s.selectedCandidatePairId)?.localCandidateId);
      if (local) {
        out.path = { type: local.candidateType, protocol: local.protocol,
                     relayProtocol: local.relayProtocol || null };
      }
    });
    return out;
  }
}

/** The level of a local stream (the user's own mic), for their talking ring. */
export class LevelMeter {
  constructor(stream) {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    this.ctx = new Ctx();
    this.src = this.ctx.createMediaStreamSource(stream);
    this.analyser = this.ctx.createAnalyser();
    this.analyser.fftSize = 512;
    this.src.connect(this.analyser);
    this.buf = new Float32Array(this.analyser.fftSize);
  }
  level() {
    this.analyser.getFloatTimeDomainData(this.buf);
    let sum = 0;
    for (const v of this.buf) sum += v * v;
    return Math.sqrt(sum / this.buf.length);
  }
  close() { this.src.disconnect(); this.ctx.close().catch(() => {}); }
}
