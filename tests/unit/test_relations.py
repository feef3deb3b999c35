"""What the relations index believes: parse_relation's shape rules, and the store refusing a
relation to an event of another room (a real SQLite file)."""
from __future__ import annotations

from homeserver.storage.database import Database
from homeserver.storage.events import EventStore, StreamCounter
from homeserver.storage.relations import RelationStore, parse_relation

ROOT = "$" + "r" * 43


def ev(content, etype="m.room.message", **extra):
    return {"type": etype, "content": content, "event_id": "$" + "e" * 43, **extra}


def test_parse_relation_accepts_the_spec_shapes():
    assert parse_relation(ev({"m.relates_to": {"rel_type": "m.annotation", "event_id": ROOT,
                                               "key": "x"}})) == ("m.annotation", ROOT)
    assert parse_relation(ev({"m.new_content": {"body": "b"}, "m.relates_to": {
        "rel_type": "m.replace", "event_id": ROOT}})) == ("m.replace", ROOT)
    assert parse_relation(ev({"m.relates_to": {"rel_type": "m.replace", "event_id": ROOT}},
                             "m.room.encrypted")) == ("m.replace", ROOT)
    assert parse_relation(ev({"m.relates_to": {"rel_type": "org.custom", "event_id":
                                               "$old:example.org"}})) == ("org.custom",
                                                                          "$old:example.org")


def test_parse_relation_ignores_malformed_ones():
    bad = [
        None, "x", {"m.relates_to": "m.thread"}, {"m.relates_to": None},
        {"m.relates_to": {"rel_type": 1, "event_id": ROOT}},
        {"m.relates_to": {"rel_type": "", "event_id": ROOT}},
        {"m.relates_to": {"rel_type": "x" * 256, "event_id": ROOT}},
        {"m.relates_to": {"rel_type": "m.thread", "event_id": "nope"}},
        {"m.relates_to": {"rel_type": "m.thread", "event_id": "$"}},
        {"m.relates_to": {"rel_type": "m.thread", "event_id": "$has space"}},
        {"m.relates_to": {"rel_type": "m.thread", "event_id": "$" + "a" * 255}},
        {"m.relates_to": {"rel_type": "m.thread", "event_id": {"$": 1}}},
        {"m.relates_to": {"rel_type": "m.annotation", "event_id": ROOT}},  # no key
        {"m.relates_to": {"rel_type": "m.replace", "event_id": ROOT}},  # no m.new_content
        {"m.relates_to": {"rel_type": "m.thread", "event_id": "$" + "e" * 43}},  # itself
    ]
    for content in bad:
        assert parse_relation(ev(content)) is None, content
    # An edit cannot be a state event.
    assert parse_relation(ev({"m.new_content": {}, "m.relates_to": {
        "rel_type": "m.replace", "event_id": ROOT}}, state_key="")) is None


def test_store_ignores_relations_across_rooms_and_forgets_redacted(tmp_path):
    db = Database(tmp_path / "hs.db")
    relations = RelationStore(db)
    store = EventStore(db, StreamCounter(db), relations=relations)

    def make(event_id, room, content):
        return {"event_id": event_id, "room_id": room, "type": "m.room.message",
                "sender": "@a:hs", "content": content, "depth": 1, "origin_server_ts": 1}

    store.persist_event(make(ROOT, "!a:hs", {"body": "root"}), we_order=True)
    thread = {"m.relates_to": {"rel_type": "m.thread", "event_id": ROOT}}
    store.persist_event(make("$same", "!a:hs", thread), we_order=True)
    store.persist_event(make("$other", "!b:hs", thread), we_order=True)
    found = relations.children("!a:hs", ROOT, rel_type=None, event_type=None, after=None,
                               upto=None, limit=10, backwards=True, recurse=False)
    assert [e for e, _ in found] == ["$same"]
    assert not relations.room_has_relations("!b:hs")
    store.redact("$same", make("$same", "!a:hs", {}))
    assert relations.children("!a:hs", ROOT, rel_type=None, event_type=None, after=None,
                              upto=None, limit=10, backwards=True, recurse=False) == []
    # Restarted: the rooms with relations are known again from the database.
    store.persist_event(make("$again", "!a:hs", thread), we_order=True)
    assert RelationStore(db).room_has_relations("!a:hs")
    db.close()
