"""Chromium and the SFU's ICE-TCP and ICE restart, on loopback.

* A Chromium listener whose WebRTC may not use UDP (``--force-webrtc-ip-handling-policy=
  disable_non_proxied_udp``: no UDP candidates, no UDP checks) hears a speaker through the
  SFU's passive TCP candidate (``media.tcp_port``, RFC 6544/4571): its selected candidate pair
  is TCP on both ends, and the SFU's session is on the TCP path.
* A Chromium listener restarts ICE (``pc.restartIce()``, a new offer PUT on its session): the
  SFU answers with new ICE credentials on the same session, DTLS is kept, the audio keeps
  coming on the same session id, and the speaker is still a speaker.

The speaker is an aiortc client (UDP) sending a 440 Hz tone; the listener's page is the
homeserver's origin driving a bare RTCPeerConnection with the client API (the web client's own
restart path is covered by test_web_client's flows through ``audio.js``).
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from media.testing import AudioClient, ToneTrack
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, _unavailable
from tests.integration.federation_helpers import eventually

AUDIO = {"type": "org.audiorooms.audio"}
U = "/_matrix/client/unstable/org.audiorooms"

JS_HELPERS = """
window.audiotest = {
  async open(token, roomId) {
    const pc = new RTCPeerConnection({iceServers: [], bundlePolicy: "max-bundle"});
    window.pc = pc;
    for (let i = 0; i < 3; i++) pc.addTransceiver("audio", {direction: "recvonly"});
    pc.addEventListener("track", (e) => {
      const el = document.createElement("audio");
      el.autoplay = true; el.srcObject = new MediaStream([e.track]);
      document.body.append(el); el.play().catch(() => {});
    });
    await pc.setLocalDescription(await pc.createOffer());
    await this.gathered(pc);
    const r = await fetch("/_matrix/client/unstable/org.audiorooms/rooms/" +
      encodeURIComponent(roomId) + "/media", {method: "POST",
      headers: {"Authorization": "Bearer " + token, "Content-Type": "application/json"},
      body: JSON.stringify({type: "offer", sdp: pc.localDescription.sdp})});
    const body = await r.json();
    if (!r.ok) throw new Error(JSON.stringify(body));
    this.sessionId = body.session_id;
    await pc.setRemoteDescription({type: "answer", sdp: body.sdp});
    return {sessionId: body.session_id, offer: pc.localDescription.sdp, answer: body.sdp};
  },
  gathered(pc) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, 3000);
      pc.addEventListener("icegatheringstatechange", () => {
        if (pc.iceGatheringState === "complete") { clearTimeout(t); resolve(); }
      });
    });
  },
  async restart(token, roomId) {
    const pc = window.pc;
    pc.restartIce();
    await pc.setLocalDescription(await pc.createOffer());
    await this.gathered(pc);
    const r = await fetch("/_matrix/client/unstable/org.audiorooms/rooms/" +
      encodeURIComponent(roomId) + "/media/" + encodeURIComponent(this.sessionId),
      {method: "PUT", headers: {"Authorization": "Bearer " + token,
                                "Content-Type": "application/json"},
       body: JSON.stringify({type: "offer", sdp: pc.localDescription.sdp})});
    const body = await r.json();
    if (!r.ok) throw new Error(JSON.stringify(body));
    await pc.setRemoteDescription({type: "answer", sdp: body.sdp});
    return {sessionId: body.session_id, offer: pc.localDescription.sdp, answer: body.sdp};
  },
  async stats() {
    const out = {energy: 0, packets: 0, pair: null, local: null, remote: null,
                 state: window.pc ? window.pc.iceConnectionState : "none"};
    if (!window.pc) return out;
    const report = await window.pc.getStats();
    let pairId = null;
    report.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "audio") {
        out.energy += s.totalAudioEnergy || 0; out.packets += s.packetsReceived || 0;
      } else if (s.type === "transport" && s.selectedCandidatePairId) {
        pairId = s.selectedCandidatePairId;
      }
    });
    const pair = pairId && report.get(pairId);
    if (pair) {
      const l = report.get(pair.localCandidateId), r = report.get(pair.remoteCandidateId);
      out.pair = pair.state;
      out.local = l && {protocol: l.protocol, type: l.candidateType, port: l.port,
                        tcpType: l.tcpType || null};
      out.remote = r && {protocol: r.protocol, type: r.candidateType, port: r.port,
                         address: r.address};
    }
    return out;
  },
};
"""


async def launch(tcp_only: bool, tmp: Path):
    """Chromium with a fresh profile; ``tcp_only``: its WebRTC IP handling policy (the
    preference behind the WebRtcIPHandling policy and extensions' webRTCIPHandlingPolicy) is
    ``disable_non_proxied_udp``: no UDP for WebRTC, only TCP (the --force-webrtc-ip-handling-
    policy switch is not honoured by this Chromium build)."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install playwright)")
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        _unavailable(f"Chromium not found at {CHROMIUM}")
    profile = tmp / "chromium-profile"
    (profile / "Default").mkdir(parents=True)
    if tcp_only:
        (profile / "Default" / "Preferences").write_text(json.dumps(
            {"webrtc": {"ip_handling_policy": "disable_non_proxied_udp"}}))
    pw = await async_playwright().start()
    try:
        context = await pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS + ["--autoplay-policy=no-user-gesture-required"])
    except Exception as e:  # noqa: BLE001 - report why Chromium did not start
        await pw.stop()
        _unavailable(f"Chromium did not start: {e}")
    return pw, context


