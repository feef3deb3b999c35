"""Audio through the real APIs: sessions via the client endpoint, relays via signed federation.

A speaker on server B is heard by a listener on the host A and on server C (through the hosts'
relay); the moderator's mute silences him everywhere; a listener's mic is never forwarded.
"""
import asyncio
import time
from urllib.parse import quote

import numpy as np

from media.testing import AudioClient, ToneTrack
from tests.integration.federation_helpers import eventually, start_servers

AUDIO = {"type": "org.audiorooms.audio"}
U = "/_matrix/client/unstable/org.audiorooms"


def dominant_frequency(pcm: bytes, rate: int = 48000) -> float:
    x = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    assert len(x) >= rate // 10, "not enough audio to analyse"
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    spectrum[:5] = 0
    return float(np.argmax(spectrum) * rate / len(x))


async def open_audio(client, room, mic=None):
    audio = AudioClient(mic=mic)
    answer = await client.ok("POST", f"{U}/rooms/{quote(room)}/media",
                             {"type": "offer", "sdp": await audio.offer()})
    await audio.accept(answer["sdp"])
    return audio, answer["session_id"]


def heard(audio: AudioClient, seconds: float = 0.4) -> tuple[float | None, int]:
    """(dominant frequency over the last seconds on any slot, packets in that window)."""
    now = time.monotonic()
    for rec in audio.records:
        pcm = rec.audio_between(now - seconds, now)
        if len(pcm) >= 48000 // 5:
            return dominant_frequency(pcm), rec.packets_between(now - seconds, now)
    return None, sum(r.packets_between(now - seconds, now) for r in audio.records)


async def test_remote_speaker_is_heard_on_host_and_third_server_and_mute_silences(
        make_homeserver):
    hs = await start_servers(make_homeserver)
    alice = await hs["a"].user("alice")
    bob = await hs["b"].user("bob")
    carol = await hs["c"].user("carol")
    room = await alice.create_room(preset="public_chat", creation_content=AUDIO, name="Live")
    await bob.join(room)
    await carol.join(room)
    await alice.put_state(room, "org.audiorooms.role", {"role": "speaker"}, bob.user_id)
    await eventually(lambda: _role_is(bob, room, bob.user_id, "speaker"))

    clients = []
    try:
        speaker, _ = await open_audio(bob, room, ToneTrack(440, 0.5))
        t0 = time.monotonic()
        host_listener, _ = await open_audio(alice, room)
        remote_listener, _ = await open_audio(carol, room, ToneTrack(1000, 0.5))  # not allowed
        clients += [speaker, host_listener, remote_listener]
        for listener in (host_listener, remote_listener):
            await eventually(lambda li=listener: heard(li)[0] is not None and
                             abs(heard(li)[0] - 440) < 5, timeout=10)
        first_audio = max(li.first_packet_at for li in (host_listener, remote_listener)) - t0
        assert first_audio < 5, f"audio took {first_audio:.2f} s to arrive through relays"
        # Carol's mic (a listener's) is never forwarded: nobody hears 1000 Hz.
        for li in (host_listener, speaker):
            f, _ = heard(li)
            assert f is None or abs(f - 1000) > 20

        speakers = await alice.ok("GET", f"{U}/rooms/{quote(room)}/speakers")
        assert [s["user_id"] for s in speakers["slots"] if s.get("user_id")] == [bob.user_id]

        # The moderator mutes Bob: packets stop for every listener within 100 ms of the host
        # applying the change (measured at the listeners, so it includes the relay hop).
        await alice.put_state(room, "org.audiorooms.role", {"role": "speaker", "muted": True},
                              bob.user_id)
        muted_at = time.monotonic()
        await asyncio.sleep(0.6)
        for li in (host_listener, remote_listener):
            last = max((r.last_packet_time() or 0) for r in li.records)
            assert last - muted_at < 0.1, f"audio went on {last - muted_at:.3f} s after mute"
    finally:
        for c in clients:
            await c.close()


async def _role_is(client, room, user, want):
    status, data = await client.request(
        "GET", f"/rooms/{quote(room)}/state/org.audiorooms.role/{quote(user)}")
    return status == 200 and data.get("role") == want


async def test_media_endpoint_refuses_non_members_ended_rooms_and_bad_offers(make_homeserver):
    hs = await start_servers(make_homeserver, names=("a",))
    alice = await hs["a"].user("alice")
    eve = await hs["a"].user("eve")
    room = await alice.create_room(preset="public_chat", creation_content=AUDIO)
    plain = await alice.create_room(preset="public_chat")
    audio = AudioClient()
    try:
        offer = {"type": "offer", "sdp": await audio.offer()}
        status, err = await eve.request("POST", f"{U}/rooms/{quote(room)}/media", offer)
        assert (status, err["errcode"]) == (403, "M_FORBIDDEN")
        status, err = await alice.request("POST", f"{U}/rooms/{quote(plain)}/media", offer)
        assert (status, err["errcode"]) == (400, "M_INVALID_PARAM")
        status, err = await alice.request("POST", f"{U}/rooms/{quote(room)}/media",
                                          {"type": "offer", "sdp": "v=0 nonsense"})
        assert (status, err["errcode"]) == (400, "M_BAD_JSON")
        status, err = await alice.request("DELETE", f"{U}/rooms/{quote(room)}/media/nope")
        assert status == 404
        await alice.put_state(room, "org.audiorooms.live", {"live": False})
        status, err = await alice.request("POST", f"{U}/rooms/{quote(room)}/media", offer)
        assert status == 403 and "ended" in err["error"]
    finally:
        await audio.close()


async def test_server_with_sfu_worker_processes_carries_audio(make_homeserver):
    """media.workers: the forwarding runs in worker processes (one per core in production)."""
    hs = await start_servers(make_homeserver, names=("a", "b"), media={"workers": 2})
    assert type(hs["a"].hs.sfu).__name__ == "SFUCluster"
    alice = await hs["a"].user("alice")
    erin = await hs["a"].user("erin")
    bob = await hs["b"].user("bob")
    room = await alice.create_room(preset="public_chat", creation_content=AUDIO)
    await bob.join(room)
    await erin.join(room)
    clients = []
    try:
        speaker, _ = await open_audio(alice, room, ToneTrack(523, 0.5))  # moderator speaks
        local, _ = await open_audio(erin, room)
        remote, _ = await open_audio(bob, room)
        clients += [speaker, local, remote]
        for li in (local, remote):
            await eventually(lambda li=li: heard(li)[0] is not None and
                             abs(heard(li)[0] - 523) < 5, timeout=15)
        speakers = await alice.ok("GET", f"{U}/rooms/{quote(room)}/speakers")
        assert alice.user_id in [s.get("user_id") for s in speakers["slots"]]
    finally:
        for c in clients:
            await c.close()
