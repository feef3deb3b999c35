"""Relations between events (``m.relates_to``): indexed when an event is stored, read by the
relations handler for /relations, /threads and bundled aggregations.

An event's relation is indexed in the same transaction that stores the event, and only if its
``m.relates_to`` has the right shape (see ``parse_relation``); anything else is stored as an
ordinary event that relates to nothing. A relation always lives in the relating event's room,
and every query names the room, so a relation to an event of another room never shows.
"""
from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from .database import Database

THREAD, REPLACE, REFERENCE, ANNOTATION = "m.thread", "m.replace", "m.reference", "m.annotation"
MAIN = "main"  # the thread ID of the main timeline (events in no thread)
# Event IDs: "$" and printable ASCII without spaces, at most 255 bytes (room versions 1-11).
EVENT_ID = re.compile(r"^\$[\x21-\x7e]{1,254}$")
MAX_REL_TYPE = 255
# Bounds of what a bundled aggregation lists.
MAX_REFERENCES = 50
RECURSE_DEPTH = 3  # as Synapse: relations of relations, down to three levels
THREAD_HOPS = 3  # relations followed up to find an event's thread (the spec's advice)

_COLUMNS = "r.event_id, r.relates_to_id, r.rel_type, r.sender, r.type, r.stream_ordering"


def parse_relation(event: dict) -> tuple[str, str] | None:
    """(rel_type, parent event ID) of a well-formed relation, or None. Rules that need the
    parent (its room) are checked in ``index``."""
    content = event.get("content")
    if not isinstance(content, dict):
        return None
    rel = content.get("m.relates_to")
    if not isinstance(rel, dict):
        return None
    rel_type, parent = rel.get("rel_type"), rel.get("event_id")
    if not isinstance(rel_type, str) or not 0 < len(rel_type) <= MAX_REL_TYPE \
            or not isinstance(parent, str) or not EVENT_ID.match(parent) \
            or parent == event.get("event_id"):
        return None
    if rel_type == REPLACE and (event.get("state_key") is not None or (
            event.get("type") != "m.room.encrypted"
            and not isinstance(content.get("m.new_content"), dict))):
        return None  # an edit replaces a message's content: it must carry the new one
    if rel_type == ANNOTATION and not isinstance(rel.get("key"), str):
        return None
    return rel_type, parent


