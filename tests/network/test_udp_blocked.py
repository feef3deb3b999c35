"""Listeners and speakers whose network drops all UDP (an office firewall), in Chromium.

Namespace ``srv`` runs the homeserver (``python -m homeserver run``) and a real coturn
(``use-auth-secret``, TURN over TCP on 3478); namespace ``blocked`` reaches it over a veth and
drops every UDP packet in and out (nftables); namespace ``open`` reaches it with UDP allowed.
Each browser is a headless Chromium started inside its namespace (Playwright launches a wrapper
that runs ``ip netns exec NS chromium``). The web client takes its ICE servers from
``/voip/turnServer``, so the blocked browser's only path is a TURN allocation over TCP; with no
TURN and ``media.tcp_port`` set, its path is the SFU's ICE-TCP candidate. A last test changes a
listener's address mid-room (a phone changing networks) and times the ICE restart.
Audio is measured as in tests/browser/: received energy in WebRTC stats; the path is the
browser's end of the selected candidate pair (``audioStats().path``).
"""
from __future__ import annotations

import os
import shutil
import time
from types import SimpleNamespace

import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP, ConsoleLog, UserPage
from tests.netns import sh
from tests.network.conftest import PORT, start_homeserver

SPEAKING = 1e-3  # as tests/browser/test_web_client.py: a second of the fake mic is above this
TURN_SECRET = "netns-turn-secret"


def _require(what: str, ok: bool) -> None:
    if ok:
        return
    if os.environ.get("AUDIOROOMS_REQUIRE_NETNS") == "1" or \
            os.environ.get("AUDIOROOMS_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{what} is required for this test")
    pytest.skip(f"{what} is not installed")


def start_coturn(network, ns: str, ip: str, tmp_path):
    log = (tmp_path / "turn.log").open("wb")
    return network.popen(ns, [
        "turnserver", "-n", "--listening-ip", ip, "--listening-port", "3478",
        "--relay-ip", ip, "--min-port", "49160", "--max-port", "49400",
        "--use-auth-secret", "--static-auth-secret", TURN_SECRET, "--realm", "rooms.test",
        "--no-tls", "--no-dtls", "--no-cli", "--userdb", str(tmp_path / "turndb"),
        "--pidfile", str(tmp_path / "turn.pid"), "--log-file", "stdout", "--simple-log"],
        stdout=log, stderr=log)


class Browsers:
    """Chromium instances, each inside a namespace; pages fail the test on console errors."""

    def __init__(self, network):
        self.network = network
        self.pw = None
        self.browsers: list = []
        self.pages: list[UserPage] = []

    async def open(self, ns: str, url: str, name: str) -> UserPage:
        if self.pw is None:
            from playwright.async_api import async_playwright
            self.pw = await async_playwright().start()
        b = await self.pw.chromium.launch(executable_path=self.network.chromium_wrapper(ns),
                                          headless=True, args=[
            *CHROMIUM_ARGS,
            # a microphone needs a secure context: as on localhost, for this test's address
            f"--unsafely-treat-insecure-origin-as-secure={url}"])
        self.browsers.append(b)
        context = await b.new_context(viewport=DESKTOP, base_url=url,
                                      permissions=["microphone"])
        context.set_default_timeout(20000)
        page = await context.new_page()
        log = ConsoleLog(name)
        page.on("console", log.on_console)
        page.on("pageerror", log.on_pageerror)
        up = UserPage(context, page, url, name, log)
        self.pages.append(up)
        return up

    async def close(self) -> list[str]:
        errors = [e for p in self.pages for e in p.log.errors]
        for b in self.browsers:
            await b.close()
        if self.pw is not None:
            await self.pw.stop()
        return errors


@pytest.fixture
async def browsers(network):
    try:
        import playwright  # noqa: F401
    except ImportError:
        _require("Playwright", False)
    _require(f"Chromium ({CHROMIUM})", bool(os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)))
    bs = Browsers(network)
    try:
        yield bs
    finally:
        errors = await bs.close()
    assert not errors, "console errors in the web client:\n" + "\n".join(errors)


