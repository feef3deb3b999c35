"""Recording with consent and replays in the web client, in real headless Chromium across two
federating servers (the room on A, the listener on B).

- A moderator starts recording: a red REC badge ("This room is being recorded") appears for the
  listener on the other server, who has no recording control and is told, before and when going
  on stage, that they'll be recorded; stopping recording takes the badge away everywhere.
- A replay (a real Ogg/Opus file, 5 s of a 440 Hz tone encoded with libopus by PyAV, uploaded to
  A's media repository, announced by the design's m.audio event) plays on B: the <audio>
  element reports ~5 s, a seek to 3 s plays on from there, and a redraw of the room page does
  not stop it; a "replay" posted by a member of another server is not shown as the room's. The
  same replay plays from B's hallway.

Screenshots go to docs/screenshots/ when AUDIOROOMS_SCREENSHOTS=1 (see conftest.screenshots_dir).
"""
from __future__ import annotations

import asyncio
import io
import json
import math
import os
import time
from datetime import UTC, datetime
from urllib.parse import quote

import aiohttp
import pytest

try:
    from playwright.async_api import expect
except ImportError:  # pragma: no cover - depends on the machine
    if os.environ.get("AUDIOROOMS_REQUIRE_BROWSER") == "1":
        raise
    pytest.skip("Playwright is not installed (pip install playwright)", allow_module_level=True)

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.flows import create_room, person, sign_up
from tests.integration.federation_helpers import start_servers

REC = "This room is being recorded"


def ogg_tone(seconds: float = 5.0, freq: float = 440.0, rate: int = 48000) -> bytes:
    """A real Ogg/Opus file: ``seconds`` of a sine tone, encoded with libopus (PyAV)."""
    av = pytest.importorskip("av")
    np = pytest.importorskip("numpy")
    buf = io.BytesIO()
    with av.open(buf, "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=rate)
        stream.layout = "mono"
        n = int(seconds * rate)
        t = np.arange(n) / rate
        pcm = (0.3 * np.sin(2 * math.pi * freq * t) * 32767).astype(np.int16)
        step = 960  # 20 ms frames
        for i in range(0, n, step):
            chunk = pcm[i:i + step]
            if len(chunk) < step:
                chunk = np.pad(chunk, (0, step - len(chunk)))
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = rate
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


async def token_of(up) -> str:
    """The access token the web client signed in with (its saved session)."""
    saved = await up.page.evaluate("localStorage.getItem('audiorooms.session')")
    return json.loads(saved)["access_token"]


async def post_replay(server, token: str, room_id: str, data: bytes, seconds: float) -> dict:
    """Upload the file to the host's media repository and post the design's replay event."""
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.url}/_matrix/media/v3/upload", params={"filename": "replay.ogg"},
                             data=data, headers={**headers, "Content-Type": "audio/ogg"}) as r:
            assert r.status == 200, await r.text()
            mxc = (await r.json())["content_uri"]
        now = int(time.time() * 1000)
        content = {
            "msgtype": "m.audio", "body": "Replay", "url": mxc,
            "info": {"mimetype": "audio/ogg", "duration": int(seconds * 1000), "size": len(data)},
            "org.audiorooms.replay": {"started_ts": now - int(seconds * 1000), "ended_ts": now},
        }
        async with http.put(f"{server.url}/_matrix/client/v3/rooms/{quote(room_id)}/send/"
                            f"m.room.message/replay{now}", json=content, headers=headers) as r:
            assert r.status == 200, await r.text()
    return content


async def audio_state(audio) -> dict:
    return await audio.evaluate(
        "a => ({src: a.src, duration: a.duration, currentTime: a.currentTime, paused: a.paused,"
        " error: a.error && a.error.code, seekable: a.seekable.length ? a.seekable.end(0) : 0})")


async def until(audio, check, what: str, timeout: float = 20.0) -> dict:
    """Poll the <audio> element's state until ``check(state)``; the state."""
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = await audio_state(audio)
        if check(state):
            return state
        await asyncio.sleep(0.1)
    raise AssertionError(f"the replay never {what}; last state: {state}")


