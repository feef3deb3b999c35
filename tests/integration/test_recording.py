"""Recording audio rooms: the stage recorded on its host (local and relayed speakers), the
replay as media in every server's timeline, clips, consent rules, and a SIGKILL mid-recording.

Speakers are aiortc peers sending real Opus (``ToneTrack``): Alice (440 Hz) on the host A,
Bob (660 Hz) on B, heard by the host through B's relay. What comes out is decoded with PyAV and
analysed per half-second window (FFT).
"""
from __future__ import annotations

import asyncio
import time
from urllib.parse import quote

import aiohttp
from aiohttp.test_utils import unused_port

from media.testing import AudioClient, ToneTrack, decode_audio, tone_windows
from tests.integration.federation_helpers import eventually, start_servers
from tests.integration.processes import generate_config
from tests.matrix_client import Client

AUDIO = {"type": "org.audiorooms.audio"}
U = "/_matrix/client/unstable/org.audiorooms"
REC = "org.audiorooms.recording"
NOT_RECORDING = "ORG.AUDIOROOMS_NOT_RECORDING"


async def open_audio(client, room, mic=None) -> AudioClient:
    audio = AudioClient(mic=mic, decode=False)
    answer = await client.ok("POST", f"{U}/rooms/{quote(room)}/media",
                             {"type": "offer", "sdp": await audio.offer()})
    await audio.accept(answer["sdp"])
    return audio


async def replay_events(client, room) -> list[dict]:
    page = await client.messages(room, dir="b", limit="100")
    return [e for e in page["chunk"] if e["type"] == "m.room.message"
            and e["content"].get("msgtype") == "m.audio"
            and "org.audiorooms.replay" in e["content"]]


async def download(client, uri: str) -> bytes:
    server, media_id = uri[len("mxc://"):].split("/")
    async with client.session.get(
            f"{client.base}/_matrix/client/v1/media/download/{server}/{media_id}",
            headers={"Authorization": f"Bearer {client.token}"}) as resp:
        assert resp.status == 200, await resp.text()
        assert resp.headers["Content-Type"].startswith("audio/ogg")
        return await resp.read()


async def clip(client, room, seconds) -> tuple[int, dict]:
    return await client.request("POST", f"{U}/rooms/{quote(room)}/clip", {"seconds": seconds})


def windows_between(windows: list, t0: float, t1: float, step: float = 0.5) -> list:
    """The half-second windows wholly inside [t0, t1] seconds of the audio."""
    return [w for i, w in enumerate(windows) if i * step >= t0 and (i + 1) * step <= t1]


async def notices_of(client) -> list[str]:
    bodies = []
    for room in (await client.ok("GET", "/joined_rooms"))["joined_rooms"]:
        page = await client.messages(room, dir="b", limit="50")
        bodies += [e["content"].get("body", "") for e in page["chunk"]
                   if e["type"] == "m.room.message" and e["content"].get("msgtype") == "m.notice"]
    return bodies