async def heard(up, timeout: float = 20.0) -> tuple[float, dict]:
    from tests.browser.flows import audio_stats, wait_for_energy
    # in the room (joining over the network can take a moment) before measuring
    await up.page.wait_for_function("!!(window.__audiorooms && window.__audiorooms.session())",
                                    timeout=20000)
    energy, _ = await wait_for_energy(up, lambda e: e > SPEAKING, timeout=timeout)
    return energy, await audio_stats(up)


async def blocked_hears_and_is_heard(network, fw, browsers, tmp_path, **server_config):
    """The room scenario both ways; returns the blocked browser's path (its end of the selected
    ICE candidate pair) as a listener and as a speaker."""
    from tests.browser.flows import create_room, sign_up
    from tests.browser.test_guest_links import speak
    srv, blocked, open_, srv_b, srv_o = fw.srv, fw.blocked, fw.open, fw.srv_b, fw.srv_o
    await start_homeserver(network, srv, tmp_path, **server_config)

    # An open-network speaker, heard by a listener behind the firewall.
    olive = await browsers.open(open_, f"http://{srv_o}:{PORT}", "olive")
    await sign_up(olive, "olive")
    await create_room(olive, "Open to blocked")
    await speak(olive)
    room_url = olive.page.url.split("#", 1)[1]
    bob = await browsers.open(blocked, f"http://{srv_b}:{PORT}", "bob")
    await sign_up(bob, "bob")
    await bob.goto(f"#{room_url}?join=1")
    energy, stats = await heard(bob)
    as_listener = stats.get("path")
    print(f"blocked listener: energy {energy:.4f}/s, path {as_listener}")

    # A speaker behind the firewall, heard by a listener on the open network.
    await bob.goto("#/hallway")
    await create_room(bob, "Blocked to open")
    await speak(bob)
    room_url = bob.page.url.split("#", 1)[1]
    await olive.goto(f"#{room_url}?join=1")
    energy, stats = await heard(olive)
    bob_stats = await bob.page.evaluate("window.__audiorooms.audioStats()")
    print(f"open listener of the blocked speaker: energy {energy:.4f}/s, speaker's path "
          f"{bob_stats.get('path')}, speaker sent {bob_stats['outboundPackets']} packets")
    # nothing got through the firewall but TCP: its UDP drop rules are still there
    assert "udp drop" in network.udp_drops(blocked)
    return as_listener, bob_stats.get("path")


def firewall_topology(network) -> SimpleNamespace:
    """``srv`` (homeserver, coturn) linked to ``blocked`` (drops UDP) and to ``open``;
    ``srv_b``/``srv_o`` are srv's addresses as each side reaches it."""
    srv, blocked, open_ = network.ns("srv"), network.ns("blocked"), network.ns("open")
    srv_b, _ = network.link(srv, blocked)
    srv_o, _ = network.link(srv, open_)
    network.drop_udp(blocked)
    return SimpleNamespace(srv=srv, blocked=blocked, open=open_, srv_b=srv_b, srv_o=srv_o)


async def test_udp_blocked_listener_and_speaker_go_through_coturn_over_tcp(
        network, browsers, tmp_path):
    _require("coturn (turnserver)", shutil.which("turnserver") is not None)
    fw = firewall_topology(network)
    start_coturn(network, fw.srv, fw.srv_b, tmp_path)
    paths = await blocked_hears_and_is_heard(network, fw, browsers, tmp_path, turn={
        "uris": [f"turn:{fw.srv_b}:3478?transport=tcp"], "shared_secret": TURN_SECRET})
    relay = {"type": "relay", "protocol": "udp", "relayProtocol": "tcp"}
    assert paths == (relay, relay)


async def test_udp_blocked_listener_and_speaker_use_ice_tcp_without_turn(
        network, browsers, tmp_path):
    fw = firewall_topology(network)
    paths = await blocked_hears_and_is_heard(network, fw, browsers, tmp_path,
                                             media={"tcp_port": 3479})
    # Chromium's end of an ICE-TCP pair is active TCP from an ephemeral port: a host or
    # peer-reflexive candidate, never a relay (there is no TURN here)
    for path in paths:
        assert path["protocol"] == "tcp" and path["type"] in ("host", "prflx"), paths


