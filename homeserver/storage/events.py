"""Rooms, events, current state, memberships and aliases.

Every event gets a ``stream_ordering`` from one counter shared with account data; /sync tokens
and /messages tokens are positions on that stream. Hot lookups (current state, the latest event
of a room, parsed events) are cached in memory; the cache is filled from and kept in step with
the database, which stays the source of truth.
"""
from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable

from ..ordering import order_of, with_order
from .database import Database
from .relations import RelationStore


def _set_order(event: dict, order: int | None) -> dict:
    """Put the room order into the event dict itself (it is what the caches hold)."""
    ordered = with_order(event, order)
    event.pop("unsigned", None)
    event.update(ordered)
    return event


class StreamCounter:
    """Positions on the one stream. ``current`` is the newest committed position this process
    knows of: /sync hands it out as a token, so it never runs ahead of what readers can see.

    SQLite: one process, no await inside a transaction, so a counter in memory is enough.
    PostgreSQL: a sequence shared by every process, taken inside the transaction (which holds
    the write lock, so positions commit in order); ``current`` moves when our transaction
    commits and when another process says it committed (``advance``)."""

    def __init__(self, db: Database):
        self.db = db
        row = db.execute(
            "SELECT MAX(m) FROM (SELECT MAX(stream_ordering) AS m FROM events"
            " UNION ALL SELECT MAX(stream_ordering) FROM account_data"
            " UNION ALL SELECT MAX(stream_ordering) FROM receipts"
            " UNION ALL SELECT MAX(pos) FROM stream_marks) AS positions").fetchone()
        self.current = row[0] or 0
        self._shared = db.engine == "postgres"
        if self._shared:
            with db.transaction() as c:  # the sequence resumes after every stored position
                c.execute("SELECT setval('stream_ordering_seq', GREATEST(?,"
                          " (SELECT last_value FROM stream_ordering_seq)))",
                          (max(self.current, 1),))

    def next(self) -> int:
        if self._shared:
            # Inside the caller's transaction (the stores take it there, with what they
            # write at it), else in one of its own.
            with self.db.transaction():
                pos = self.db.execute("SELECT nextval('stream_ordering_seq')").fetchone()[0]
                self.db.after_commit(lambda: self.advance(pos))
            return pos
        self.current += 1
        return self.current

    def advance(self, pos: int) -> None:
        """Another process (or our own commit) made ``pos`` visible."""
        if pos > self.current:
            self.current = pos

    def next_marked(self, name: str) -> int:
        """A position for something not stored with it (typing): recorded, so a restart
        resumes after it and a client's token is never ahead of the stream."""
        with self.db.transaction() as c:
            pos = self.next()
            c.execute("INSERT OR REPLACE INTO stream_marks (name, pos) VALUES (?,?)", (name, pos))
        return pos