async def test_recording_a_two_server_stage_replay_clips_and_consent(make_homeserver):
    hs = await start_servers(make_homeserver)
    alice = await hs["a"].user("alice")
    erin = await hs["a"].user("erin")
    bob = await hs["b"].user("bob")
    carol = await hs["c"].user("carol")
    room = await alice.create_room(preset="public_chat", creation_content=AUDIO, name="Rec")
    for c in (erin, bob, carol):
        await c.join(room)
    await alice.put_state(room, "org.audiorooms.role", {"role": "speaker"}, bob.user_id)

    # Listeners (a local one and a remote one) cannot start recording: refused by the rules.
    for listener in (erin, carol):
        status, err = await listener.request(
            "PUT", f"/rooms/{quote(room)}/state/{REC}/", {"recording": True})
        assert (status, err["errcode"]) == (403, "M_FORBIDDEN"), err
    status, err = await alice.request("PUT", f"/rooms/{quote(room)}/state/{REC}/",
                                      {"recording": "yes"})
    assert status == 403
    # Not recorded: no clip.
    status, err = await clip(erin, room, 3)
    assert (status, err["errcode"]) == (403, NOT_RECORDING)

    a_tone, b_tone = ToneTrack(440, 0.5), ToneTrack(660, 0.0)
    clients = []
    try:
        clients.append(await open_audio(alice, room, a_tone))
        await eventually(lambda: _role_is(bob, room, "speaker"), timeout=10)
        clients.append(await open_audio(bob, room, b_tone))
        sfu_room = hs["a"].hs.sfu.rooms
        await eventually(lambda: room in sfu_room and
                         {alice.user_id, bob.user_id} <= set(sfu_room[room].sources), timeout=15)

        await alice.put_state(room, REC, {"recording": True})
        recorded_at = time.time()
        # Everyone sees the room recorded (the web client's REC badge reads this state).
        for c in (bob, carol):
            await eventually(lambda c=c: _recorded(c, room), timeout=10)
        await asyncio.sleep(3.0)
        a_tone.amplitude, b_tone.amplitude = 0.0, 0.5  # Alice stops, Bob (on B) speaks
        switched_at = time.time()
        # Dave steps onto the stage while recording: his server tells him.
        dave = await hs["a"].user("dave")
        await dave.join(room)
        await alice.put_state(room, "org.audiorooms.role", {"role": "speaker"}, dave.user_id)
        await asyncio.sleep(3.5)

        # A clip of the last 3 s (asked on the host) and of 2 s (asked on C, made by the host).
        status, got = await clip(erin, room, 3)
        assert status == 200, got
        assert abs(got["duration"] - 3000) <= 100
        pcm, rate = decode_audio(await download(erin, got["content_uri"]))
        assert abs(len(pcm) / 2 / rate - 3.0) <= 0.5
        assert set(tone_windows(pcm, rate)) == {660}
        status, got = await clip(carol, room, 2)
        assert status == 200, got
        pcm, rate = decode_audio(await download(carol, got["content_uri"]))
        assert abs(len(pcm) / 2 / rate - 2.0) <= 0.5 and set(tone_windows(pcm, rate)) == {660}
        for bad in (0, 61, "3", 2.5, None, True):
            status, err = await clip(erin, room, bad)
            assert (status, err["errcode"]) == (400, "M_INVALID_PARAM"), bad
        status, err = await clip(await hs["a"].user("outsider"), room, 3)
        assert status == 403

        await alice.put_state(room, REC, {"recording": False})
        stopped_at = time.time()
    finally:
        for c in clients:
            await c.close()

    assert any("being recorded" in b for b in await notices_of(dave))
    assert any("being recorded" in b for b in await notices_of(bob))  # on stage at the start
    assert not any("being recorded" in b for b in await notices_of(carol))  # a listener

    # The replay event arrives on every server, the same event everywhere.
    events = {}
    for name, c in (("a", alice), ("b", bob), ("c", carol)):
        events[name] = (await eventually(lambda c=c: replay_events(c, room), timeout=60))[0]
    assert len({e["event_id"] for e in events.values()}) == 1
    ev = events["a"]
    assert ev["sender"] == alice.user_id  # the room's creator posts it
    content = ev["content"]
    assert content["url"].startswith(f"mxc://{hs['a'].server_name}/")
    assert content["info"]["mimetype"] == "audio/ogg"
    replay = content["org.audiorooms.replay"]
    assert abs(replay["started_ts"] / 1000 - recorded_at) < 0.5
    assert replay["ended_ts"] > replay["started_ts"]
    expected = stopped_at - recorded_at
    for c in (alice, carol):  # through the host, and through C (federation media fetch)
        data = await download(c, content["url"])
        assert content["info"]["size"] == len(data)
        pcm, rate = decode_audio(data)
        seconds = len(pcm) / 2 / rate
        assert abs(seconds - expected) <= 0.1 * expected, (seconds, expected)
        assert abs(content["info"]["duration"] / 1000 - seconds) < 0.2
        windows = tone_windows(pcm, rate)
        switch = switched_at - replay["started_ts"] / 1000
        first, second = windows_between(windows, 0.5, switch - 0.5), \
            windows_between(windows, switch + 0.5, seconds - 0.5)
        assert len(first) >= 3 and set(first) == {440}, windows
        assert len(second) >= 3 and set(second) == {660}, windows

    # Recording is off now: clips are refused.
    status, err = await clip(erin, room, 3)
    assert (status, err["errcode"]) == (403, NOT_RECORDING)
    status, err = await clip(carol, room, 3)
    assert (status, err["errcode"]) == (403, NOT_RECORDING)


async def _role_is(client, room, want):
    status, data = await client.request(
        "GET", f"/rooms/{quote(room)}/state/org.audiorooms.role/{quote(client.user_id)}")
    return status == 200 and data.get("role") == want


async def _recorded(client, room):
    status, data = await client.request("GET", f"/rooms/{quote(room)}/state/{REC}/")
    return status == 200 and data.get("recording") is True


async def test_clips_are_rate_limited_per_user(make_homeserver):
    hs = await start_servers(make_homeserver, names=("a",))
    alice = await hs["a"].user("alice")
    erin = await hs["a"].user("erin")
    room = await alice.create_room(preset="public_chat", creation_content=AUDIO)
    await erin.join(room)
    mic = None
    try:
        mic = await open_audio(alice, room, ToneTrack(440, 0.5))
        await alice.put_state(room, REC, {"recording": True})
        await asyncio.sleep(1.5)
        statuses = [(await clip(erin, room, 1))[0] for _ in range(5)]
        assert statuses[:3] == [200, 200, 200] and 429 in statuses[3:], statuses
        assert (await clip(alice, room, 1))[0] == 200  # another user's clips are their own
    finally:
        if mic is not None:
            await mic.close()


async def test_sigkill_while_recording_still_gives_a_replay(tmp_path, servers):
    """The host is SIGKILLed mid-recording; after a restart the replay of everything up to
    the crash is produced (minus at most about a second)."""
    port = unused_port()
    config = generate_config(tmp_path, port)
    base = f"http://127.0.0.1:{port}"
    first = servers(config)
    await first.start()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        alice = Client(session, base)
        await alice.register("alice")
        room = await alice.create_room(preset="public_chat", creation_content=AUDIO)
        mic = await open_audio(alice, room, ToneTrack(440, 0.5))
        try:
            await eventually(lambda: mic.mic_transceiver.sender.transport.state == "connected",
                             timeout=10)
            await alice.put_state(room, REC, {"recording": True})
            recorded_at = time.time()
            await asyncio.sleep(4.0)
            first.proc.kill()
            killed_at = time.time()
            await asyncio.wait_for(first.proc.wait(), 10)
        finally:
            await mic.close()

        second = servers(config)
        await second.start()
        events = await eventually(lambda: replay_events(alice, room), timeout=60)
        content = events[0]["content"]
        pcm, rate = decode_audio(await download(alice, content["url"]))
        seconds = len(pcm) / 2 / rate
        before_crash = killed_at - recorded_at
        assert before_crash - 1.2 <= seconds <= before_crash + 0.2, (seconds, before_crash)
        windows = tone_windows(pcm, rate)
        assert set(windows_between(windows, 0.5, seconds - 0.5)) == {440}, windows
        assert abs(content["org.audiorooms.replay"]["started_ts"] / 1000 - recorded_at) < 0.5
