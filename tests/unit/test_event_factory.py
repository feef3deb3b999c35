"""EventFactory: an event's ID is its hash, so two identical sends must still be two events."""
from __future__ import annotations

from federation.signing import SigningKey
from homeserver.handlers.events import EventFactory


def test_identical_sends_in_one_millisecond_are_two_events():
    # A resident's events wait for the host, so its prev_events stay the same between two sends;
    # with a frozen clock the only thing that can tell them apart is the timestamp.
    factory = EventFactory("hs", SigningKey.generate(), clock=lambda: 1_700_000_000.0)
    args = dict(room_id="!r:host", sender="@a:hs", etype="org.audiorooms.reaction",
                content={"key": "👏"}, state_key=None, prev_events=["$p"], depth=5,
                auth_events=["$c"])
    first, second = factory.build(**args), factory.build(**args)
    assert first["event_id"] != second["event_id"]
    assert second["origin_server_ts"] > first["origin_server_ts"] >= 1_700_000_000_000


def test_timestamps_follow_the_clock_when_it_moves_on():
    now = [1000.0]
    factory = EventFactory("hs", SigningKey.generate(), clock=lambda: now[0])
    args = dict(room_id="!r:hs", sender="@a:hs", etype="m.room.message", content={"body": "x"},
                state_key=None, prev_events=[], depth=1, auth_events=[])
    assert factory.build(**args)["origin_server_ts"] == 1_000_000
    now[0] = 2000.0
    assert factory.build(**args)["origin_server_ts"] == 2_000_000
