"""TURN credentials (coturn's REST API) against an independently computed vector; the turn,
well_known and public_baseurl config sections; the user directory's search words."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sqlite3

import pytest

from homeserver.config import ConfigError, config_from_dict
from homeserver.handlers.user_directory import search_words
from homeserver.handlers.voip import turn_credentials
from homeserver.storage.database import Database
from homeserver.storage.database import split_statements as _split
from homeserver.storage.migrations import MIGRATIONS
from homeserver.storage.user_directory import UserDirectoryStore, fts_query

BASE = {"server_name": "example.org"}


def test_turn_credentials_known_vector():
    username, password = turn_credentials("s3cret", "@alice:example.org", 3600,
                                          now=1_700_000_000.9)
    assert username == "1700003600:@alice:example.org"
    # Computed here independently: coturn's check is base64(HMAC-SHA1(secret, username)).
    expected = base64.b64encode(hmac.new(b"s3cret", b"1700003600:@alice:example.org",
                                         hashlib.sha1).digest()).decode()
    assert password == expected
    # The same vector from openssl (`printf %s USERNAME | openssl dgst -sha1 -hmac s3cret
    # -binary | base64`), written out, so a change to both sides is still caught.
    assert password == "DwTxSrYoQgbdbUzNhDKfrCGmqbE="


def test_turn_config():
    cfg = config_from_dict({**BASE, "turn": {"uris": ["turn:turn.example.org?transport=udp",
                                                      "turns:turn.example.org:5349"],
                                             "shared_secret": "x", "user_lifetime_seconds": 600}})
    assert cfg.turn.user_lifetime_seconds == 600
    assert config_from_dict(BASE).turn.uris == []


@pytest.mark.parametrize("turn, key", [
    ({"uris": ["turn:x"]}, "turn.shared_secret"),
    ({"uris": ["http://x"], "shared_secret": "s"}, "turn.uris"),
    ({"uris": ["turn:x y"], "shared_secret": "s"}, "turn.uris"),
    ({"shared_secret": ""}, "turn.shared_secret"),
    ({"user_lifetime_seconds": 0}, "turn.user_lifetime_seconds"),
    ({"uris": "turn:x"}, "turn.uris"),
    ({"secret": "s"}, "turn.secret"),
])
def test_bad_turn_config(turn, key):
    with pytest.raises(ConfigError) as e:
        config_from_dict({**BASE, "turn": turn})
    assert str(e.value).startswith(key + ":"), str(e.value)


def test_well_known_config():
    cfg = config_from_dict({**BASE, "public_baseurl": "https://matrix.example.org/",
                            "well_known": {"server": "matrix.example.org:443",
                                           "client_base_url": "https://m.example.org",
                                           "identity_server": "https://id.example.org"}})
    assert cfg.well_known.server == "matrix.example.org:443"


@pytest.mark.parametrize("data, key", [
    ({"public_baseurl": "matrix.example.org"}, "public_baseurl"),
    ({"public_baseurl": "ftp://matrix.example.org/"}, "public_baseurl"),
    ({"public_baseurl": "https://matrix.example.org/?x=1"}, "public_baseurl"),
    ({"well_known": {"client_base_url": "https://bad_host/"}}, "well_known.client_base_url"),
    ({"well_known": {"client_base_url": "https://user@m.example.org/"}},
     "well_known.client_base_url"),
    ({"well_known": {"identity_server": "https://id.example.org/#x"}},
     "well_known.identity_server"),
    ({"well_known": {"server": "https://matrix.example.org"}}, "well_known.server"),
    ({"well_known": {"server": "matrix.example.org:99999"}}, "well_known.server"),
    ({"well_known": {"servr": "matrix.example.org"}}, "well_known.servr"),
])
def test_bad_well_known_config(data, key):
    with pytest.raises(ConfigError) as e:
        config_from_dict({**BASE, **data})
    assert str(e.value).startswith(key + ":"), str(e.value)


def test_search_words_and_fts_query():
    assert search_words("  Alice   smi ") == ["Alice", "smi"]
    assert search_words("@ : \"") == []
    assert len(search_words("a " * 50)) == 8
    assert fts_query(['al"ice', "b*"]) == '"al""ice"* "b*"*'


def test_migration_fills_the_directory_from_existing_memberships(tmp_path):
    """A database from before migration 11 gets a directory of the users joined then, with
    the profile of each one's latest join; later memberships keep it up to date."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,"
                 " applied_ts INTEGER NOT NULL)")
    for version, sql in MIGRATIONS:
        if version < 11:
            for stmt in _split(sql):
                conn.execute(stmt)
            conn.execute("INSERT INTO schema_migrations VALUES (?, 0)", (version,))

    def member(pos, room, user, membership, content):
        eid = f"$e{pos}"
        ev = {"type": "m.room.member", "state_key": user, "room_id": room,
              "content": {"membership": membership, **content}}
        conn.execute("INSERT INTO events (stream_ordering, event_id, room_id, type, state_key,"
                     " sender, depth, origin_server_ts, json) VALUES (?,?,?,?,?,?,?,?,?)",
                     (pos, eid, room, "m.room.member", user, user, pos, 0, json.dumps(ev)))
        conn.execute("INSERT OR REPLACE INTO memberships VALUES (?,?,?,?,?)",
                     (room, user, membership, eid, pos))
    member(1, "!a:x", "@old:x", "join", {"displayname": "Old Name"})
    member(2, "!b:x", "@old:x", "join", {"displayname": "New Name", "avatar_url": "mxc://x/y"})
    member(3, "!a:x", "@gone:x", "leave", {"displayname": "Gone"})
    member(4, "!a:x", "@odd:x", "join", {"displayname": {"not": "a string"},
                                         "avatar_url": "https://not.mxc/"})
    member(5, "!a:x", "@long:x", "join", {"displayname": "x" * 257})
    conn.close()

    db = Database(path)
    assert db.schema_version >= 11
    store = UserDirectoryStore(db)
    assert store.get("@old:x") == ("@old:x", "New Name", "mxc://x/y")
    assert store.get("@gone:x") is None
    assert store.get("@odd:x") == ("@odd:x", None, None)
    assert store.get("@long:x") == ("@long:x", None, None)
    # Searchable: @old shares !a with @odd.
    assert [r[0] for r in store.search("@odd:x", ["new"], 10)] == ["@old:x"]
    assert store.search("@odd:x", ["old"], 10)[0][0] == "@old:x"
    db.close()
