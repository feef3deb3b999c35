"""media.sdp: the offers browsers and aiortc send, our answers and relay offers."""
import pytest

from media import sdp
from media.sdp import SdpError, SessionDescription, plan_offer

FP = ("AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:"
      "23:45:67:89")


def chromium_section(mid: str, direction: str, ssrc: int | None) -> str:
    lines = [
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126",
        "c=IN IP4 0.0.0.0",
        "a=rtcp:9 IN IP4 0.0.0.0",
        "a=ice-ufrag:Xx1Y",
        "a=ice-pwd:abcdefghijklmnopqrstuvwx",
        "a=ice-options:trickle",
        f"a=fingerprint:sha-256 {FP}",
        "a=setup:actpass",
        f"a=mid:{mid}",
        "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
        "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
        "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
        f"a={direction}",
    ]
    if ssrc:
        lines.append("a=msid:stream-a track-a")
    lines += [
        "a=rtcp-mux",
        "a=rtcp-rsize",
        "a=rtpmap:111 opus/48000/2",
        "a=rtcp-fb:111 transport-cc",
        "a=fmtp:111 minptime=10;useinbandfec=1",
        "a=rtpmap:63 red/48000/2",
        "a=fmtp:63 111/111",
        "a=rtpmap:9 G722/8000",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:13 CN/8000",
        "a=rtpmap:110 telephone-event/48000",
        "a=rtpmap:126 telephone-event/8000",
    ]
    if ssrc:
        lines += [f"a=ssrc:{ssrc} cname:nS0sB6H2pM0bGGQ3", f"a=ssrc:{ssrc} msid:stream-a track-a"]
    if mid == "0":
        lines += [
            "a=candidate:1467250027 1 udp 2122260223 192.0.2.9 46243 typ host generation 0 "
            "network-id 1",
            "a=candidate:435653019 1 tcp 1845501695 192.0.2.9 9 typ host tcptype active "
            "generation 0 network-id 1",
            "a=candidate:2999745851 1 udp 2122194687 4f3c6c1e-1a2b-4c5d-8e9f-0123456789ab.local "
            "56000 typ host generation 0 network-id 2",
        ]
    return "\r\n".join(lines)


def chromium_offer(mic_first=True, recv=3) -> str:
    head = ["v=0", "o=- 4611731400430051336 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
            "a=group:BUNDLE " + " ".join(str(i) for i in range(recv + (1 if mic_first else 0))),
            "a=extmap-allow-mixed", "a=msid-semantic: WMS stream-a"]
    sections = []
    mid = 0
    if mic_first:
        sections.append(chromium_section(str(mid), "sendrecv", 3735928559))
        mid += 1
        recv -= 1
    for _ in range(recv):
        sections.append(chromium_section(str(mid), "recvonly", None))
        mid += 1
    return "\r\n".join(head + sections) + "\r\n"


FIREFOX_OFFER = "\r\n".join([
    "v=0", "o=mozilla...THIS_IS_SDPARTA-99.0 4204437456367419335 0 IN IP4 0.0.0.0", "s=-",
    "t=0 0", f"a=fingerprint:sha-256 {FP}", "a=group:BUNDLE 0 1", "a=ice-options:trickle",
    "a=msid-semantic:WMS *",
    "m=audio 9 UDP/TLS/RTP/SAVPF 109 9 0 8 101", "c=IN IP4 0.0.0.0", "a=sendonly",
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    "a=extmap:2/recvonly urn:ietf:params:rtp-hdrext:csrc-audio-level",
    "a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid",
    "a=fmtp:109 maxplaybackrate=48000;stereo=1;useinbandfec=1", "a=fmtp:101 0-15",
    "a=ice-pwd:2a9c4f1d6e8b0a3c5e7f9b1d3f5a7c9e", "a=ice-ufrag:7f3a2b1c", "a=mid:0",
    "a=msid:{s} {t}", "a=rtcp-mux", "a=rtpmap:109 opus/48000/2", "a=rtpmap:9 G722/8000/1",
    "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000",
    "a=setup:actpass", "a=ssrc:2655508255 cname:{c}",
    "m=audio 9 UDP/TLS/RTP/SAVPF 109 9 0 8 101", "c=IN IP4 0.0.0.0", "a=recvonly",
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    "a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid",
    "a=fmtp:109 maxplaybackrate=48000;stereo=1;useinbandfec=1",
    "a=ice-pwd:2a9c4f1d6e8b0a3c5e7f9b1d3f5a7c9e", "a=ice-ufrag:7f3a2b1c", "a=mid:1",
    "a=rtcp-mux", "a=rtpmap:109 opus/48000/2", "a=setup:actpass",
    "a=candidate:0 1 UDP 2122252543 192.0.2.7 51234 typ host", "a=end-of-candidates", ""])

LOCAL = sdp.LocalTransport(ice_ufrag="sfu1", ice_pwd="p" * 22,
                           fingerprints=[("sha-256", FP)],
                           candidates=[sdp.Candidate("1", 1, "udp", 2130706431, "192.0.2.2",
                                                     40000, "host")],
                           setup="active", session_id=42)


def test_chromium_offer_mic_first_is_accepted():
    offer = chromium_offer(mic_first=True, recv=3)
    plan = plan_offer(offer, max_slots=3)
    assert [s.slot for s in plan.slots] == [0, 1, 2]
    assert plan.mic.index == 0 and plan.mic.slot == 0 and plan.mic.direction == "sendrecv"
    assert plan.mic.remote_ssrcs == [3735928559]
    assert all(s.payload_type == 111 and s.audio_level_id == 1 and s.mid_id == 4
               for s in plan.sections)
    t = plan.transport
    assert (t.ice_ufrag, t.setup, t.fingerprints[0][0]) == ("Xx1Y", "actpass", "sha-256")
    # TCP candidates are left out; the mDNS one is kept for the ICE agent to resolve
    assert [c.host for c in t.candidates] == [
        "192.0.2.9", "4f3c6c1e-1a2b-4c5d-8e9f-0123456789ab.local"]
    assert plan.bundle == ["0", "1", "2"]


