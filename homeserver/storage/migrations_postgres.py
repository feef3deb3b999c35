"""What the numbered migrations (migrations.py) are on PostgreSQL.

Most statements carry over through the dialect rewrite (sql_dialect.translate_ddl). The ones
that cannot are SQLite's triggers and its FTS5 index; they are written here, keyed by the name
of the object they create, so the list of migrations and their numbers stay one.

The user directory needs no separate full-text table on PostgreSQL: its search reads
``user_directory`` itself (UserDirectoryStore), so the FTS5 table and the two triggers that
fed it have no counterpart.
"""
from __future__ import annotations

import re

from .sql_dialect import translate_ddl

# Installed before the migrations, replaced on every start (CREATE OR REPLACE): functions the
# stores' SQLite SQL calls, with SQLite's meaning. IMMUTABLE so indexes may use them.
COMPAT_FUNCTIONS = [
    # SQLite's json_extract returns the value as SQL: text for strings, numbers for numbers;
    # here always text, which every comparison in the stores is with.
    """CREATE OR REPLACE FUNCTION json_extract(doc text, path text[]) RETURNS text
       LANGUAGE sql IMMUTABLE AS 'SELECT (doc::jsonb) #>> path'""",
    # SQLite's names for JSON types: 'text', 'integer', 'real', 'true', 'false', 'null',
    # 'object', 'array'; NULL when the path is absent.
    """CREATE OR REPLACE FUNCTION json_type(doc text, path text[]) RETURNS text
       LANGUAGE sql IMMUTABLE AS $$
       SELECT CASE jsonb_typeof((doc::jsonb) #> path)
           WHEN 'string' THEN 'text'
           WHEN 'number' THEN CASE WHEN ((doc::jsonb) #>> path) ~ '^-?[0-9]+$'
                                   THEN 'integer' ELSE 'real' END
           WHEN 'boolean' THEN ((doc::jsonb) #>> path)
           ELSE jsonb_typeof((doc::jsonb) #> path) END $$""",
]

_JOIN_TO_DIRECTORY = """
    IF NEW.membership = 'join' THEN
        INSERT INTO user_directory (user_id, display_name, avatar_url)
            SELECT NEW.user_id, p.display_name, p.avatar_url FROM user_directory_profiles p
            WHERE p.event_id = NEW.event_id
            ON CONFLICT (user_id) DO UPDATE SET display_name = EXCLUDED.display_name,
                avatar_url = EXCLUDED.avatar_url
            WHERE user_directory.display_name IS DISTINCT FROM EXCLUDED.display_name
               OR user_directory.avatar_url IS DISTINCT FROM EXCLUDED.avatar_url;
    END IF;
    RETURN NULL;"""

_DEVICE_INBOX = """
    DELETE FROM device_inbox WHERE user_id = OLD.user_id AND device_id = OLD.device_id;
    RETURN NULL;"""

_E2E_KEYS = """
    DELETE FROM e2e_device_keys WHERE user_id = OLD.user_id AND device_id = OLD.device_id;
    DELETE FROM e2e_one_time_keys WHERE user_id = OLD.user_id AND device_id = OLD.device_id;
    DELETE FROM e2e_fallback_keys WHERE user_id = OLD.user_id AND device_id = OLD.device_id;
    DELETE FROM e2e_signatures WHERE user_id = OLD.user_id AND key_id = OLD.device_id;
    RETURN NULL;"""

# trigger name -> (when, table, body); None: no counterpart (see the module docstring)
_TRIGGERS: dict[str, tuple[str, str, str] | None] = {
    "user_directory_insert": None,
    "user_directory_update": None,
    "user_directory_on_join": ("AFTER INSERT", "memberships", _JOIN_TO_DIRECTORY),
    "user_directory_on_rejoin": ("AFTER UPDATE OF event_id", "memberships", _JOIN_TO_DIRECTORY),
    "device_inbox_on_device_delete": ("AFTER DELETE", "devices", _DEVICE_INBOX),
    "e2e_keys_on_device_delete": ("AFTER DELETE", "devices", _E2E_KEYS),
}

_CREATE_TRIGGER = re.compile(r"\s*CREATE\s+TRIGGER\s+([A-Za-z_][A-Za-z0-9_]*)", re.I)
_FTS = re.compile(r"\s*(CREATE\s+VIRTUAL\s+TABLE|INSERT\s+INTO)\s+user_directory_search\b",
                  re.I)


def postgres_statements(stmt: str) -> list[str]:
    """The PostgreSQL statements for one SQLite migration statement."""
    m = _CREATE_TRIGGER.match(stmt)
    if m:
        name = m.group(1)
        if name not in _TRIGGERS:
            raise ValueError(f"migration trigger {name} has no PostgreSQL form"
                             " (add it to migrations_postgres.py)")
        spec = _TRIGGERS[name]
        if spec is None:
            return []
        when, table, body = spec
        return [
            f"CREATE OR REPLACE FUNCTION {name}_fn() RETURNS trigger LANGUAGE plpgsql AS $$"
            f"\nBEGIN{body}\nEND $$",
            f"CREATE TRIGGER {name} {when} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}_fn()",
        ]
    if _FTS.match(stmt):
        return []
    return [translate_ddl(stmt)]