async def stats(page) -> dict:
    return await page.evaluate("window.audiotest.stats()")


async def energy_over(page, seconds: float = 1.0) -> tuple[float, int, dict]:
    before = await stats(page)
    await asyncio.sleep(seconds)
    after = await stats(page)
    return after["energy"] - before["energy"], after["packets"] - before["packets"], after


async def hears(page, timeout: float = 20.0) -> tuple[float, int, dict]:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        e, n, st = await energy_over(page, 1.0)
        seen.append((round(e, 5), n, st["state"]))
        if e > 0.001 and n > 20:
            return e, n, st
    raise AssertionError(f"the listener heard nothing; windows (energy, packets, ice): {seen}")


async def room_with_speaker(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    room = await alice.create_room(preset="public_chat", creation_content=AUDIO, name="Live")
    await bob.join(room)
    await alice.put_state(room, "org.audiorooms.role", {"role": "speaker"}, bob.user_id)
    speaker = AudioClient(mic=ToneTrack(440, 0.5))
    answer = await bob.ok("POST", f"{U}/rooms/{quote(room)}/media",
                          {"type": "offer", "sdp": await speaker.offer()})
    await speaker.accept(answer["sdp"])
    return alice, bob, room, speaker


async def open_listener(context, server, token: str, room: str):
    page = await context.new_page()
    await page.goto(server.url + "/")
    await page.evaluate(JS_HELPERS)
    opened = await page.evaluate("([t, r]) => window.audiotest.open(t, r)", [token, room])
    return page, opened


def session_of(server, room: str, sid: str):
    return server.hs.sfu.rooms[room].sessions[sid]


async def test_chromium_without_udp_hears_the_room_over_ice_tcp(make_homeserver, tmp_path):
    server = await make_homeserver(media={"tcp_port": 0})
    pw, browser = await launch(True, tmp_path)
    speaker = None
    try:
        alice, bob, room, speaker = await room_with_speaker(server)
        tcp = server.hs.sfu.tcp
        assert tcp is not None and tcp.port > 0
        page, opened = await open_listener(browser, server, alice.token, room)
        # the answer offers the passive TCP candidate on the one shared port
        assert f" {tcp.port} typ host tcptype passive" in opened["answer"], opened["answer"]
        # Chromium offered no UDP candidate: the policy leaves it TCP only
        cands = [ln for ln in opened["offer"].splitlines() if ln.startswith("a=candidate")]
        assert all(" udp " not in c.lower() for c in cands), cands
        energy, packets, st = await hears(page)
        assert st["local"]["protocol"] == "tcp" and st["remote"]["protocol"] == "tcp", st
        assert st["remote"]["port"] == tcp.port, st
        sess = session_of(server, room, opened["sessionId"])
        assert sess.tp.path == "tcp"
        print(f"ICE-TCP listener: energy {energy:.4f}/s, {packets} packets/s, pair {st}")
    finally:
        if speaker is not None:
            await speaker.close()
        await browser.close()
        await pw.stop()


@pytest.mark.parametrize("tcp_only", [False, True], ids=["udp", "tcp"])
async def test_chromium_restarts_ice_on_the_same_session_and_keeps_hearing(
        make_homeserver, tmp_path, tcp_only):
    server = await make_homeserver(media={"tcp_port": 0})
    pw, browser = await launch(tcp_only, tmp_path)
    speaker = None
    try:
        alice, bob, room, speaker = await room_with_speaker(server)
        page, opened = await open_listener(browser, server, alice.token, room)
        sid = opened["sessionId"]
        await hears(page)
        sess = session_of(server, room, sid)
        first_gen = sess.tp.gen
        bob_source = server.hs.sfu.rooms[room].sources.get(bob.user_id)
        assert bob_source is not None

        restarted = await page.evaluate("([t, r]) => window.audiotest.restart(t, r)",
                                        [alice.token, room])
        assert restarted["sessionId"] == sid

        def ufrag(sdp: str) -> str:
            return next(ln.split(":", 1)[1] for ln in sdp.splitlines()
                        if ln.startswith("a=ice-ufrag:"))

        def fingerprint(sdp: str) -> str:
            return next(ln for ln in sdp.splitlines() if ln.startswith("a=fingerprint:"))

        assert ufrag(restarted["answer"]) != ufrag(opened["answer"])
        assert ufrag(restarted["offer"]) != ufrag(opened["offer"])
        assert fingerprint(restarted["answer"]) == fingerprint(opened["answer"])
        t0 = time.monotonic()
        await eventually(lambda: sess.tp.gen is not first_gen, timeout=10)
        switched = time.monotonic() - t0
        energy, packets, st = await hears(page)
        # the same session: no new one, the speaker still on stage and heard
        sfu_room = server.hs.sfu.rooms[room]
        assert sid in sfu_room.sessions and len(sfu_room.sessions) == 2  # listener + speaker
        assert sfu_room.sources.get(bob.user_id) is not None
        assert sess.tp.path == ("tcp" if tcp_only else "udp")
        assert st["local"]["protocol"] == sess.tp.path
        print(f"ICE restart over {sess.tp.path}: new path in {switched:.2f} s, then "
              f"energy {energy:.4f}/s, {packets} packets/s")
    finally:
        if speaker is not None:
            await speaker.close()
        await browser.close()
        await pw.stop()


async def test_web_client_restarts_ice_on_a_network_change_and_keeps_its_session(
        make_homeserver, open_page):
    """The web client (audio.js): a network change (the browser's ``online`` event) makes it
    restart ICE with a PUT on its session, not a new session; audio keeps coming."""
    from playwright.async_api import expect

    from tests.browser import flows

    server = await make_homeserver(media={"tcp_port": 0})
    alice = await open_page(server, "alice")
    user_id = await flows.sign_up(alice, "alice")
    room = await flows.create_room(alice, "Moving between networks")
    await expect(alice.page.get_by_test_id("audio-status")).to_have_text(
        "You're connected to the room's audio.", timeout=20000)
    admin = await server.user("bob")  # a speaker
    await admin.join(room)
    # the moderator (in the web client) invites Bob to speak, through the API as herself
    speaker = None
    try:
        sfu_room = server.hs.sfu.rooms[room]
        mine = [s for s in sfu_room.sessions.values() if s.user_id == user_id]
        assert len(mine) == 1
        sess = mine[0]
        creds = await alice.page.evaluate("JSON.parse(localStorage.getItem('audiorooms.session'))")
        moderator = server.client(creds["access_token"])
        # the moderator makes Bob a speaker; he speaks from an aiortc client
        await moderator.put_state(room, "org.audiorooms.role", {"role": "speaker"},
                                  admin.user_id)
        speaker = AudioClient(mic=ToneTrack(440, 0.5))
        answer = await admin.ok("POST", f"{U}/rooms/{quote(room)}/media",
                                {"type": "offer", "sdp": await speaker.offer()})
        await speaker.accept(answer["sdp"])
        await flows.wait_for_energy(alice, lambda e: e > 0.001)
        first_gen = sess.tp.gen
        await alice.page.evaluate("window.dispatchEvent(new Event('online'))")
        await eventually(lambda: sess.tp.gen is not first_gen, timeout=10)
        await flows.wait_for_energy(alice, lambda e: e > 0.001, timeout=10)
        mine = [s for s in sfu_room.sessions.values() if s.user_id == user_id]
        assert mine == [sess] and not sess.closed
        await expect(alice.page.get_by_test_id("audio-status")).to_have_text(
            "You're connected to the room's audio.")
    finally:
        if speaker is not None:
            await speaker.close()


async def test_web_client_refreshes_old_turn_credentials_before_an_ice_restart(
        make_homeserver, open_page):
    """TURN credentials (/voip/turnServer, coturn's REST API) expire after
    ``turn.user_lifetime_seconds``: an ICE restart with the peer connection's first ones would
    fail over TURN after that. The web client fetches new ones (and ``setConfiguration``s them)
    when a restart comes after half their lifetime; a restart before that reuses them. The
    page's clock is moved on (Playwright's clock), not waited for."""
    from playwright.async_api import expect

    from tests.browser import flows

    server = await make_homeserver(media={"tcp_port": 0}, turn={
        # nothing listens there: Chromium's allocation fails quietly, audio goes direct
        "uris": ["turn:127.0.0.1:9?transport=udp"], "shared_secret": "s3cret",
        "user_lifetime_seconds": 60})
    alice = await open_page(server, "alice")
    await alice.page.clock.install()
    calls: list[str] = []
    alice.page.on("request", lambda r: calls.append(
        "turn" if r.url.endswith("/voip/turnServer") else r.method)
        if r.url.endswith("/voip/turnServer") or (
            "/media" in r.url and "/rooms/" in r.url and r.method in ("POST", "PUT")) else None)
    await flows.sign_up(alice, "alice")
    await flows.create_room(alice, "Long-lived credentials")
    status = alice.page.get_by_test_id("audio-status")
    await expect(status).to_have_text("You're connected to the room's audio.", timeout=20000)
    assert calls == ["turn", "POST"], calls

    async def restart() -> list[str]:
        before = len(calls)
        await alice.page.evaluate("window.dispatchEvent(new Event('online'))")
        await eventually(lambda: "PUT" in calls[before:], timeout=10)
        await asyncio.sleep(0.5)
        await expect(status).to_have_text("You're connected to the room's audio.")
        return calls[before:]

    # 10 s in: the credentials are fresh, the restart keeps them
    await alice.page.clock.fast_forward(10_000)
    assert await restart() == ["PUT"]
    # 40 s in (past half of 60 s): new credentials first, then the restart, same session
    await alice.page.clock.fast_forward(30_000)
    assert await restart() == ["turn", "PUT"]
    assert calls.count("POST") == 1, calls
