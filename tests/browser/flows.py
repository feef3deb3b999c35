"""What a user does in the web client, as Playwright steps (async API)."""
from __future__ import annotations

import asyncio
import time

from playwright.async_api import expect

PASSWORD = "correct horse battery"


async def sign_up(up, username: str, password: str = PASSWORD) -> str:
    p = up.page
    await up.goto("#/signup")
    await p.get_by_label("Username").fill(username)
    await p.get_by_label("Password", exact=True).fill(password)
    await p.get_by_label("Repeat password").fill(password)
    await p.get_by_role("button", name="Create account").click()
    await expect(p.get_by_role("heading", name="Hallway")).to_be_visible()
    return await p.locator("#whoami").inner_text()


async def sign_in(up, username: str, password: str = PASSWORD) -> None:
    p = up.page
    await up.goto("#/login")
    await p.get_by_label("Username").fill(username)
    await p.get_by_label("Password").fill(password)
    await p.get_by_role("button", name="Sign in").click()
    await expect(p.get_by_role("heading", name="Hallway")).to_be_visible()


async def sign_out(up) -> None:
    await up.page.get_by_role("button", name="Sign out").click()
    await expect(up.page.get_by_role("heading", name="Sign in")).to_be_visible()


async def create_room(up, title: str, topic: str = "", invite_only: bool = False,
                      schedule: str | None = None) -> str:
    p = up.page
    await p.get_by_role("link", name="Start a room").click()
    await p.get_by_label("Title").fill(title)
    if topic:
        await p.get_by_label("What's it about?").fill(topic)
    if invite_only:
        await p.get_by_label("Invite-only").check()
    if schedule:
        await p.get_by_label("Schedule for later").check()
        await p.get_by_label("Starts at").fill(schedule)
        await p.get_by_role("button", name="Schedule room").click()
    else:
        await p.get_by_role("button", name="Start room").click()
    await expect(p.get_by_role("heading", name=title, level=1)).to_be_visible()
    return room_id_from_url(p.url)


def room_id_from_url(url: str) -> str:
    from urllib.parse import unquote
    return unquote(url.split("#/room/", 1)[1].split("?", 1)[0])


def person(up, section: str, user_id: str):
    """A person's tile in a section of the room page: stage, audience."""
    return up.page.locator(f'section.{section} li.person[data-user="{user_id}"]')


async def audio_status(up) -> str:
    return await up.page.get_by_test_id("audio-status").inner_text()


async def audio_stats(up) -> dict:
    return await up.page.evaluate("window.__audiorooms.audioStats()")


async def received(up, seconds: float = 1.0) -> tuple[float, int]:
    """(audio energy, RTP packets) received over the next ``seconds``, from WebRTC stats."""
    before = await audio_stats(up)
    await asyncio.sleep(seconds)
    after = await audio_stats(up)
    return (after["inboundEnergy"] - before["inboundEnergy"],
            after["inboundPackets"] - before["inboundPackets"])


async def wait_for_energy(up, predicate, timeout: float = 20.0, window: float = 1.0):
    """Measure received energy in windows until ``predicate(energy)`` holds; return it."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        energy, packets = await received(up, window)
        seen.append((round(energy, 6), packets))
        if predicate(energy):
            return energy, seen
    raise AssertionError(f"received audio energy never matched; windows (energy, packets): {seen}")
