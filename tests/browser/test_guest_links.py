"""A room's link, from any server, in real headless Chromium: a visitor with no account opens
https://<host>/r/<alias> and hears the room within 3 s of "Listen now" (received audio energy in
WebRTC stats), sees the stage, cannot raise a hand, signs up from the room and raises it without
rejoining; a user of B opens A's link "from your own server" and lands in the room as B's user;
"Message" on a person starts an end-to-end encrypted DM: the other side sees who it is from and
that it is encrypted (no preview: the server must not see the text), and reads it on accepting. Screenshots of the
link page, the guest view and the person card at phone and desktop sizes go to docs/screenshots/
when AUDIOROOMS_SCREENSHOTS=1.
"""
from __future__ import annotations

import asyncio
import os
import time
from urllib.parse import quote

import pytest

try:
    from playwright.async_api import expect
except ImportError:  # pragma: no cover - depends on the machine
    if os.environ.get("AUDIOROOMS_REQUIRE_BROWSER") == "1":
        raise
    pytest.skip("Playwright is not installed (pip install playwright)", allow_module_level=True)

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.flows import PASSWORD, create_room, person, sign_up, wait_for_energy
from tests.integration.federation_helpers import start_servers

SPEAKING = 1e-3   # as in test_web_client: a second of Chromium's fake microphone measures above


async def speak(up) -> None:
    """The moderator unmutes (Chromium's fake microphone beeps)."""
    await up.page.get_by_role("button", name="Unmute").click()
    await expect(up.page.get_by_role("button", name="Mute", exact=True)).to_be_visible()


async def energy_now(up) -> float | None:
    stats = await up.page.evaluate("window.__audiorooms.audioStats()")
    return None if not stats else stats["inboundEnergy"]


async def heard_within(up, seconds: float, poll: float = 0.1) -> float:
    """Seconds until the audio received adds up to a quarter second of speech's energy."""
    t0 = time.monotonic()
    first = None
    while time.monotonic() - t0 < seconds:
        now = await energy_now(up)
        if now is not None:
            first = now if first is None else first
            if now - first > SPEAKING / 4:
                return time.monotonic() - t0
        await asyncio.sleep(poll)
    raise AssertionError(f"no audio heard within {seconds} s (energy from {first})")


def link_of(server, alias: str) -> str:
    return f"{server.url}/r/{quote(alias.lstrip('#'), safe=':')}"


async def test_visitor_listens_from_link_then_signs_up_and_raises_hand(make_homeserver, open_page):
    hs = await start_servers(make_homeserver, names=("a",))
    a = hs["a"]
    alice = await open_page(a, "alice", DESKTOP)
    alice_id = await sign_up(alice, "alice")
    await create_room(alice, "Open mic night", "Anyone can listen")
    await speak(alice)
    # The room got a readable address, and its link uses it.
    link = link_of(a, f"#open-mic-night:{a.server_name}")

    visitor = await open_page(a, "visitor", DESKTOP)
    await visitor.page.goto(link)
    page = visitor.page
    await expect(page.get_by_role("heading", name="Open mic night", level=1)).to_be_visible()
    await expect(page.get_by_text("Anyone can listen")).to_be_visible()
    await expect(page.get_by_text("Live", exact=True)).to_be_visible()
    await expect(page.get_by_text("On stage: alice")).to_be_visible()
    await expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    await expect(page.get_by_label("Your server")).to_be_visible()
    assert "Open mic night" in await page.title()
    await visitor.screenshot("link-page-desktop")
    await visitor.screenshot("link-page-phone", PHONE)

    # "Listen now": a guest, in the room, hearing the stage within 3 seconds.
    await page.get_by_role("button", name="Listen now").click()
    took = await heard_within(visitor, 3.0)
    print(f"visitor heard the room {took:.2f} s after pressing Listen now")
    await expect(page.get_by_role("heading", name="Open mic night", level=1)).to_be_visible()
    await expect(person(visitor, "stage", alice_id)).to_be_visible()
    await expect(page.get_by_role("button", name="Raise hand")).to_have_count(0)
    await expect(page.get_by_role("button", name="React with applause")).to_have_count(0)
    await expect(page.get_by_role("link", name="Backchannel")).to_be_hidden()
    await visitor.screenshot("guest-view-desktop")
    await visitor.screenshot("guest-view-phone", PHONE)
    guest_session = await page.evaluate("window.__audiorooms.session()")
    guest_id = await visitor.page.evaluate(
        "JSON.parse(localStorage.getItem('audiorooms.session')).user_id")

    # Sign up from the room: the account keeps the room and its audio; the hand goes up.
    await page.get_by_role("button", name="Sign up to raise your hand").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label("Your name").fill("Vera")
    await dialog.get_by_label("Password").fill(PASSWORD)
    await dialog.get_by_role("button", name="Create account").click()
    await page.get_by_role("button", name="Raise hand").click()
    await expect(page.get_by_role("button", name="Lower hand")).to_be_visible()
    vera_id = await page.locator("#whoami").inner_text()
    assert vera_id == guest_id     # the same user: never left the room, nor rejoined
    await expect(person(alice, "audience", vera_id)).to_contain_text("Vera", timeout=10000)
    after = await page.evaluate("window.__audiorooms.session()")
    assert after["roomId"] == guest_session["roomId"]
    await expect(alice.page.locator("section.hands li.hand-item")).to_have_count(1, timeout=10000)
    await wait_for_energy(visitor, lambda e: e > SPEAKING, timeout=10)

    # On stage, then the room ends: the page names it and the stage notice is gone.
    await alice.page.locator("section.hands").get_by_role("button", name="Invite to speak").click()
    await expect(page.get_by_text("You're on stage in Open mic night")).to_be_visible(timeout=10000)
    await alice.page.get_by_role("button", name="End room").click()
    await alice.page.get_by_role("dialog").get_by_role("button", name="End room").click()
    await expect(page.get_by_role("heading", name="Open mic night has ended")).to_be_visible(
        timeout=10000)
    await expect(page.get_by_text("You're on stage in Open mic night")).to_have_count(0)