async def test_listener_whose_address_changes_resumes_on_the_same_session(
        network, browsers, tmp_path):
    """A phone moving between networks: the listener's namespace loses its address and gets
    another mid-room; the web client notices its inbound audio stalled, restarts ICE (PUT on
    its session) and hears again within 3 s, without a new session (no second POST
    .../media) or a new join. Chromium learns its new address ~2 s after the change (it
    debounces network changes); the SFU takes the path from the browser's first check."""
    from tests.browser.flows import create_room, received, sign_up, wait_for_energy
    from tests.browser.test_guest_links import speak
    srv, phone, open_ = network.ns("srv"), network.ns("phone"), network.ns("open")
    srv_p, phone_ip = network.link(srv, phone)
    srv_o, _ = network.link(srv, open_)
    await start_homeserver(network, srv, tmp_path)
    olive = await browsers.open(open_, f"http://{srv_o}:{PORT}", "olive")
    await sign_up(olive, "olive")
    await create_room(olive, "Moving listener")
    await speak(olive)
    room_url = olive.page.url.split("#", 1)[1]
    bob = await browsers.open(phone, f"http://{srv_p}:{PORT}", "bob")
    media_calls: list[str] = []
    bob.page.on("request", lambda r: media_calls.append(r.method) if "/media" in r.url and
                "/rooms/" in r.url and r.method in ("POST", "PUT") else None)
    notes: list[tuple[float, str]] = []  # the client's own account of its restarts
    bob.page.on("console", lambda m: notes.append((time.monotonic(), m.text))
                if m.text.startswith("audio:") else None)
    await sign_up(bob, "bob")
    await bob.goto(f"#{room_url}?join=1")
    await heard(bob)
    assert media_calls == ["POST"]
    room_before = (await bob.page.evaluate("window.__audiorooms.session()"))["roomId"]

    # the phone's address changes (the old one disappears, a new one on the same link)
    dev = next(line.split(":")[1].strip().split("@")[0]
               for line in sh("ip", "-n", phone, "-o", "link").splitlines() if "@" in line)
    sh("ip", "-n", phone, "addr", "del", f"{phone_ip}/24", "dev", dev)
    new_ip = phone_ip.rsplit(".", 1)[0] + ".3"
    sh("ip", "-n", phone, "addr", "add", f"{new_ip}/24", "dev", dev)
    moved = time.monotonic()
    # the audio stops (packets, not energy: concealment keeps some energy coming for a while),
    # then comes back: resumed = the end of the first short window with packets again (an
    # overestimate by up to a window and a stats round trip), checked to be audible after
    resumed, stopped = None, False
    while time.monotonic() - moved < 15:
        _, packets = await received(bob, 0.1)
        if packets == 0:
            stopped = True
        elif stopped and packets >= 2:
            resumed = time.monotonic() - moved
            break
    assert stopped, "the address change did not interrupt the audio at all"
    stats = await bob.page.evaluate("window.__audiorooms.audioStats()")
    print(f"address change {phone_ip} -> {new_ip}: audio back after "
          f"{'never' if resumed is None else f'{resumed:.2f} s'}; media calls {media_calls}; "
          f"path {stats.get('path')}; client: "
          f"{[(round(t - moved, 2), text) for t, text in notes if t >= moved]}")
    assert resumed is not None, "the listener never heard the room again"
    await wait_for_energy(bob, lambda e: e > SPEAKING, timeout=5)  # and it is audible
    assert media_calls[0] == "POST" and "POST" not in media_calls[1:], media_calls
    assert "PUT" in media_calls
    assert (await bob.page.evaluate("window.__audiorooms.session()"))["roomId"] == room_before
    assert resumed < 3.0, f"audio came back on the same session but after {resumed:.2f} s"