async def play_and_seek(up, replay) -> None:
    """Press Play on a replay; it loads (a blob: URL), lasts ~5 s, and a seek to 3 s plays on."""
    await replay.get_by_role("button", name="Play replay").click()
    audio = replay.locator("audio")
    await expect(audio).to_be_visible()
    assert await audio.get_attribute("controls") is not None
    state = await until(audio, lambda s: s["src"].startswith("blob:") and s["duration"] > 0
                        and math.isfinite(s["duration"]), "loaded")
    assert state["duration"] == pytest.approx(5.0, abs=0.3), state
    assert state["error"] is None
    state = await until(audio, lambda s: not s["paused"] and s["currentTime"] > 0.2, "started playing")
    # Seek: to 3 s, and it plays on from there (the blob is seekable end to end).
    assert state["seekable"] == pytest.approx(state["duration"], abs=0.05)
    await audio.evaluate("a => { a.currentTime = 3; }")
    state = await until(audio, lambda s: s["currentTime"] >= 3.0, "seeked to 3 s", timeout=5)
    assert state["currentTime"] < 4.0, state
    state = await until(audio, lambda s: s["currentTime"] > 3.4 and not s["paused"], "played on after the seek")
    assert state["error"] is None


async def test_rec_badge_on_every_server_and_notice_before_the_stage(make_homeserver, open_page):
    hs = await start_servers(make_homeserver, names=("a", "b"))
    alice = await open_page(hs["a"], "alice", DESKTOP)
    bob = await open_page(hs["b"], "bob", DESKTOP)
    await sign_up(alice, "alice")
    room_id = await create_room(alice, "Recorded talk", "Kept for later")
    bob_id = await sign_up(bob, "bob")
    await bob.goto(f"#/room/{quote(room_id)}")
    await bob.page.get_by_role("button", name="Join as listener").click()
    await expect(person(bob, "audience", bob_id)).to_be_visible()
    await expect(person(alice, "audience", bob_id)).to_be_visible(timeout=20000)

    # Not recorded yet: no badge anywhere; the listener has no recording control.
    await expect(bob.page.get_by_role("img", name=REC)).to_have_count(0)
    await expect(bob.page.get_by_role("button", name="Start recording")).to_have_count(0)
    await expect(bob.page.get_by_role("button", name="Stop recording")).to_have_count(0)

    # The moderator starts recording, after saying yes to what it means.
    await alice.page.get_by_role("button", name="Start recording").click()
    dialog = alice.page.get_by_role("dialog", name="Start recording?")
    await expect(dialog).to_contain_text("people on stage are told")
    await dialog.get_by_role("button", name="Start recording").click()
    await expect(alice.page.get_by_role("img", name=REC)).to_be_visible()
    await expect(alice.page.get_by_role("button", name="Stop recording")).to_be_visible()
    await expect(alice.page.get_by_test_id("recording-notice")).to_contain_text("You're being recorded.")

    # The listener on B sees the red REC badge, and is told before going on stage.
    badge = bob.page.get_by_role("img", name=REC)
    await expect(badge).to_be_visible(timeout=20000)
    await expect(badge).to_have_text("REC")
    assert await badge.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(200, 16, 46)"
    notice = bob.page.get_by_test_id("recording-notice")
    await expect(notice).to_contain_text("If you're invited to speak, you'll be recorded too.")
    await expect(bob.page.get_by_role("button", name="Start recording")).to_have_count(0)
    await expect(bob.page.get_by_role("button", name="Stop recording")).to_have_count(0)
    await bob.screenshot("room-recording-desktop")
    await bob.screenshot("room-recording-phone", PHONE)

    # Invited onto the stage while recording: a clear "you're being recorded" as they step up.
    await bob.page.get_by_role("button", name="Raise hand").click()
    await alice.page.locator("section.hands li.hand-item", has_text="bob").get_by_role(
        "button", name="Invite to speak").click()
    await expect(person(bob, "stage", bob_id)).to_be_visible(timeout=20000)
    await expect(bob.page.locator(".toast", has_text="you're being recorded")).to_be_visible()
    await expect(notice).to_contain_text("You're being recorded.")
    await alice.screenshot("room-recording-moderator-desktop")

    # Stopped: the badge and the notices go away on both servers.
    await alice.page.get_by_role("button", name="Stop recording").click()
    await expect(alice.page.get_by_role("img", name=REC)).to_have_count(0)
    await expect(badge).to_have_count(0, timeout=20000)
    await expect(notice).to_have_count(0)
    await expect(alice.page.get_by_role("button", name="Start recording")).to_be_visible()


