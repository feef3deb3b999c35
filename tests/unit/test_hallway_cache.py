"""Other servers' hallways as we keep them: pulls, pushes laid over them, gaps, bounds; and the
pushed EDU's checks."""
from __future__ import annotations

import pytest

from homeserver.handlers import hallway_schema as schema
from homeserver.handlers.hallway_cache import RemoteHallways
from homeserver.handlers.hallway_push import _pack

NS = "org.audiorooms."
S = "a.example"


def room(n: int, server: str = S, **changes) -> dict:
    e = {"room_id": f"!r{n}:{server}", "num_joined_members": 2, "world_readable": True,
         "guest_can_join": True, NS + "live": True, NS + "host": server, NS + "speakers": [],
         NS + "speaker_count": 1, NS + "listener_count": 1, NS + "clubs": [],
         NS + "live_since": 1_000 + n}
    e.update(changes)
    return e


def live(cache: RemoteHallways) -> dict[str, bool]:
    return {e["room_id"]: e[NS + "live"] for e in cache.entries(S)}


def test_a_push_updates_the_pulled_list_in_place_and_keeps_it_fresh():
    c = RemoteHallways()
    c.pulled(S, 10.0, [room(1), room(2)])
    assert c.fresh(S, 11.0, 30)
    c.pushed(S, "boot", 0, [(f"!r1:{S}", room(1, **{NS + "live": False}))], 11.0)
    assert live(c) == {f"!r1:{S}": False, f"!r2:{S}": True}
    assert not c.fresh(S, 12.0, 30)  # a first push of a boot: we may have missed one
    c.pulled(S, 12.0, [room(1, **{NS + "live": False}), room(2)])
    c.pushed(S, "boot", 1, [(f"!r3:{S}", room(3)), (f"!r2:{S}", None)], 13.0)
    assert live(c) == {f"!r1:{S}": False, f"!r3:{S}": True}
    assert c.fresh(S, 13.0, 30)  # in sequence: nothing to pull


def test_a_gap_or_a_new_boot_makes_the_view_stale():
    c = RemoteHallways()
    c.pushed(S, "boot", 0, [], 1.0)
    c.pulled(S, 2.0, [])
    c.pushed(S, "boot", 2, [], 3.0)  # seq 1 went missing
    assert not c.fresh(S, 3.0, 30)
    c.pulled(S, 4.0, [])
    c.pushed(S, "other", 3, [], 5.0)  # it restarted
    assert not c.fresh(S, 5.0, 30)


def test_a_pull_asked_before_a_push_does_not_undo_it():
    c = RemoteHallways()
    c.pushed(S, "b", 0, [(f"!r1:{S}", room(1, **{NS + "live": False})),
                         (f"!r2:{S}", None)], 5.0)
    c.pulled(S, 4.0, [room(1), room(2)])  # asked at 4, answered after the push at 5
    assert live(c) == {f"!r1:{S}": False}
    c.pulled(S, 6.0, [room(1), room(2)])  # asked after the push: it is the newer word
    assert live(c) == {f"!r1:{S}": True, f"!r2:{S}": True}


def test_bounded_rooms_per_server_and_servers():
    c = RemoteHallways(max_entries=3, max_servers=2)
    c.pushed(S, "b", 0, [(f"!r{i}:{S}", room(i)) for i in range(10)], 1.0)
    assert len(c.entries(S)) == 3
    c.pulled("b.example", 1.0, [])
    c.pushed("c.example", "b", 0, [("!x:c.example", room(1, "c.example"))], 1.0)
    assert c.entries("c.example") == []  # a third server is not kept


def test_push_edu_checks():
    good = room(1)
    boot, seq, updates = schema.hallway_push(
        {"boot": "x", "seq": 4, "rooms": [good, room(2, "other.example"), "junk",
                                           {"room_id": f"!r9:{S}", "removed": True},
                                           {"room_id": "!r9:other.example", "removed": True},
                                           room(3, **{NS + "listener_count": -1}),
                                           room(4, **{NS + "listener_count": 10**9})]}, S)
    assert (boot, seq) == ("x", 4)
    assert updates == [(good["room_id"], good), (f"!r9:{S}", None)]
    for bad in ([], {"boot": "x", "seq": -1, "rooms": []}, {"boot": 1, "seq": 1, "rooms": []},
                {"boot": "x", "seq": True, "rooms": []}, {"boot": "x", "seq": 1, "rooms": {}},
                {"boot": "x", "seq": 1, "rooms": [good] * 51}):
        with pytest.raises(schema.Invalid):
            schema.hallway_push(bad, S)


def test_replays_must_be_well_formed_and_on_the_rooms_server():
    r = {"event_id": "$e", "url": f"mxc://{S}/abc", "duration": 5, "started_ts": 1,
         "ended_ts": 6}
    assert schema.hallway_entry(room(1, **{NS + "replays": [r]}), S)[NS + "replays"] == [r]
    for bad in ({**r, "url": "mxc://other.example/abc"}, {**r, "duration": -1},
                {**r, "ended_ts": 0}, {**r, "url": "https://x/y"}, {**r, "event_id": 5}):
        assert schema.hallway_entry(room(1, **{NS + "replays": [bad]}), S) is None
    assert schema.hallway_entry(room(1, **{NS + "replays": [r] * 6}), S) is None


def test_pushed_rooms_are_packed_into_bounded_edus():
    batches = _pack([room(i, name="n" * 5000) for i in range(30)] + [room(99, topic="t" * 70000)])
    assert sum(map(len, batches)) == 31
    assert all(len(b) <= schema.MAX_PUSH_ROOMS for b in batches)
    assert len(batches) >= 3 and batches[-1] == [room(99, topic="t" * 70000)]


def test_speaker_faces_are_kept_when_they_are_mxc_and_dropped_otherwise():
    good = {"user_id": "@a:a.example", "displayname": "A", "moderator": True,
            "avatar_url": f"mxc://{S}/face1"}
    entry = schema.hallway_entry(room(1, **{NS + "speakers": [good]}), S)
    assert entry[NS + "speakers"] == [good]
    for bad in ("https://evil.example/x.png", "mxc://../etc", 5, "mxc://a.example/" + "x" * 700):
        entry = schema.hallway_entry(room(1, **{NS + "speakers": [{**good, "avatar_url": bad}]}),
                                     S)
        # The room stays listed; only the face goes.
        assert entry is not None and "avatar_url" not in entry[NS + "speakers"][0]
