"""The to-device tables and the outbox's durable EDUs, on a real SQLite file."""
from __future__ import annotations

from homeserver.storage.database import Database
from homeserver.storage.events import StreamCounter
from homeserver.storage.federation import OutboxStore
from homeserver.storage.to_device import ToDeviceStore


def test_outbox_sends_a_prefix_of_pdus_and_durable_edus_in_order(tmp_path):
    outbox = OutboxStore(Database(tmp_path / "hs.db"))
    for i in range(5):
        outbox.enqueue(["b"], {"pdu": i})
        outbox.enqueue(["b"], {"edu": i}, kind="edu")
    rows = outbox.pending("b", max_pdus=2, max_edus=10)
    # Stops before the third PDU: what follows it waits, so delete_upto the last ID sent
    # removes exactly what was sent.
    assert [(k, j) for _, k, j in rows] == [("pdu", {"pdu": 0}), ("edu", {"edu": 0}),
                                            ("pdu", {"pdu": 1}), ("edu", {"edu": 1})]
    outbox.delete_upto("b", rows[-1][0])
    rows = outbox.pending("b", max_pdus=10, max_edus=1)
    assert [(k, j) for _, k, j in rows] == [("pdu", {"pdu": 2}), ("edu", {"edu": 2}),
                                            ("pdu", {"pdu": 3})]
    assert outbox.count("b") == 6


def test_inbox_cap_drops_the_oldest_and_the_stream_never_goes_back(tmp_path):
    db = Database(tmp_path / "hs.db")
    stream = StreamCounter(db)
    store = ToDeviceStore(db, stream, inbox_cap=3)
    users, dropped = store.add([("@b:x", "D", "@a:x", "t", {"i": i}) for i in range(5)])
    assert users == {"@b:x"} and dropped == 2
    assert [c["i"] for _, _, _, c in store.pending("@b:x", "D", None, stream.current, 10)] == \
        [2, 3, 4]
    last = stream.current
    assert store.delete_upto("@b:x", "D", last) == 3
    db.close()
    # Restarted with every message deleted: the counter resumes after them, so a token the
    # device holds is never ahead of the stream.
    again = Database(tmp_path / "hs.db")
    assert StreamCounter(again).current == last


def test_a_message_id_is_received_once_per_origin(tmp_path):
    db = Database(tmp_path / "hs.db")
    store = ToDeviceStore(db, StreamCounter(db))
    assert store.first_receipt("b", "m1")
    assert not store.first_receipt("b", "m1")
    assert store.first_receipt("c", "m1")
