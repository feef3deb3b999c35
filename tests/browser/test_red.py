"""Chromium and RFC 2198 RED through the SFU, on loopback.

A Chromium speaker (its fake microphone: a beep) and a Chromium listener, each a bare
RTCPeerConnection on the homeserver's origin using the client API. Chromium offers
``red/48000/2``; the SFU's answer accepts it (first), so the speaker sends RED (the SFU counts
RED packets at ingress) and the listener, which negotiated RED too, is sent RED (the SFU
counts them; Chromium's inbound-rtp stats name the decoded codec, Opus) and its audio energy
is present. An aiortc listener in
the same room (no RED) hears the speaker too (the primary as plain Opus).
"""
from __future__ import annotations

from urllib.parse import quote

from media.testing import AudioClient, wait_for
from tests.browser.test_ice_tcp import AUDIO, JS_HELPERS, U, hears, launch

SPEAKER_JS = """
window.speaker = {
  async open(token, roomId) {
    const stream = await navigator.mediaDevices.getUserMedia({audio: true});
    const pc = new RTCPeerConnection({iceServers: [], bundlePolicy: "max-bundle"});
    window.spc = pc;
    pc.addTransceiver(stream.getAudioTracks()[0], {direction: "sendonly"});
    pc.addTransceiver("audio", {direction: "recvonly"});
    await pc.setLocalDescription(await pc.createOffer());
    await window.audiotest.gathered(pc);
    const r = await fetch("/_matrix/client/unstable/org.audiorooms/rooms/" +
      encodeURIComponent(roomId) + "/media", {method: "POST",
      headers: {"Authorization": "Bearer " + token, "Content-Type": "application/json"},
      body: JSON.stringify({type: "offer", sdp: pc.localDescription.sdp})});
    const body = await r.json();
    if (!r.ok) throw new Error(JSON.stringify(body));
    await pc.setRemoteDescription({type: "answer", sdp: body.sdp});
    return {offer: pc.localDescription.sdp, answer: body.sdp};
  },
  async outbound() {
    const report = await window.spc.getStats();
    const out = {packets: 0, codec: null, payloadType: null};
    report.forEach((s) => {
      if (s.type === "outbound-rtp" && s.kind === "audio") {
        out.packets += s.packetsSent || 0;
        const c = s.codecId && report.get(s.codecId);
        if (c) { out.codec = c.mimeType; out.payloadType = c.payloadType; }
      }
    });
    return out;
  },
};
window.inboundCodecs = async () => {
  const report = await window.pc.getStats();
  const out = [];
  report.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio" && (s.packetsReceived || 0) > 0) {
      const c = s.codecId && report.get(s.codecId);
      out.push({packets: s.packetsReceived, energy: s.totalAudioEnergy || 0,
                codec: c ? c.mimeType : null, payloadType: c ? c.payloadType : null});
    }
  });
  return out;
};
true;
"""


async def test_chromium_speaker_sends_red_and_chromium_listener_receives_it(make_homeserver,
                                                                           tmp_path):
    server = await make_homeserver()
    pw, browser = await launch(False, tmp_path)
    plain = None
    try:
        alice = await server.user("alice")
        bob = await server.user("bob")
        room = await alice.create_room(preset="public_chat", creation_content=AUDIO,
                                       name="Live")
        await bob.join(room)
        await alice.put_state(room, "org.audiorooms.role", {"role": "speaker"}, bob.user_id)

        speaker_page = await browser.new_page()
        await speaker_page.goto(server.url + "/")
        await speaker_page.evaluate(JS_HELPERS + SPEAKER_JS)
        opened = await speaker_page.evaluate("([t, r]) => window.speaker.open(t, r)",
                                             [bob.token, room])
        assert "red/48000/2" in opened["offer"]
        mic = opened["answer"].split("m=audio")[1]
        red_pt = next(ln.split(":")[1].split()[0] for ln in mic.splitlines()
                      if ln.startswith("a=rtpmap:") and "red/48000/2" in ln)
        assert mic.split("\r\n")[0].split()[2] == red_pt  # RED first: Chromium sends it

        listener_page = await browser.new_page()
        await listener_page.goto(server.url + "/")
        await listener_page.evaluate(JS_HELPERS + SPEAKER_JS)
        await listener_page.evaluate("([t, r]) => window.audiotest.open(t, r)",
                                     [alice.token, room])
        energy, packets, _st = await hears(listener_page)

        sfu = server.hs.sfu
        assert await wait_for(lambda: sfu.stats()["red_received"] > 50, 10), sfu.stats()
        assert sfu.stats()["red_malformed"] == 0
        # the listener negotiated RED, so it is sent RED (Chromium's inbound-rtp names the
        # codec it decoded, Opus, not RED: the SFU's count shows what went out)
        assert await wait_for(lambda: sfu.stats()["red_forwarded"] > 50, 10), sfu.stats()
        out = await speaker_page.evaluate("window.speaker.outbound()")
        inbound = await listener_page.evaluate("window.inboundCodecs()")
        assert inbound and all(i["energy"] > 0 for i in inbound), inbound

        # an aiortc listener (no RED) in the same room hears the primary as plain Opus
        carol = await server.user("carol")
        await carol.join(room)
        plain = AudioClient(slots=3)
        answer = await carol.ok("POST", f"{U}/rooms/{quote(room)}/media",
                                {"type": "offer", "sdp": await plain.offer()})
        assert "red/48000" not in answer["sdp"]
        await plain.accept(answer["sdp"])
        assert await wait_for(lambda: plain.records[0].packets_between(0, 1e12) > 50, 10)
        print(f"RED: speaker outbound {out}; Chromium listener inbound {inbound}; "
              f"energy {energy:.4f}/s, {packets} packets/s; SFU red_received "
              f"{sfu.stats()['red_received']}; aiortc listener "
              f"{plain.records[0].packets_between(0, 1e12)} packets")
    finally:
        if plain is not None:
            await plain.close()
        await browser.close()
        await pw.stop()