class RelationStore:
    def __init__(self, db: Database):
        self.db = db
        # Rooms with at least one relation: events of any other room need no query at all
        # to find their (empty) aggregations, which keeps the message path as it was.
        self._rooms = {r[0] for r in db.execute("SELECT DISTINCT room_id FROM event_relations")}

    # writing (inside EventStore's transactions) ------------------------------------------

    def index(self, c: sqlite3.Connection, event: dict, stream: int) -> None:
        """Record the event's relation, if it has a valid one, on the open transaction."""
        rel = parse_relation(event)
        if rel is None:
            return
        room_id = event["room_id"]
        row = c.execute("SELECT room_id FROM events WHERE event_id = ?", (rel[1],)).fetchone()
        if row is not None and row[0] != room_id:
            return  # a relation across rooms: never believed
        c.execute("INSERT OR IGNORE INTO event_relations (event_id, relates_to_id, rel_type,"
                  " room_id, sender, type, stream_ordering, aggregation_key)"
                  " VALUES (?,?,?,?,?,?,?,?)",
                  (event["event_id"], rel[1], rel[0], room_id, event["sender"], event["type"],
                   stream, _key(event) if rel[0] == ANNOTATION else None))
        self._rooms.add(room_id)

    def forget(self, c: sqlite3.Connection, event_id: str) -> None:
        """A redacted event relates to nothing any more."""
        c.execute("DELETE FROM event_relations WHERE event_id = ?", (event_id,))

    # reading --------------------------------------------------------------------------------

    def room_has_relations(self, room_id: str) -> bool:
        return room_id in self._rooms

    def children(self, room_id: str, parent_id: str, *, rel_type: str | None,
                 event_type: str | None, after: int | None, upto: int | None, limit: int,
                 backwards: bool, recurse: bool) -> list[tuple[str, int]]:
        """[(event_id, stream_ordering)] of events relating to ``parent_id`` (and, if
        ``recurse``, to those, down to RECURSE_DEPTH levels), after < stream <= upto."""
        if recurse:
            sql = ("WITH RECURSIVE tree(event_id, depth) AS ("
                   " SELECT event_id, 1 FROM event_relations"
                   " WHERE relates_to_id = ? AND room_id = ?"
                   " UNION SELECT r.event_id, tree.depth + 1 FROM event_relations r"
                   " JOIN tree ON r.relates_to_id = tree.event_id"
                   " WHERE tree.depth < ? AND r.room_id = ?)"
                   " SELECT DISTINCT r.event_id, r.stream_ordering FROM event_relations r"
                   " JOIN tree ON tree.event_id = r.event_id WHERE 1 = 1")
            params: list = [parent_id, room_id, RECURSE_DEPTH, room_id]
        else:
            sql = ("SELECT r.event_id, r.stream_ordering FROM event_relations r"
                   " WHERE r.relates_to_id = ? AND r.room_id = ?")
            params = [parent_id, room_id]
        if rel_type is not None:
            sql += " AND r.rel_type = ?"
            params.append(rel_type)
        if event_type is not None:
            sql += " AND r.type = ?"
            params.append(event_type)
        if after is not None:
            sql += " AND r.stream_ordering > ?"
            params.append(after)
        if upto is not None:
            sql += " AND r.stream_ordering <= ?"
            params.append(upto)
        sql += f" ORDER BY r.stream_ordering {'DESC' if backwards else 'ASC'} LIMIT ?"
        params.append(limit)
        return [(e, s) for e, s in self.db.execute(sql, params)]

    def threads(self, room_id: str, *, before: int | None, upto: int | None, limit: int,
                participant: str | None) -> list[tuple[str, int]]:
        """[(root event ID, stream ordering of its latest reply)], latest activity first,
        only threads whose latest reply is before ``before``; with ``participant``, only
        threads that user started or replied to."""
        sql = ("SELECT r.relates_to_id, MAX(r.stream_ordering) AS latest FROM event_relations r"
               " WHERE r.room_id = ? AND r.rel_type = 'm.thread'")
        params: list = [room_id]
        if upto is not None:
            sql += " AND r.stream_ordering <= ?"
            params.append(upto)
        sql += " GROUP BY r.relates_to_id"
        having = []
        if before is not None:
            having.append("MAX(r.stream_ordering) <= ?")  # standard SQL: no alias here
            params.append(before)
        if participant is not None:
            having.append("(SUM(CASE WHEN r.sender = ? THEN 1 ELSE 0 END) > 0 OR EXISTS"
                          " (SELECT 1 FROM events e WHERE e.event_id = r.relates_to_id"
                          " AND e.sender = ?))")
            params += [participant, participant]
        if having:
            sql += " HAVING " + " AND ".join(having)
        sql += " ORDER BY latest DESC LIMIT ?"
        params.append(limit)
        return [(e, s) for e, s in self.db.execute(sql, params)]

    # threads --------------------------------------------------------------------------------

    def thread_of(self, room_id: str, event_id: str) -> str:
        """The thread the (stored) event is in: the root's event ID if it is a thread reply or
        relates (m.annotation, m.replace, m.reference...) to one, following relations up to
        THREAD_HOPS, as the spec recommends; otherwise "main" (thread roots and the events
        relating to them are in the main timeline)."""
        for parent, rel_type in self._chain(room_id, event_id):
            if rel_type == THREAD:
                return parent
        return MAIN

    def receipt_fits(self, room_id: str, event_id: str, thread_id: str) -> bool:
        """Whether a receipt for the event may name the thread: "main" only for an event of
        the main timeline; a root for the root itself, an event of its thread, or one relating
        to the root (as Synapse accepts them: clients show those in the thread too)."""
        chain = self._chain(room_id, event_id)
        if thread_id == MAIN:
            return all(rel_type != THREAD for _, rel_type in chain)
        return event_id == thread_id or any(parent == thread_id for parent, _ in chain)

    def _chain(self, room_id: str, event_id: str) -> list[tuple[str, str]]:
        """[(parent, rel_type)] going up from the event, at most THREAD_HOPS, ending at the
        first thread relation (relations of other rooms are never indexed)."""
        if room_id not in self._rooms:
            return []
        rows = self.db.execute(
            "WITH RECURSIVE up(event_id, parent, rel_type, depth) AS ("
            " SELECT event_id, relates_to_id, rel_type, 1 FROM event_relations"
            " WHERE event_id = ? AND room_id = ?"
            " UNION ALL SELECT r.event_id, r.relates_to_id, r.rel_type, up.depth + 1"
            " FROM event_relations r JOIN up ON r.event_id = up.parent"
            " WHERE up.rel_type != 'm.thread' AND up.depth < ? AND r.room_id = ?)"
            " SELECT parent, rel_type FROM up ORDER BY depth",
            (event_id, room_id, THREAD_HOPS, room_id)).fetchall()
        return [(parent, rel_type) for parent, rel_type in rows]

    def thread_of_new(self, event: dict) -> str:
        """``thread_of`` for an event just stored, without a query when it relates to
        nothing (most events)."""
        if parse_relation(event) is None:
            return MAIN
        return self.thread_of(event["room_id"], event["event_id"])

    # bundled aggregations -------------------------------------------------------------------

    def rel_types_of(self, room_id: str, parents: Sequence[str],
                     upto: int | None) -> dict[str, set[str]]:
        """{parent: {rel_type, ...}} for the parents that have any relation."""
        out: dict[str, set[str]] = {}
        for parent, rel_type in self._grouped(
                "SELECT DISTINCT relates_to_id, rel_type FROM event_relations", room_id,
                parents, None, upto, ""):
            out.setdefault(parent, set()).add(rel_type)
        return out

    def thread_summaries(self, room_id: str, roots: Sequence[str], user_id: str,
                         upto: int | None) -> dict[str, tuple[int, str, bool]]:
        """{root: (reply count, latest reply's event ID, whether user_id replied)}."""
        rows = self._grouped(
            "SELECT relates_to_id, COUNT(*), MAX(stream_ordering),"
            " SUM(CASE WHEN sender = ? THEN 1 ELSE 0 END) FROM event_relations", room_id, roots,
            THREAD, upto, " GROUP BY relates_to_id", head=[user_id])
        if not rows:
            return {}
        # the latest reply's ID: its position is unique (standard SQL has no bare columns)
        latest = dict(self.db.execute(
            "SELECT stream_ordering, event_id FROM event_relations WHERE relates_to_id IN"
            f" ({','.join('?' * len(rows))}) AND rel_type = ? AND stream_ordering IN"
            f" ({','.join('?' * len(rows))})",
            [*(r[0] for r in rows), THREAD, *(r[2] for r in rows)]).fetchall())
        return {root: (n, latest[pos], bool(mine)) for root, n, pos, mine in rows
                if pos in latest}

    def latest_edits(self, room_id: str, originals: Iterable[tuple[str, Any, Any]],
                     upto: int | None) -> dict[str, str]:
        """{original: event ID of its newest edit} for [(event_id, sender, type)]: edits by
        the original's sender, of the same event type, count (the spec's validity rules)."""
        out = {}
        for event_id, sender, etype in originals:
            sql = ("SELECT event_id FROM event_relations WHERE relates_to_id = ? AND room_id = ?"
                   " AND rel_type = 'm.replace' AND sender = ? AND type = ?")
            params: list = [event_id, room_id, sender, etype]
            if upto is not None:
                sql += " AND stream_ordering <= ?"
                params.append(upto)
            row = self.db.execute(sql + " ORDER BY stream_ordering DESC LIMIT 1",
                                  params).fetchone()
            if row is not None:
                out[event_id] = row[0]
        return out

    def references(self, room_id: str, parents: Sequence[str],
                   upto: int | None) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for parent, event_id in self._grouped(
                "SELECT relates_to_id, event_id FROM event_relations", room_id, parents,
                REFERENCE, upto, " ORDER BY stream_ordering"):
            refs = out.setdefault(parent, [])
            if len(refs) < MAX_REFERENCES:
                refs.append(event_id)
        return out

    def has_annotation(self, room_id: str, parent: str, sender: str, etype: str,
                       key: str) -> bool:
        return self.db.execute(
            "SELECT 1 FROM event_relations WHERE relates_to_id = ? AND room_id = ?"
            " AND rel_type = 'm.annotation' AND sender = ? AND type = ? AND aggregation_key = ?"
            " LIMIT 1", (parent, room_id, sender, etype, key)).fetchone() is not None

    def _grouped(self, select: str, room_id: str, parents: Sequence[str],
                 rel_type: str | None, upto: int | None, tail: str,
                 head: Sequence = ()) -> list[tuple]:
        if not parents:
            return []
        marks = ",".join("?" * len(parents))
        sql = f"{select} WHERE room_id = ? AND relates_to_id IN ({marks})"
        params: list = [*head, room_id, *parents]
        if rel_type is not None:
            sql += " AND rel_type = ?"
            params.append(rel_type)
        if upto is not None:
            sql += " AND stream_ordering <= ?"
            params.append(upto)
        return self.db.execute(sql + tail, params).fetchall()


def _key(event: dict) -> str | None:
    key = event["content"]["m.relates_to"].get("key")
    return key if isinstance(key, str) and len(key) <= 1024 else None