def test_answer_to_chromium_offer():
    offer = chromium_offer(mic_first=False, recv=4)
    plan = plan_offer(offer, max_slots=3)
    assert [s.slot for s in plan.sections] == [0, 1, 2, None] and plan.mic is None
    answer = sdp.write_answer(offer, plan, LOCAL, {0: 11, 1: 22, 2: 33}, "cn", "room")
    desc = SessionDescription.parse(answer)
    assert desc.bundle == [["0", "1", "2", "3"]]
    assert [m.direction for m in desc.media] == ["sendonly"] * 3 + ["inactive"]
    for m, ssrc in zip(desc.media, (11, 22, 33), strict=False):
        # RED (RFC 2198) offered, so accepted with the offerer's PTs, preferred (first)
        assert m.formats == ["63", "111"] and m.codecs[111].name == "opus"
        assert (m.codecs[63].name, m.codecs[63].clock_rate, m.codecs[63].fmtp) == \
            ("red", 48000, "111/111")
        assert m.extmap == {sdp.AUDIO_LEVEL_URI: 1, sdp.MID_URI: 4}
        assert m.ssrcs == [ssrc] and m.rtcp_mux and m.rtcp_rsize
        assert m.setup == "active" and m.ice_ufrag == "sfu1"
        assert m.candidates[0].port == 40000 and m.end_of_candidates
    assert "transport-cc" not in answer and "G722" not in answer
    assert answer.endswith("\r\n") and "\n\n" not in answer


def test_firefox_offer_session_level_fingerprint():
    plan = plan_offer(FIREFOX_OFFER, max_slots=3)
    assert plan.mic.index == 0 and plan.mic.direction == "recvonly"
    assert plan.slots[0].index == 1 and plan.slots[0].payload_type == 109
    assert plan.slots[0].fmtp == "maxplaybackrate=48000;stereo=1;useinbandfec=1"
    assert plan.transport.fingerprints == [("sha-256", FP)]
    assert plan.transport.end_of_candidates


def test_listener_mic_is_still_accepted_but_can_be_refused():
    offer = chromium_offer(mic_first=True, recv=2)
    assert plan_offer(offer, 3).mic is not None
    plan = plan_offer(offer, 3, accept_mic=False)
    assert plan.mic is None and plan.sections[0].direction == "sendonly"


def test_video_and_data_sections_are_rejected_with_port_zero():
    offer = chromium_offer(mic_first=False, recv=1).replace(
        "a=group:BUNDLE 0", "a=group:BUNDLE 0 1 2") + "\r\n".join([
            "m=video 9 UDP/TLS/RTP/SAVPF 96", "c=IN IP4 0.0.0.0", "a=mid:1", "a=recvonly",
            "a=rtpmap:96 VP8/90000",
            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "c=IN IP4 0.0.0.0", "a=mid:2",
            "a=sctp-port:5000", ""])
    plan = plan_offer(offer, 3)
    assert [s.accepted for s in plan.sections] == [True, False, False]
    answer = sdp.write_answer(offer, plan, LOCAL, {0: 1}, "cn", "room")
    desc = SessionDescription.parse(answer)
    assert [m.port for m in desc.media] == [40000, 0, 0]
    assert desc.bundle == [["0"]]


@pytest.mark.parametrize("bad", [
    "", "hello", "v=0\r\n",
    chromium_offer().replace("opus/48000/2", "ISAC/16000"),
    chromium_offer().replace("a=ice-pwd:abcdefghijklmnopqrstuvwx\r\n", ""),
    chromium_offer().replace(f"a=fingerprint:sha-256 {FP}\r\n", ""),
    chromium_offer().replace("a=group:BUNDLE 0 1 2", ""),
    chromium_offer().replace("a=extmap:1 urn", "a=extmap:x urn"),
])
def test_unusable_offers_raise_sdp_error(bad):
    with pytest.raises(SdpError):
        plan_offer(bad, 3)


def test_relay_offer_round_trip_and_dtls_roles():
    offer = sdp.write_relay_offer(sdp.LocalTransport("r1", "q" * 22, [("sha-256", FP)],
                                                     LOCAL.candidates, "actpass"), "relay")
    plan = plan_offer(offer, max_slots=1)
    assert plan.sections[0].direction == "sendrecv" and plan.transport.setup == "actpass"
    assert plan.sections[0].audio_level_id == sdp.RELAY_AUDIO_LEVEL_ID
    answer = sdp.write_answer(offer, plan, LOCAL, {}, "cn", "relay")
    parsed = sdp.parse_answer(answer)
    assert parsed.transport.setup == "active" and parsed.sections[0].payload_type == 111
    assert sdp.dtls_role_for_answer("actpass") == ("active", "client")
    assert sdp.dtls_role_for_answer("active") == ("passive", "server")
    assert sdp.dtls_role_for_offer("active") == "server"
    with pytest.raises(SdpError):
        sdp.dtls_role_for_offer("actpass")


def test_candidate_round_trip():
    line = "842163049 1 udp 1677729535 203.0.113.5 61000 typ srflx raddr 10.0.0.2 rport 61000"
    c = sdp.Candidate.parse("candidate:" + line)
    assert (c.type, c.related_address, c.related_port) == ("srflx", "10.0.0.2", 61000)
    assert str(c) == line
