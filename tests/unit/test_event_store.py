"""EventStore's caches: a client can name any room ID, so asking about rooms we don't know
must not grow memory, and a room that becomes known afterwards is seen."""
from __future__ import annotations

from homeserver.storage.database import Database
from homeserver.storage.events import EventStore, StreamCounter
from homeserver.storage.relations import RelationStore


def test_unknown_room_ids_are_not_cached_and_a_later_room_is_seen(tmp_path):
    db = Database(tmp_path / "hs.db")
    store = EventStore(db, StreamCounter(db), relations=RelationStore(db))
    for i in range(1000):
        assert store.current_state_ids(f"!nope{i}:hs") == {}
        assert store.room_members(f"!nope{i}:hs") == []
    assert len(store._state) == 0 and len(store._members) == 0
    create = {"event_id": "$c", "room_id": "!nope1:hs", "type": "m.room.create", "state_key": "",
              "sender": "@a:hs", "content": {"creator": "@a:hs"}, "depth": 1,
              "origin_server_ts": 1}
    join = {"event_id": "$j", "room_id": "!nope1:hs", "type": "m.room.member",
            "state_key": "@a:hs", "sender": "@a:hs", "content": {"membership": "join"},
            "depth": 2, "origin_server_ts": 2}
    store.persist_event(create, we_order=True)
    store.persist_event(join, we_order=True)
    assert store.current_state_ids("!nope1:hs") == {("m.room.create", ""): "$c",
                                                    ("m.room.member", "@a:hs"): "$j"}
    assert store.room_members("!nope1:hs") == ["@a:hs"]
