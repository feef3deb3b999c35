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
  static WATCH_MS = 250;  // how often inbound audio is looked at
  static STALL_MS = 1000;  // flowing audio that stops this long means a dead path
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
    this.watchTimer = null;
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
        this.watch(pc);
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
    // "disconnected" can heal by itself, but waiting costs seconds of silence; a restart
    // keeps the old path until the new one works, so restart at once
    if (s === "failed" || s === "disconnected") this.restartIce(s);
  }

  /** Browsers notice a dead path only seconds after it went (ICE "disconnected" comes ~5 s
   *  after a phone's address changed). The room's audio is a steadier signal: a slot carrying
   *  a speaker gets a packet at least every 400 ms (every 20 ms while talking, DTX's comfort
   *  noise in silence), so when audio that was flowing stops for STALL_MS, restart ICE.
   *  Once per stall: a speaker who left the stage costs one harmless restart, not a loop. */
  watch(pc) {
    clearInterval(this.watchTimer);
    let last = -1, lastFlow = 0, flowing = false, stalled = 0;
    this.watchTimer = setInterval(async () => {
      if (pc !== this.pc || this.closed) { clearInterval(this.watchTimer); return; }
      let packets = 0;
      try {
        (await pc.getStats()).forEach((s) => {
          if (s.type === "inbound-rtp" && s.kind === "audio") packets += s.packetsReceived || 0;
        });
      } catch { return; }
      const now = Date.now();
      if (packets !== last) {
        if (last >= 0 && packets > last) {
          if (!flowing && stalled) console.info(`audio: inbound audio back after ${now - stalled} ms`);
          flowing = true; lastFlow = now; stalled = 0;
        }
        last = packets;
      } else if (flowing && now - lastFlow >= RoomAudio.STALL_MS) {
        flowing = false;
        stalled = lastFlow;
        console.info("audio: inbound audio stalled, restarting ICE");
        this.restartIce("stall");
      }
    }, RoomAudio.WATCH_MS);
  }

  /** ICE restart on the same session (PUT): new ICE credentials, the same slots, stage
   *  rights and DTLS; a new session (POST) only if the server refuses the PUT. TURN
   *  credentials past half their lifetime are fetched again first (a restart after hours
   *  in a room would otherwise offer the TURN server expired ones). */
  restartIce(reason) {
    if (!this.pc || !this.sessionId || this.closed) return Promise.resolve();
    return this.run(async () => {
      const pc = this.pc, sessionId = this.sessionId;
      if (!pc || !sessionId || this.closed || pc.signalingState !== "stable") return;
      if (Date.now() - this.lastRestart < 2000 && reason !== "network") return;
      this.lastRestart = Date.now();
      let answer;
      try {
        const stale = !this.turn || Date.now() >= this.turn.until;
        if (stale) {
          const iceServers = await this.iceServers();
          if (pc !== this.pc) return;
          pc.setConfiguration({ ...pc.getConfiguration(), iceServers });
        }
        pc.restartIce();
        await pc.setLocalDescription(await pc.createOffer());
        // No wait for the new candidates: a browser that just changed network learns its new
        // address only seconds later (Chromium debounces network changes ~2 s). The SFU
        // answers checks from any address (peer-reflexive), so the new path is found as soon
        // as the browser's first check arrives.
        answer = await this.api.mediaRenegotiate(this.roomId, sessionId, pc.localDescription.sdp);
        if (pc !== this.pc) return;
        await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
        console.info(`audio: ICE restarted (${reason}) in ${Date.now() - this.lastRestart} ms`);
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
    clearInterval(this.watchTimer);
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