async def test_user_of_b_opens_a_link_from_own_server(make_homeserver, open_page):
    hs = await start_servers(make_homeserver, names=("a", "b"))
    a, b = hs["a"], hs["b"]
    alice = await open_page(a, "alice", DESKTOP)
    await sign_up(alice, "alice")
    await create_room(alice, "Federated link", "From any server")
    bob = await open_page(b, "bob", PHONE)
    bob_id = await sign_up(bob, "bob")

    await bob.page.goto(link_of(a, f"#federated-link:{a.server_name}"))
    await expect(bob.page.get_by_role("heading", name="Federated link", level=1)).to_be_visible()
    await bob.page.get_by_label("Your server").fill(b.server_name)
    await bob.page.get_by_role("button", name="Open", exact=True).click()
    await expect(bob.page.get_by_role("heading", name="Federated link", level=1)).to_be_visible()
    assert bob.page.url.startswith(b.url)
    await expect(person(bob, "audience", bob_id)).to_be_visible(timeout=20000)
    await expect(person(alice, "audience", bob_id)).to_be_visible(timeout=20000)
    await expect(bob.page.get_by_test_id("audio-status")).to_have_text("You're listening.",
                                                                       timeout=20000)


async def test_message_a_person_from_the_room(make_homeserver, open_page):
    hs = await start_servers(make_homeserver, names=("a", "b"))
    a, b = hs["a"], hs["b"]
    alice = await open_page(a, "alice", DESKTOP)
    alice_id = await sign_up(alice, "alice")
    room_id = await create_room(alice, "People test")
    bob = await open_page(b, "bob", PHONE)
    bob_id = await sign_up(bob, "bob")
    await bob.goto(f"#/room/{quote(room_id)}")
    await bob.page.get_by_role("button", name="Join as listener").click()
    await expect(person(bob, "audience", bob_id)).to_be_visible()

    # Tapping alice on the stage: her name, full ID, server, and "Message".
    await person(bob, "stage", alice_id).get_by_role("button", name="alice").click()
    card = bob.page.get_by_role("dialog", name="alice")
    await expect(card).to_contain_text(alice_id)
    await expect(card).to_contain_text(a.server_name)
    await bob.screenshot("person-card-phone")
    await bob.screenshot("person-card-desktop", DESKTOP)
    await card.get_by_role("button", name="Message").click()
    await bob.page.get_by_label("Message", exact=True).fill("Loved your set, can we talk?")
    await bob.page.keyboard.press("Enter")
    await expect(bob.page.locator("ol.messages")).to_contain_text("Loved your set, can we talk?")

    # Alice sees who it is from, and that it is encrypted (the text is not in the invitation:
    # DMs are end-to-end encrypted), before accepting; then she reads it.
    await expect(alice.page.locator("#nav-dms")).to_have_attribute(
        "aria-label", "Backchannel, 1 unread", timeout=20000)
    await alice.page.get_by_role("link", name="Backchannel, 1 unread").click()
    item = alice.page.locator("a.dm-item", has_text="bob")
    await expect(item).to_contain_text("Invited you (an encrypted message)")
    await item.click()
    await expect(alice.page.locator(".invite-card")).to_contain_text("end-to-end encrypted: accept to read")
    await expect(alice.page.locator(".invite-card")).not_to_contain_text("Loved your set")
    await expect(alice.page.locator(".invite-card")).to_contain_text(bob_id)
    await alice.page.get_by_role("button", name="Accept").click()
    await expect(alice.page.locator("ol.messages")).to_contain_text("Loved your set, can we talk?")

    # Bob's own full ID is one tap away on his phone.
    await bob.page.get_by_role("link", name="Your profile").click()
    await expect(bob.page.locator("main")).to_contain_text(bob_id)