async def test_replay_plays_with_a_seek_on_another_server(make_homeserver, open_page):
    hs = await start_servers(make_homeserver, names=("a", "b"))
    alice = await open_page(hs["a"], "alice", DESKTOP)
    bob = await open_page(hs["b"], "bob", DESKTOP)
    await sign_up(alice, "alice")
    room_id = await create_room(alice, "Evening concert", "A replay to listen to")
    bob_id = await sign_up(bob, "bob")
    await bob.goto(f"#/room/{quote(room_id)}")
    await bob.page.get_by_role("button", name="Join as listener").click()
    await expect(person(bob, "audience", bob_id)).to_be_visible()

    # A member on another server posts a file dressed as a replay: not the host's, not shown.
    data = ogg_tone(5.0, 440.0)
    await post_replay(hs["b"], await token_of(bob), room_id, data, 5.0)
    # The host's replay of the room: a real Ogg/Opus file in A's media repository.
    content = await post_replay(hs["a"], await token_of(alice), room_id, data, 5.0)

    # B's listener sees it in the room, with its length and date, and plays it with a seek.
    replay = bob.page.get_by_role("article", name="Replay of Evening concert")
    await expect(replay).to_be_visible(timeout=20000)
    await expect(replay).to_contain_text("0:05")
    await expect(bob.page.locator("article.replay")).to_have_count(1)
    assert await replay.get_attribute("data-replay") == content["url"]
    started = content["org.audiorooms.replay"]["started_ts"]
    await expect(replay.locator("time")).to_have_attribute("datetime", datetime.fromtimestamp(
        started / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"))
    await play_and_seek(bob, replay)
    await bob.screenshot("room-replay-desktop")

    # A redraw of the page (the room starts recording: a REC badge) does not stop the player.
    audio = replay.locator("audio")
    await audio.evaluate("a => { a.loop = true; return a.play(); }")
    await alice.page.get_by_role("button", name="Start recording").click()
    await alice.page.get_by_role("dialog").get_by_role("button", name="Start recording").click()
    await expect(bob.page.get_by_role("img", name=REC)).to_be_visible(timeout=20000)
    await expect(replay.locator("audio")).to_have_count(1)
    await asyncio.sleep(0.5)
    before = await audio_state(audio)
    assert not before["paused"], before
    await until(audio, lambda s: s["currentTime"] != before["currentTime"] and not s["paused"],
                "kept playing through a redraw", timeout=5)
    await audio.evaluate("a => { a.loop = false; }")

    # B's hallway lists the host's replays (pushed or pulled from A) and plays them the
    # same way.
    await bob.page.get_by_role("link", name="Hallway", exact=True).click()
    section = bob.page.locator("section[aria-labelledby=h-replays]")
    card = section.get_by_role("article", name="Replay of Evening concert")
    await expect(card).to_be_visible(timeout=20000)
    await expect(card.get_by_role("heading", name="Evening concert")).to_be_visible()
    await expect(card).to_contain_text("0:05")
    await expect(card).to_contain_text(hs["a"].server_name)
    await play_and_seek(bob, card)
    # The hallway refreshes every 5 s; the playing replay's player is kept.
    await asyncio.sleep(5.5)
    await expect(card.locator("audio")).to_have_count(1)
    await card.evaluate("c => c.scrollIntoView({block: 'center'})")
    await bob.screenshot("hallway-replays-desktop")
    await bob.screenshot("hallway-replays-phone", PHONE)
