"""Reactions in the web client across two servers: a listener on B taps an emoji, it floats up
over the stage on the moderator's page on A (and on B's own page); screen readers get a polite
summary; tapping too fast is refused kindly. A screenshot of A's page with the floating
reaction goes to docs/screenshots/ when AUDIOROOMS_SCREENSHOTS=1.
"""
from __future__ import annotations

import os

import pytest

try:
    from playwright.async_api import expect
except ImportError:  # pragma: no cover - depends on the machine
    if os.environ.get("AUDIOROOMS_REQUIRE_BROWSER") == "1":
        raise
    pytest.skip("Playwright is not installed (pip install playwright)", allow_module_level=True)

from tests.browser.conftest import DESKTOP, screenshots_dir
from tests.browser.flows import create_room, person, sign_up
from tests.integration.federation_helpers import start_servers


def floating(up, key: str):
    return up.page.locator(f'.reaction-layer .reaction-float[data-reaction="{key}"]')


async def test_reaction_from_b_floats_on_a(make_homeserver, open_page):
    hs = await start_servers(make_homeserver, names=("a", "b"))
    alice = await open_page(hs["a"], "alice", DESKTOP)
    bob = await open_page(hs["b"], "bob", DESKTOP)
    await sign_up(alice, "alice")
    room_id = await create_room(alice, "Reactions live", "Tap an emoji")
    bob_id = await sign_up(bob, "bob")
    await bob.goto(f"#/room/{room_id}")
    await bob.page.get_by_role("button", name="Join as listener").click()
    await expect(person(bob, "audience", bob_id)).to_be_visible()
    await expect(person(alice, "audience", bob_id)).to_be_visible()

    # One tap on B: it floats on B at once, and on A's page over the stage.
    await bob.page.get_by_role("button", name="React with applause").click()
    await expect(floating(bob, "👏")).to_have_count(1)
    await expect(floating(alice, "👏")).to_have_count(1, timeout=5000)
    box = await floating(alice, "👏").bounding_box()
    stage = await alice.page.locator("section.stage").bounding_box()
    assert box and stage and stage["x"] <= box["x"] <= stage["x"] + stage["width"]
    if os.environ.get("AUDIOROOMS_SCREENSHOTS") == "1" or \
            os.environ.get("AUDIOROOMS_SCREENSHOTS_DIR"):
        await alice.page.wait_for_timeout(500)  # mid-flight
        folder = screenshots_dir()
        folder.mkdir(parents=True, exist_ok=True)
        await alice.page.screenshot(path=str(folder / "room-reaction-desktop.png"),
                                    caret="hide")
    # The echo of bob's own reaction from sync is not shown a second time on B.
    await alice.page.wait_for_timeout(300)
    assert await floating(bob, "👏").count() <= 1
    # Gone after a couple of seconds; the floating layer is hidden from screen readers, which
    # hear a polite summary instead.
    await expect(floating(alice, "👏")).to_have_count(0, timeout=5000)
    assert await alice.page.locator(".reaction-layer").get_attribute("aria-hidden") == "true"
    await expect(alice.page.get_by_test_id("reaction-summary")).to_have_text(
        "1 reaction: 👏", timeout=12000)

    # The moderator's own reaction floats for her too, also with reduced motion (no
    # animation: it appears, then goes).
    await alice.page.emulate_media(reduced_motion="reduce")
    await alice.page.get_by_role("button", name="React with heart").click()
    await expect(floating(alice, "❤️")).to_have_count(1)
    await expect(floating(bob, "❤️")).to_have_count(1, timeout=5000)
    await expect(floating(alice, "❤️")).to_have_count(0, timeout=5000)

    # Tapping faster than the limit (10 a second) is refused kindly, not as an error.
    bob.log.expect_http_error(429, "/send/org.audiorooms.reaction/")
    await bob.page.evaluate(
        "for (let i = 0; i < 16; i++) document.querySelector('[data-key=react-fire]').click()")
    await expect(bob.page.locator(".toast", has_text="reacting very fast")).to_be_visible()
