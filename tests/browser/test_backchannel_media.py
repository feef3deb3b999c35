"""The web client's faces and backchannel in real headless Chromium: "typing…" and "Seen" in a
DM across two servers; profile photos on the stage, in the audience and in DMs, and photos sent
in a DM, shown to the other user (on the other server: remote media fetched over federation)
and opened full size. Images count only once the browser has
decoded them (naturalWidth > 0), fetched with the access token through blob: URLs.
Screenshots go to docs/screenshots/ when AUDIOROOMS_SCREENSHOTS=1 (see conftest.screenshots_dir).
"""
from __future__ import annotations

import asyncio
import os
import struct
import time
import zlib
from urllib.parse import quote

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


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real PNG (a colour fading to white across), made byte by byte."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b""
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            k = x / max(1, width - 1)
            row += bytes(int(c + (255 - c) * k * (y % 16 < 12)) for c in rgb)
        rows += bytes(row)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


async def decoded(locator, timeout: float = 20.0) -> tuple[int, int]:
    """Wait until the image is loaded and decoded; its natural (width, height)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = await locator.first.evaluate(
                "img => [img.complete && img.src.startsWith('blob:') ? img.naturalWidth : 0,"
                " img.naturalHeight]", timeout=2000)
            if last[0] > 0:
                return last[0], last[1]
        except Exception:  # noqa: BLE001 - redrawn or not there yet
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"image {locator} never loaded (last: {last})")


async def open_dm(up, name: str) -> None:
    await up.page.get_by_role("link", name="Backchannel").first.click()
    await up.page.locator("a.dm-item", has_text=name).click()


async def test_typing_and_seen_in_a_dm_across_two_servers(make_homeserver, open_page):
    hs = await start_servers(make_homeserver, names=("a", "b"))
    alice = await open_page(hs["a"], "alice", DESKTOP)
    bob = await open_page(hs["b"], "bob", DESKTOP)
    alice_id = await sign_up(alice, "alice")
    await sign_up(bob, "bob")

    # B writes to A, who has not opened the conversation: nothing is "Seen".
    await bob.page.get_by_role("link", name="Backchannel").click()
    await bob.page.get_by_label("Message someone").fill(alice_id)
    await bob.page.get_by_role("button", name="Start").click()
    await bob.page.get_by_label("Message", exact=True).fill("Are you on tonight?")
    await bob.page.keyboard.press("Enter")
    first = bob.page.locator("li.msg", has_text="Are you on tonight?")
    # The first message of a new encrypted DM waits for the room, the invite and the keys of
    # alice's devices fetched from her server (query, claim, to-device): seconds under load.
    await expect(first).to_be_visible(timeout=20000)
    await expect(alice.page.locator("#nav-dms")).to_have_attribute(
        "aria-label", "Backchannel, 1 unread", timeout=20000)
    await asyncio.sleep(1)
    await expect(bob.page.get_by_test_id("seen")).to_have_count(0)

    # A opens it: B sees "Seen" under the message A read.
    await open_dm(alice, "bob")
    await alice.page.get_by_role("button", name="Accept").click()
    await expect(alice.page.locator("ol.messages")).to_contain_text("Are you on tonight?")
    await expect(first.get_by_test_id("seen")).to_have_text("Seen", timeout=20000)

    # A types: B sees "alice is typing…" (announced politely); sending ends it.
    typing = bob.page.get_by_test_id("typing")
    await expect(typing).to_have_attribute("aria-live", "polite")
    composer = alice.page.get_by_label("Message", exact=True)
    await composer.press_sequentially("Yes, at nine", delay=40)
    await expect(typing).to_have_text("alice is typing…", timeout=20000)
    await bob.screenshot("backchannel-typing-desktop")
    await alice.page.keyboard.press("Enter")
    await expect(bob.page.locator("ol.messages")).to_contain_text("Yes, at nine", timeout=20000)
    await expect(typing).to_have_text("", timeout=20000)

    # B is looking at the conversation, so A sees her reply "Seen"; B's old marker moved on.
    reply = alice.page.locator("li.msg", has_text="Yes, at nine")
    await expect(reply.get_by_test_id("seen")).to_have_text("Seen", timeout=20000)
    await expect(alice.page.get_by_test_id("seen")).to_have_count(1)
    await alice.screenshot("backchannel-seen-desktop")

    # Typing, then leaving the box without sending: B's "typing…" goes away too.
    await composer.press_sequentially("Actually", delay=40)
    await expect(typing).to_have_text("alice is typing…", timeout=20000)
    await alice.page.get_by_role("heading", name="Backchannel").click()   # the box loses focus
    await expect(typing).to_have_text("", timeout=20000)


async def test_profile_photos_and_photos_in_the_backchannel_across_two_servers(make_homeserver, open_page):
    hs = await start_servers(make_homeserver, names=("a", "b"))
    alice = await open_page(hs["a"], "alice", DESKTOP)
    bob = await open_page(hs["b"], "bob", DESKTOP)
    alice_id = await sign_up(alice, "alice")
    bob_id = await sign_up(bob, "bob")

    # Each picks a profile photo on their profile page.
    for up, colour in ((alice, (200, 40, 90)), (bob, (30, 110, 200))):
        await up.page.get_by_role("link", name="Your profile").click()
        await expect(up.page.get_by_role("heading", name="Your profile")).to_be_visible()
        await up.page.get_by_label("Profile photo").set_input_files(
            {"name": "me.png", "mimeType": "image/png", "buffer": png(96, 96, colour)})
        await expect(up.page.get_by_role("status").filter(has_text="Your photo is saved")).to_be_visible()
        await decoded(up.page.locator(".profile-photo img.avatar-photo"))
        await decoded(up.page.locator("#my-avatar img"))
    await alice.screenshot("profile-photo-desktop")

    # Alice's room: her photo on the stage for Bob, his in the audience for her.
    await alice.page.get_by_role("link", name="Hallway", exact=True).click()
    room_id = await create_room(alice, "Photo booth", "Faces on the stage")
    await bob.goto(f"#/room/{quote(room_id)}")
    await bob.page.get_by_role("button", name="Join as listener").click()
    await expect(person(bob, "audience", bob_id)).to_be_visible()
    stage_face = person(bob, "stage", alice_id).locator("img.avatar-photo")
    await expect(stage_face).to_have_attribute("alt", "Photo of alice")
    await decoded(stage_face)
    await decoded(person(alice, "audience", bob_id).locator("img.avatar-photo"))
    await decoded(person(alice, "stage", alice_id).locator("img.avatar-photo"))
    await alice.screenshot("room-photos-desktop")
    await bob.screenshot("room-photos-phone", PHONE)

    # B's hallway shows A's room with alice's face on its card (the host's entry, pushed).
    await bob.page.get_by_role("link", name="Hallway", exact=True).click()
    card = bob.page.get_by_role("article", name="Photo booth")
    card_face = card.locator("ul.speaker-faces img.avatar-photo")
    await expect(card_face).to_have_attribute("alt", "Photo of alice", timeout=20000)
    await decoded(card_face)

    # A DM: each sees the other's face in the list, the header and beside messages.
    await bob.page.get_by_role("link", name="Backchannel").click()
    await bob.page.get_by_label("Message someone").fill(alice_id)
    await bob.page.get_by_role("button", name="Start").click()
    await bob.page.get_by_label("Message", exact=True).fill("Love the new photo!")
    await bob.page.keyboard.press("Enter")
    await expect(alice.page.locator("#nav-dms")).to_have_attribute(
        "aria-label", "Backchannel, 1 unread", timeout=20000)
    await open_dm(alice, "bob")
    await alice.page.get_by_role("button", name="Accept").click()
    msg = alice.page.locator("li.msg", has_text="Love the new photo!")
    await expect(msg).to_be_visible(timeout=20000)   # decrypted (the join and keys came)
    await decoded(msg.locator("img.avatar-photo"))
    await decoded(alice.page.locator("a.dm-item img.avatar-photo"))
    await decoded(alice.page.locator(".conv-head img.avatar-photo"))
    await decoded(bob.page.locator(".conv-head img.avatar-photo"))

    # Bob sends a photo from his device: it shows for Alice, and opens full size.
    await bob.page.get_by_label("Attach a photo").set_input_files(
        {"name": "sunset.png", "mimeType": "image/png", "buffer": png(320, 200, (240, 120, 20))})
    await expect(bob.page.locator("img.msg-photo")).to_have_count(1, timeout=20000)
    photo = alice.page.get_by_role("img", name="Photo: sunset.png")
    await expect(photo).to_be_visible(timeout=20000)
    w, h = await decoded(photo)
    assert w > 0 and h > 0 and w / h == pytest.approx(320 / 200, rel=0.05)
    await expect(alice.page.locator("a.dm-item", has_text="bob")).to_contain_text("sent a photo")
    await alice.screenshot("backchannel-photos-desktop")
    await alice.screenshot("backchannel-photos-phone", PHONE)
    await alice.page.get_by_role("button", name="Open photo sunset.png").click()
    dialog = alice.page.get_by_role("dialog", name="Photo: sunset.png")
    await expect(dialog).to_be_visible()
    assert await decoded(dialog.locator("img.full-photo")) == (320, 200)
    await alice.screenshot("backchannel-photo-open-desktop")
    await dialog.get_by_role("button", name="Close").click()
    await expect(dialog).to_have_count(0)
