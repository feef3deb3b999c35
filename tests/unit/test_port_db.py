"""port-db's pieces that need no PostgreSQL: which SQLite tables are copied, in which order,
and how SQLite's loosely typed values become the PostgreSQL columns' types."""
from __future__ import annotations

import sqlite3

import pytest

from homeserver.storage.database import Database
from homeserver.storage.port_db import (
    Convert,
    PortError,
    TableCopy,
    check_source_version,
    current_schema_version,
    dependency_order,
    open_source,
    redact,
    source_tables,
)


def test_copied_tables_are_the_schemas_own_not_sqlites_nor_the_fulltext_index(tmp_path):
    Database(tmp_path / "hs.db").close()
    src = open_source(str(tmp_path / "hs.db"))
    assert check_source_version(src, "hs.db") > 0
    tables = source_tables(src)
    assert {"users", "events", "access_tokens", "user_directory"} <= set(tables)
    assert not [t for t in tables if t.startswith(("sqlite_", "user_directory_search"))]
    assert "schema_migrations" not in tables and "user_directory_profiles" not in tables
    assert tables["access_tokens"].refers_to == {"users"}
    order = dependency_order(tables)
    assert order.index("users") < order.index("access_tokens")
    with pytest.raises(sqlite3.OperationalError):  # read-only
        src.execute("INSERT INTO stream_marks VALUES ('x', 1)")


def test_an_outdated_or_foreign_file_is_refused(tmp_path):
    path = tmp_path / "hs.db"
    Database(path).close()
    with sqlite3.connect(path) as c:
        c.execute("DELETE FROM schema_migrations WHERE version = ?", (current_schema_version(),))
    with pytest.raises(PortError, match="Upgrade it first"):
        check_source_version(open_source(str(path)), str(path))
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(PortError, match="not a homeserver database"):
        check_source_version(open_source(str(other)), str(other))
    (tmp_path / "junk.db").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(PortError, match="cannot read it"):
        open_source(str(tmp_path / "junk.db"))


def test_a_foreign_key_cycle_is_an_error_not_a_hang():
    a = TableCopy("a", [], refers_to={"b"})
    b = TableCopy("b", [], refers_to={"a"})
    with pytest.raises(PortError, match="cycle"):
        dependency_order({"a": a, "b": b})


def test_values_take_the_postgres_column_types():
    t = TableCopy("users", ["created_ts"])
    conv = Convert(t)
    to_int = conv.for_type("created_ts", "bigint")
    assert to_int(5) == 5 and to_int("12") == 12 and to_int(3.0) == 3 and to_int(None) is None
    with pytest.raises(PortError, match=r"users.created_ts: 'soon' is not an integer"):
        to_int("soon")
    assert conv.for_type("token_hash", "bytea")("abc") == b"abc"
    to_text = conv.for_type("displayname", "text")
    assert to_text(7) == "7" and to_text(b"caf\xc3\xa9") == "café"
    assert to_text("a\x00b") == "ab" and t.nul_stripped == 1
    assert conv.for_type("x", "double precision")(2) == 2.0
    assert conv.for_type("x", "boolean")(1) is True


def test_passwords_stay_out_of_messages():
    assert redact("postgresql://hs:s3cret@db:5432/hs") == "postgresql://hs:***@db:5432/hs"
    assert redact("postgresql://postgres@127.0.0.1:55432/x") == \
        "postgresql://postgres@127.0.0.1:55432/x"


def test_a_database_of_another_server_name_is_refused_before_postgres_is_touched(tmp_path):
    from homeserver.config import config_from_dict
    from homeserver.storage.port_db import port_db

    path = tmp_path / "hs.db"
    db = Database(path)
    db.execute("INSERT INTO users (user_id, password_hash, created_ts) VALUES (?, ?, ?)",
               ("@zed:old.example", "x", 1))
    db.close()
    config = config_from_dict({
        "server_name": "new.example",
        "database": {"engine": "postgres", "url": "postgresql://nobody@127.0.0.1:1/none"}})
    locked: list[str] = []
    with pytest.raises(PortError, match="'old.example'.*'new.example'"):
        port_db(config, str(path), lock=lambda p: locked.append(p), say=lambda _: None)
    assert locked == [str(path)]  # taken before the file was read
    sqlite_config = config_from_dict({"server_name": "old.example"})
    with pytest.raises(PortError, match="database.engine is 'sqlite'"):
        port_db(sqlite_config, str(path), lock=lambda p: None)