class EventStore:
    def __init__(self, db: Database, stream: StreamCounter, cache_size: int = 20000,
                 relations: RelationStore | None = None):
        self.db = db
        self.stream = stream
        # Relations are indexed in the transaction that stores their event (None: not kept).
        self.relations = relations
        self._events: OrderedDict[str, dict] = OrderedDict()
        self._cache_size = cache_size
        self._state: dict[str, dict[tuple[str, str], str]] = {}
        self._latest: dict[str, tuple[str, int, int]] = {}  # room -> (event_id, depth, stream)
        # room -> {user: membership}: every event wakes the room's members, so this must not
        # cost a query over a big audience each time.
        self._members: dict[str, dict[str, str]] = {}
        self.persisted = 0  # events committed by persist_event (read by the metrics)
        # Called inside persist_event's transaction with (event, stream): the process bus
        # tells the server's other processes when it commits.
        self.on_persist: Callable[[dict, int], None] | None = None
        # PostgreSQL: reads wait, so other tasks run while a cache is being filled from the
        # database and while a write's transaction is open. A fill is kept only if nothing
        # wrote to the room (or redacted, for events) meanwhile; and when a write commits,
        # what others may have filled from before it is dropped (see _committed).
        self._shared = db.engine == "postgres"
        self._room_epoch: dict[str, int] = {}
        self._event_epoch = 0
        if self._shared:
            db.begin_hooks.append(self._catch_up)

    def _bump(self, room_id: str) -> None:
        self._room_epoch[room_id] = self._room_epoch.get(room_id, 0) + 1

    def _may_fill(self, room_id: str, epoch: int) -> bool:
        """A cache fill read at ``epoch`` may be kept: no write to the room since, and not read
        inside a transaction (whose uncommitted writes others must not see, nor keep if it
        rolls back)."""
        if not self._shared:
            return True
        return self._room_epoch.get(room_id, 0) == epoch and not self.db.in_transaction()

    def _committed(self, room_id: str, state: bool, latest: tuple | None) -> None:
        """PostgreSQL, our write to the room committed: fills made from before it go."""
        self._bump(room_id)
        if state:
            self._state.pop(room_id, None)
            self._members.pop(room_id, None)
        if latest is not None:
            self._latest.pop(room_id, None)

    # rooms ---------------------------------------------------------------------------------

    def store_room(self, room_id: str, room_version: str, creator: str, is_public: bool,
                   room_type: str | None) -> None:
        with self.db.transaction() as c:
            c.execute(
                "INSERT OR IGNORE INTO rooms (room_id, room_version, creator, is_public,"
                " room_type, created_ts) VALUES (?,?,?,?,?,?)",
                (room_id, room_version, creator, int(is_public), room_type,
                 int(time.time() * 1000)))

    def get_room(self, room_id: str) -> dict | None:
        row = self.db.execute(
            "SELECT room_id, room_version, creator, is_public, room_type FROM rooms"
            " WHERE room_id = ?", (room_id,)).fetchone()
        if row is None:
            return None
        return dict(zip(("room_id", "room_version", "creator", "is_public", "room_type"), row,
                        strict=True))

    def set_room_public(self, room_id: str, is_public: bool) -> None:
        with self.db.transaction() as c:
            c.execute("UPDATE rooms SET is_public = ? WHERE room_id = ?", (int(is_public), room_id))

    def forget_room(self, room_id: str) -> None:
        """Drop the caches of a room whose rows were purged (admin room deletion)."""
        self._state.pop(room_id, None)
        self._latest.pop(room_id, None)
        self._members.pop(room_id, None)
        for eid in [e for e, ev in self._events.items() if ev.get("room_id") == room_id]:
            del self._events[eid]

    def invalidate_room(self, room_id: str, state: bool) -> None:
        """Another process appended to the room: its latest event (and, for a state event, its
        state and members) are read again from the database when next needed."""
        self._bump(room_id)  # a fill read before this must not land
        self._latest.pop(room_id, None)
        if state:
            self._state.pop(room_id, None)
            self._members.pop(room_id, None)

    def invalidate_all(self) -> None:
        """Messages from other processes were lost: read every room again when needed."""
        for room_id in list(self._room_epoch):
            self._bump(room_id)
        self._event_epoch += 1
        self._state.clear()
        self._latest.clear()
        self._members.clear()
        self._events.clear()

    def forget_event(self, event_id: str) -> None:
        """Another process changed a stored event (a redaction): read it again."""
        self._event_epoch += 1
        self._events.pop(event_id, None)

    def _catch_up(self) -> None:
        """PostgreSQL, at the start of a transaction: if other processes committed events we
        have not heard of yet, drop what we cached of their rooms before anything here reads
        the cache to write (the write lock keeps it true until our commit)."""
        last = self.db.execute("SELECT last_value FROM stream_ordering_seq").fetchone()[0]
        if last <= self.stream.current:
            return
        for room_id, is_state, raw in self.db.execute(
                "SELECT room_id, state_key IS NOT NULL,"
                " CASE WHEN type = 'm.room.redaction' THEN json END"
                " FROM events WHERE stream_ordering > ?", (self.stream.current,)).fetchall():
            # a message leaves the room's state (and members) as they were
            self.invalidate_room(room_id, state=bool(is_state))
            if raw:
                redacts = (json.loads(raw).get("content") or {}).get("redacts")
                if isinstance(redacts, str):
                    self.forget_event(redacts)
        self.stream.advance(last)

    def public_room_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT room_id FROM rooms WHERE is_public = 1 ORDER BY created_ts DESC")]

    # events --------------------------------------------------------------------------------

    def persist_event(self, event: dict, txn: tuple[str, str, str] | None = None, *,
                      outlier: bool = False, update_state: bool = True,
                      order: int | None = None, we_order: bool = False) -> int:
        """Append one event to its room, update state and membership; commit. Returns its
        stream ordering.

        An ``outlier`` is stored (and may update state) but is not part of the timeline: state
        received when joining a remote room, or an invite to a room we are not in yet.
        ``update_state=False`` appends history (backfill) without rewinding current state.
        The event's place in the room's order (homeserver/ordering.py) is its stream ordering
        if ``we_order`` (we host the room), else ``order`` as the host gave it (None: unknown).
        The event dict gets it in ``unsigned``, as every event read back from here does.
        """
        room_id = event["room_id"]
        state_key = event.get("state_key")
        with self.db.transaction() as c:
            # Taken inside the transaction: on PostgreSQL positions are then committed in the
            # order they were taken (storage/postgres.py), so a reader never skips one.
            stream = self.stream.next()
            room_order = stream if we_order else order
            _set_order(event, room_order)
            c.execute(
                "INSERT INTO events (stream_ordering, event_id, room_id, type, state_key, sender,"
                " depth, origin_server_ts, txn_id, json, outlier, room_order)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (stream, event["event_id"], room_id, event["type"], state_key, event["sender"],
                 event["depth"], event["origin_server_ts"], txn[2] if txn else None,
                 json.dumps(event, ensure_ascii=False, separators=(",", ":")), int(outlier),
                 room_order))
            content = event.get("content")
            if self.relations is not None and isinstance(content, dict) \
                    and "m.relates_to" in content:
                self.relations.index(c, event, stream)
            if state_key is not None and update_state:
                c.execute(
                    "INSERT OR REPLACE INTO current_state (room_id, type, state_key, event_id)"
                    " VALUES (?,?,?,?)", (room_id, event["type"], state_key, event["event_id"]))
                if event["type"] == "m.room.member":
                    # stream_ordering is where the membership last *changed*: a join->join
                    # profile update keeps it, or /sync would treat the room as newly joined.
                    c.execute(
                        "INSERT INTO memberships (room_id, user_id, membership, event_id,"
                        " stream_ordering) VALUES (?,?,?,?,?) ON CONFLICT (room_id, user_id)"
                        " DO UPDATE SET event_id = excluded.event_id,"
                        " stream_ordering = CASE WHEN memberships.membership = excluded.membership"
                        " THEN memberships.stream_ordering ELSE excluded.stream_ordering END,"
                        " membership = excluded.membership",
                        (room_id, state_key, event["content"]["membership"], event["event_id"],
                         stream))
            if txn:
                c.execute("INSERT OR IGNORE INTO txn_ids (user_id, device_id, txn_id, event_id)"
                          " VALUES (?,?,?,?)", (txn[0], txn[1], txn[2], event["event_id"]))
            if self.on_persist is not None:
                self.on_persist(event, stream)
        # Caches are updated only after the commit succeeded.
        self.persisted += 1
        if self._shared:
            self._bump(room_id)
            self.db.after_commit(lambda: self._committed(
                room_id, state_key is not None and update_state, None if outlier else ()))
        self._remember(event)
        if state_key is not None and update_state and room_id in self._state:
            self._state[room_id][(event["type"], state_key)] = event["event_id"]
        if event["type"] == "m.room.member" and state_key is not None and update_state \
                and room_id in self._members:
            self._members[room_id][state_key] = event["content"]["membership"]
        if not outlier:
            self._latest[room_id] = (event["event_id"], event["depth"], stream)
        return stream

    def replace_current_state(self, room_id: str, state: list[dict]) -> None:
        """Adopt a room's state as received when joining it over federation: unknown events
        are stored as outliers (each with the order its ``unsigned`` carries, which the caller
        took from the host), and current state and memberships become exactly ``state``."""
        with self.db.transaction() as c:
            for ev in state:
                if not self.has_event(ev["event_id"]):
                    self.persist_event(ev, outlier=True, update_state=False,
                                       order=order_of(ev))
            # Positions are where a membership last changed: unchanged ones keep theirs.
            before = {u: (m, pos) for u, m, pos in c.execute(
                "SELECT user_id, membership, stream_ordering FROM memberships"
                " WHERE room_id = ?", (room_id,))}
            c.execute("DELETE FROM current_state WHERE room_id = ?", (room_id,))
            c.execute("DELETE FROM memberships WHERE room_id = ?", (room_id,))
            for ev in state:
                c.execute("INSERT OR REPLACE INTO current_state (room_id, type, state_key,"
                          " event_id) VALUES (?,?,?,?)",
                          (room_id, ev["type"], ev["state_key"], ev["event_id"]))
                if ev["type"] == "m.room.member":
                    prior = before.get(ev["state_key"])
                    if prior is not None and prior[0] == ev["content"].get("membership"):
                        pos = prior[1]
                    else:
                        pos = c.execute("SELECT stream_ordering FROM events WHERE event_id = ?",
                                        (ev["event_id"],)).fetchone()[0]
                    c.execute("INSERT INTO memberships (room_id, user_id, membership, event_id,"
                              " stream_ordering) VALUES (?,?,?,?,?)",
                              (room_id, ev["state_key"], ev["content"].get("membership"),
                               ev["event_id"], pos))
        self._state.pop(room_id, None)
        self._members.pop(room_id, None)
        if self._shared:
            self._bump(room_id)
            self.db.after_commit(lambda: self._committed(room_id, True, ()))

    def redact(self, target_id: str, redacted: dict) -> None:
        """Replace a stored event by its redacted form (the redaction algorithm's output)."""
        with self.db.transaction() as c:
            c.execute("UPDATE events SET json = ? WHERE event_id = ?",
                      (json.dumps(redacted, ensure_ascii=False, separators=(",", ":")),
                       target_id))
            if self.relations is not None:
                self.relations.forget(c, target_id)  # its m.relates_to is gone
            row = c.execute("SELECT room_order FROM events WHERE event_id = ?",
                            (target_id,)).fetchone()
        if target_id in self._events:
            # A redacted event keeps its place in the room's order.
            self._events[target_id] = _set_order(redacted, row[0] if row else None)
        if self._shared:
            self._event_epoch += 1
            self.db.after_commit(lambda: self.forget_event(target_id))

    def has_event(self, event_id: str) -> bool:
        return event_id in self._events or self.db.execute(
            "SELECT 1 FROM events WHERE event_id = ?", (event_id,)).fetchone() is not None

    def record_txn(self, user_id: str, device_id: str, txn_id: str, event_id: str) -> None:
        with self.db.transaction() as c:
            c.execute("INSERT OR IGNORE INTO txn_ids (user_id, device_id, txn_id, event_id)"
                      " VALUES (?,?,?,?)", (user_id, device_id, txn_id, event_id))

    def _remember(self, event: dict) -> None:
        self._events[event["event_id"]] = event
        if len(self._events) > self._cache_size:
            self._events.popitem(last=False)

    def get_event(self, event_id: str) -> dict | None:
        ev = self._events.get(event_id)
        if ev is not None:
            return ev
        epoch = self._event_epoch
        row = self.db.execute("SELECT json, room_order FROM events WHERE event_id = ?",
                              (event_id,)).fetchone()
        if row is None:
            return None
        ev = _set_order(json.loads(row[0]), row[1])  # the column is what counts
        if not self._shared or (epoch == self._event_epoch and not self.db.in_transaction()):
            self._remember(ev)
        return ev

    def get_events(self, event_ids) -> list[dict]:
        return [e for e in (self.get_event(i) for i in event_ids) if e is not None]

    def event_for_txn(self, user_id: str, device_id: str, txn_id: str) -> str | None:
        row = self.db.execute(
            "SELECT event_id FROM txn_ids WHERE user_id=? AND device_id=? AND txn_id=?",
            (user_id, device_id, txn_id)).fetchone()
        return row[0] if row else None

    def txn_ids_for(self, user_id: str, device_id: str, event_ids: list[str]) -> dict[str, str]:
        marks = ",".join("?" * len(event_ids))
        return dict(self.db.execute(
            f"SELECT event_id, txn_id FROM txn_ids WHERE user_id = ? AND device_id = ?"
            f" AND event_id IN ({marks})", (user_id, device_id, *event_ids)))

    def stream_ordering_of(self, event_id: str) -> int | None:
        row = self.db.execute("SELECT stream_ordering FROM events WHERE event_id = ?",
                              (event_id,)).fetchone()
        return row[0] if row else None

    def latest_event(self, room_id: str) -> tuple[str, int, int] | None:
        """(event_id, depth, stream_ordering) of the newest event in the room."""
        latest = self._latest.get(room_id)
        if latest is None:
            epoch = self._room_epoch.get(room_id, 0)
            row = self.db.execute(
                "SELECT event_id, depth, stream_ordering FROM events WHERE room_id = ?"
                " AND outlier = 0 ORDER BY stream_ordering DESC LIMIT 1", (room_id,)).fetchone()
            if row is None:
                return None
            latest = (row[0], row[1], row[2])
            if self._may_fill(room_id, epoch):
                self._latest[room_id] = latest
        return latest

    def room_events(self, room_id: str, *, after: int | None = None, upto: int | None = None,
                    limit: int = 100, backwards: bool = False) -> list[tuple[int, dict]]:
        """Events with after < stream_ordering <= upto, oldest first unless backwards."""
        sql = ("SELECT stream_ordering, json, room_order FROM events WHERE room_id = ?"
               " AND outlier = 0")
        params: list = [room_id]
        if after is not None:
            sql += " AND stream_ordering > ?"
            params.append(after)
        if upto is not None:
            sql += " AND stream_ordering <= ?"
            params.append(upto)
        sql += f" ORDER BY stream_ordering {'DESC' if backwards else 'ASC'} LIMIT ?"
        params.append(limit)
        out = []
        for stream, raw, order in self.db.execute(sql, params):
            out.append((stream, _set_order(json.loads(raw), order)))
        return out

    def last_room_order(self, room_id: str) -> int | None:
        """The highest host order of the room's events we have (None: none has one)."""
        return self.db.execute("SELECT MAX(room_order) FROM events WHERE room_id = ?",
                               (room_id,)).fetchone()[0]

    # state ---------------------------------------------------------------------------------

    def current_state_ids(self, room_id: str) -> dict[tuple[str, str], str]:
        st = self._state.get(room_id)
        if st is None:
            epoch = self._room_epoch.get(room_id, 0)
            st = {(t, k): e for t, k, e in self.db.execute(
                "SELECT type, state_key, event_id FROM current_state WHERE room_id = ?",
                (room_id,))}
            # an unknown room ID (anyone can send one) must not grow the cache
            if st and self._may_fill(room_id, epoch):
                self._state[room_id] = st
        return st

    def state_ids_at(self, room_id: str, upto: int) -> dict[tuple[str, str], str]:
        """The room's state as of stream position ``upto`` (e.g. when a user left). The host
        orders the room, so replaying its state events in stream order gives exactly that."""
        out: dict[tuple[str, str], str] = {}
        for t, k, e in self.db.execute(
                "SELECT type, state_key, event_id FROM events WHERE room_id = ? AND state_key"
                " IS NOT NULL AND stream_ordering <= ? ORDER BY stream_ordering",
                (room_id, upto)):
            out[(t, k)] = e
        return out

    def state_event(self, room_id: str, etype: str, state_key: str = "") -> dict | None:
        eid = self.current_state_ids(room_id).get((etype, state_key))
        return self.get_event(eid) if eid else None

    def replay_events(self, room_id: str, limit: int) -> list[dict]:
        """The room's newest messages carrying an ``org.audiorooms.replay`` object (its
        recordings), newest first; the partial index of migration 15 finds them."""
        return [json.loads(r[0]) for r in self.db.execute(
            "SELECT json FROM events WHERE room_id = ? AND type = 'm.room.message'"
            " AND json_type(json, '$.content.\"org.audiorooms.replay\"') = 'object'"
            " ORDER BY stream_ordering DESC LIMIT ?", (room_id, limit))]

    def ended_audio_rooms(self) -> dict[str, int]:
        """Rooms whose current ``org.audiorooms.live`` says the room ended: room_id -> the
        ended event's origin_server_ts."""
        return dict(self.db.execute(
            "SELECT e.room_id, e.origin_server_ts FROM current_state c"
            " JOIN events e ON e.event_id = c.event_id"
            " WHERE c.type = 'org.audiorooms.live' AND c.state_key = ''"
            " AND json_type(e.json, '$.content.live') = 'false'").fetchall())

    # memberships ---------------------------------------------------------------------------

    def membership(self, room_id: str, user_id: str) -> tuple[str, int] | None:
        return self.db.execute(
            "SELECT membership, stream_ordering FROM memberships WHERE room_id=? AND user_id=?",
            (room_id, user_id)).fetchone()

    def rooms_for_user(self, user_id: str) -> list[tuple[str, str, int]]:
        """[(room_id, membership, stream_ordering where that membership began)]: a join->join
        profile update does not move it."""
        return self.db.execute(
            "SELECT room_id, membership, stream_ordering FROM memberships WHERE user_id = ?",
            (user_id,)).fetchall()

    def _room_memberships(self, room_id: str) -> dict[str, str]:
        members = self._members.get(room_id)
        if members is None:
            epoch = self._room_epoch.get(room_id, 0)
            members = dict(self.db.execute(
                "SELECT user_id, membership FROM memberships WHERE room_id = ?", (room_id,)))
            # as for state: unknown room IDs are not cached
            if members and self._may_fill(room_id, epoch):
                self._members[room_id] = members
        return members

    def room_members(self, room_id: str, memberships=("join",)) -> list[str]:
        return [u for u, m in self._room_memberships(room_id).items() if m in memberships]

    def room_servers(self, room_id: str) -> set[str]:
        """The servers of the room's joined members."""
        return {u.split(":", 1)[1] for u, m in self._room_memberships(room_id).items()
                if m == "join"}

    def joined_servers(self) -> set[str]:
        """Every server with a user joined to a room we know: who we federate with."""
        return {r[0] for r in self.db.execute(
            "SELECT DISTINCT substr(user_id, instr(user_id, ':') + 1) FROM memberships"
            " WHERE membership = 'join'")}

    def count_members(self, room_id: str) -> int:
        return self.db.execute(
            "SELECT COUNT(*) FROM memberships WHERE room_id = ? AND membership = 'join'",
            (room_id,)).fetchone()[0]

    # aliases -------------------------------------------------------------------------------

    def add_alias(self, alias: str, room_id: str, creator: str) -> bool:
        with self.db.transaction() as c:
            cur = c.execute("INSERT OR IGNORE INTO room_aliases (alias, room_id, creator)"
                            " VALUES (?,?,?)", (alias, room_id, creator))
            return cur.rowcount == 1

    def get_alias(self, alias: str) -> tuple[str, str] | None:
        return self.db.execute("SELECT room_id, creator FROM room_aliases WHERE alias = ?",
                               (alias,)).fetchone()

    def delete_alias(self, alias: str) -> None:
        with self.db.transaction() as c:
            c.execute("DELETE FROM room_aliases WHERE alias = ?", (alias,))

    def aliases_for_room(self, room_id: str) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT alias FROM room_aliases WHERE room_id = ? ORDER BY alias", (room_id,))]


class AccountDataStore:
    def __init__(self, db: Database, stream: StreamCounter):
        self.db = db
        self.stream = stream

    def set(self, user_id: str, room_id: str, type_: str, content: dict) -> int:
        with self.db.transaction() as c:
            pos = self.stream.next()
            c.execute(
                "INSERT OR REPLACE INTO account_data (user_id, room_id, type, content,"
                " stream_ordering) VALUES (?,?,?,?,?)",
                (user_id, room_id, type_, json.dumps(content), pos))
        return pos

    def get(self, user_id: str, room_id: str, type_: str) -> dict | None:
        row = self.db.execute(
            "SELECT content FROM account_data WHERE user_id=? AND room_id=? AND type=?",
            (user_id, room_id, type_)).fetchone()
        return json.loads(row[0]) if row else None

    def changed_since(self, user_id: str, since: int | None) -> list[tuple[str, str, dict]]:
        """[(room_id, type, content)] changed after ``since`` (all if None)."""
        rows = self.db.execute(
            "SELECT room_id, type, content FROM account_data WHERE user_id = ?"
            " AND stream_ordering > ?", (user_id, since or 0))
        return [(r, t, json.loads(c)) for r, t, c in rows]


class FilterStore:
    """Saved /sync filters (POST /user/{userId}/filter)."""

    def __init__(self, db: Database):
        self.db = db

    def add(self, user_id: str, filt: dict) -> str:
        with self.db.transaction() as c:
            row = c.execute("SELECT COALESCE(MAX(filter_id), -1) + 1 FROM filters"
                            " WHERE user_id = ?", (user_id,)).fetchone()
            c.execute("INSERT INTO filters (user_id, filter_id, json) VALUES (?,?,?)",
                      (user_id, row[0], json.dumps(filt)))
        return str(row[0])

    def get(self, user_id: str, filter_id: str) -> dict | None:
        if not filter_id.isdigit():
            return None
        row = self.db.execute("SELECT json FROM filters WHERE user_id = ? AND filter_id = ?",
                              (user_id, int(filter_id))).fetchone()
        return json.loads(row[0]) if row else None
