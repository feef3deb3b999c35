"""Numbered schema migrations. Append only: never edit a migration that has shipped."""

MIGRATIONS: list[tuple[int, str]] = [
    (1, """
CREATE TABLE users (
    user_id TEXT PRIMARY KEY,
    password_hash TEXT,
    displayname TEXT,
    avatar_url TEXT,
    is_admin INTEGER NOT NULL DEFAULT 0,
    created_ts INTEGER NOT NULL
);
CREATE TABLE access_tokens (
    token_hash BLOB PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(user_id),
    device_id TEXT NOT NULL,
    created_ts INTEGER NOT NULL
);
CREATE INDEX access_tokens_user ON access_tokens(user_id);
CREATE TABLE server_signing_keys (
    key_id TEXT PRIMARY KEY,
    seed TEXT NOT NULL,
    created_ts INTEGER NOT NULL,
    expired_ts INTEGER
);
CREATE TABLE rooms (
    room_id TEXT PRIMARY KEY,
    room_version TEXT NOT NULL,
    creator TEXT NOT NULL,
    is_public INTEGER NOT NULL DEFAULT 0,
    room_type TEXT,
    created_ts INTEGER NOT NULL
);
CREATE TABLE events (
    stream_ordering INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    room_id TEXT NOT NULL,
    type TEXT NOT NULL,
    state_key TEXT,
    sender TEXT NOT NULL,
    depth INTEGER NOT NULL,
    origin_server_ts INTEGER NOT NULL,
    txn_id TEXT,
    json TEXT NOT NULL
);
CREATE INDEX events_room_stream ON events(room_id, stream_ordering);
CREATE TABLE current_state (
    room_id TEXT NOT NULL,
    type TEXT NOT NULL,
    state_key TEXT NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (room_id, type, state_key)
);
CREATE TABLE memberships (
    room_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    membership TEXT NOT NULL,
    event_id TEXT NOT NULL,
    stream_ordering INTEGER NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX memberships_user ON memberships(user_id, membership);
CREATE TABLE room_aliases (
    alias TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    creator TEXT NOT NULL
);
CREATE INDEX room_aliases_room ON room_aliases(room_id);
CREATE TABLE account_data (
    user_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    type TEXT NOT NULL,
    content TEXT NOT NULL,
    stream_ordering INTEGER NOT NULL,
    PRIMARY KEY (user_id, room_id, type)
);
CREATE INDEX account_data_stream ON account_data(user_id, stream_ordering);
CREATE TABLE txn_ids (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    txn_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (user_id, device_id, txn_id)
);
CREATE TABLE filters (
    user_id TEXT NOT NULL,
    filter_id INTEGER NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (user_id, filter_id)
)
"""),
    (2, """
ALTER TABLE events ADD COLUMN outlier INTEGER NOT NULL DEFAULT 0;
CREATE TABLE remote_server_keys (
    server_name TEXT NOT NULL,
    key_id TEXT NOT NULL,
    verify_key TEXT NOT NULL,
    valid_until_ts INTEGER NOT NULL,
    expired_ts INTEGER,
    fetched_ts INTEGER NOT NULL,
    key_json TEXT,
    PRIMARY KEY (server_name, key_id)
);
CREATE TABLE received_transactions (
    origin TEXT NOT NULL,
    txn_id TEXT NOT NULL,
    response TEXT NOT NULL,
    received_ts INTEGER NOT NULL,
    PRIMARY KEY (origin, txn_id)
);
CREATE TABLE federation_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    destination TEXT NOT NULL,
    kind TEXT NOT NULL,
    json TEXT NOT NULL,
    created_ts INTEGER NOT NULL
);
CREATE INDEX federation_outbox_dest ON federation_outbox(destination, id)
"""),
    # A remote server's key response is stored once per server, not once per key it lists
    # (a response listing many keys was stored that many times). Keeps the newest response of
    # each server; the per-key rows keep only the keys.
    (3, """
CREATE TABLE remote_server_key_responses (
    server_name TEXT PRIMARY KEY,
    response_json TEXT NOT NULL,
    valid_until_ts INTEGER NOT NULL,
    fetched_ts INTEGER NOT NULL
);
INSERT OR REPLACE INTO remote_server_key_responses
    (server_name, response_json, valid_until_ts, fetched_ts)
    SELECT server_name, key_json, valid_until_ts, fetched_ts FROM remote_server_keys
    WHERE key_json IS NOT NULL AND expired_ts IS NULL ORDER BY fetched_ts;
UPDATE remote_server_keys SET key_json = NULL
"""),
    # The room's host's order of each event (homeserver/ordering.py): on the host its own
    # stream_ordering, on a resident what the host said. NULL for events stored before.
    (4, """
ALTER TABLE events ADD COLUMN room_order INTEGER;
CREATE INDEX events_room_order ON events(room_id, room_order)
"""),
    # Push rules: each user's own rules (position orders a kind, smallest first), the user's
    # changes to server-default rules (enabled, actions), pushers, and per-user notifying
    # events not yet read (with the position they were read up to).
    (5, """
CREATE TABLE push_rules (
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    rule_json TEXT NOT NULL,
    PRIMARY KEY (user_id, kind, rule_id)
);
CREATE TABLE push_rule_defaults (
    user_id TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    enabled INTEGER,
    actions_json TEXT,
    PRIMARY KEY (user_id, rule_id)
);
CREATE TABLE pushers (
    user_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    pushkey TEXT NOT NULL,
    pusher_json TEXT NOT NULL,
    created_ts INTEGER NOT NULL,
    PRIMARY KEY (user_id, app_id, pushkey)
);
CREATE INDEX pushers_key ON pushers(app_id, pushkey);
CREATE TABLE push_notifications (
    user_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    stream_ordering INTEGER NOT NULL,
    highlight INTEGER NOT NULL,
    PRIMARY KEY (user_id, room_id, stream_ordering)
);
CREATE TABLE push_read_upto (
    user_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    stream_ordering INTEGER NOT NULL,
    PRIMARY KEY (user_id, room_id)
)
"""),
    # Read receipts (m.read, m.read.private; threaded), local and from other servers: one row
    # per (room, type, user, thread), at a position on the sync stream. stream_marks keeps the
    # furthest position handed out for what is not stored (typing), so the counter never goes
    # back behind a token a client holds after a restart.
    (6, """
CREATE TABLE receipts (
    room_id TEXT NOT NULL,
    receipt_type TEXT NOT NULL,
    user_id TEXT NOT NULL,
    thread_id TEXT NOT NULL DEFAULT '',
    event_id TEXT NOT NULL,
    ts INTEGER NOT NULL,
    stream_ordering INTEGER NOT NULL,
    PRIMARY KEY (room_id, receipt_type, user_id, thread_id)
);
CREATE INDEX receipts_room_stream ON receipts(room_id, stream_ordering);
CREATE TABLE stream_marks (
    name TEXT PRIMARY KEY,
    pos INTEGER NOT NULL
)
"""),
    # The media repository: one row per file we hold, our uploads (origin = our server name)
    # and the cached copies of other servers' media. The file itself is on disk, named by its
    # media ID (the folder by origin); the sha256 lets operators check it. media_pending: IDs
    # handed out by /create whose bytes are still to come (async upload).
    (7, """
CREATE TABLE media (
    origin TEXT NOT NULL,
    media_id TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    upload_name TEXT,
    sha256 TEXT NOT NULL,
    user_id TEXT,
    created_ts INTEGER NOT NULL,
    PRIMARY KEY (origin, media_id)
);
CREATE INDEX media_user ON media(user_id, created_ts);
CREATE TABLE media_pending (
    media_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    expires_ts INTEGER NOT NULL
);
CREATE INDEX media_pending_user ON media_pending(user_id)
"""),
    # Relations (m.relates_to) indexed as events are stored: one row per relating event, in
    # its own room (homeserver/storage/relations.py). aggregation_key: an annotation's key.
    (8, """
CREATE TABLE event_relations (
    event_id TEXT PRIMARY KEY,
    relates_to_id TEXT NOT NULL,
    rel_type TEXT NOT NULL,
    room_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    type TEXT NOT NULL,
    stream_ordering INTEGER NOT NULL,
    aggregation_key TEXT
);
CREATE INDEX event_relations_parent ON event_relations(relates_to_id, rel_type, stream_ordering);
CREATE INDEX event_relations_room ON event_relations(room_id, rel_type, stream_ordering)
"""),
    # Devices: one row per (user, device) with its display name and when/where it was last
    # seen (flushed from memory, not written per request). Devices of tokens issued before
    # this migration are backfilled from access_tokens. Presence: each user's last-known state
    # (ours and other servers'), at its position on the sync stream.
    (9, """
CREATE TABLE devices (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    display_name TEXT,
    last_seen_ts INTEGER,
    last_seen_ip TEXT,
    created_ts INTEGER NOT NULL,
    PRIMARY KEY (user_id, device_id)
);
INSERT OR IGNORE INTO devices (user_id, device_id, created_ts)
    SELECT user_id, device_id, MIN(created_ts) FROM access_tokens GROUP BY user_id, device_id;
CREATE INDEX access_tokens_device ON access_tokens(user_id, device_id);
CREATE TABLE presence (
    user_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    status_msg TEXT,
    last_active_ts INTEGER NOT NULL,
    stream_ordering INTEGER NOT NULL
)
"""),
    # HTTP pusher delivery: one row per (pusher, notifying event) not yet taken by the push
    # gateway, written in the transaction that records the notification; delivered in id order
    # per pusher, deleted once the gateway answered (or the notification was given up on).
    (10, """
CREATE TABLE push_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    pushkey TEXT NOT NULL,
    room_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    tweaks_json TEXT NOT NULL,
    created_ts INTEGER NOT NULL
);
CREATE INDEX push_queue_pusher ON push_queue(user_id, app_id, pushkey, id)
"""),
    # The user directory (homeserver/storage/user_directory.py): every user seen joined to a
    # room, local or remote, with the profile of their latest join event, and a full-text index
    # of user ID and display name for prefix-of-word search. Kept up to date by triggers on
    # memberships, so every path that stores a membership (our events, federation, joins
    # adopting a remote room's state) updates it in the same transaction. Display names that
    # are not strings or longer than 256 characters, and avatars that are not mxc:// URIs of
    # at most 512, are not taken. Event reports (/rooms/{id}/report/{eventId}) for admins.
    (11, """
CREATE TABLE user_directory (
    user_id TEXT PRIMARY KEY,
    display_name TEXT,
    avatar_url TEXT
);
CREATE VIRTUAL TABLE user_directory_search USING fts5(
    user_id, display_name, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
CREATE VIEW user_directory_profiles AS
    SELECT e.event_id AS event_id,
        CASE WHEN json_type(e.json, '$.content.displayname') = 'text'
             AND length(json_extract(e.json, '$.content.displayname')) BETWEEN 1 AND 256
             THEN json_extract(e.json, '$.content.displayname') END AS display_name,
        CASE WHEN json_type(e.json, '$.content.avatar_url') = 'text'
             AND json_extract(e.json, '$.content.avatar_url') LIKE 'mxc://%'
             AND length(json_extract(e.json, '$.content.avatar_url')) <= 512
             THEN json_extract(e.json, '$.content.avatar_url') END AS avatar_url
    FROM events e;
INSERT INTO user_directory (user_id, display_name, avatar_url)
    SELECT m.user_id, p.display_name, p.avatar_url
    FROM memberships m JOIN user_directory_profiles p ON p.event_id = m.event_id
    WHERE m.membership = 'join' ORDER BY m.stream_ordering
    ON CONFLICT (user_id) DO UPDATE SET display_name = excluded.display_name,
        avatar_url = excluded.avatar_url;
INSERT INTO user_directory_search (rowid, user_id, display_name)
    SELECT rowid, user_id, coalesce(display_name, '') FROM user_directory;
CREATE TRIGGER user_directory_insert AFTER INSERT ON user_directory BEGIN
    INSERT INTO user_directory_search (rowid, user_id, display_name)
        VALUES (NEW.rowid, NEW.user_id, coalesce(NEW.display_name, ''));
END;
CREATE TRIGGER user_directory_update AFTER UPDATE ON user_directory BEGIN
    DELETE FROM user_directory_search WHERE rowid = OLD.rowid;
    INSERT INTO user_directory_search (rowid, user_id, display_name)
        VALUES (NEW.rowid, NEW.user_id, coalesce(NEW.display_name, ''));
END;
CREATE TRIGGER user_directory_on_join AFTER INSERT ON memberships
        WHEN NEW.membership = 'join' BEGIN
    INSERT INTO user_directory (user_id, display_name, avatar_url)
        SELECT NEW.user_id, display_name, avatar_url FROM user_directory_profiles
        WHERE event_id = NEW.event_id
        ON CONFLICT (user_id) DO UPDATE SET display_name = excluded.display_name,
            avatar_url = excluded.avatar_url
        WHERE display_name IS NOT excluded.display_name OR avatar_url IS NOT excluded.avatar_url;
END;
CREATE TRIGGER user_directory_on_rejoin AFTER UPDATE OF event_id ON memberships
        WHEN NEW.membership = 'join' BEGIN
    INSERT INTO user_directory (user_id, display_name, avatar_url)
        SELECT NEW.user_id, display_name, avatar_url FROM user_directory_profiles
        WHERE event_id = NEW.event_id
        ON CONFLICT (user_id) DO UPDATE SET display_name = excluded.display_name,
            avatar_url = excluded.avatar_url
        WHERE display_name IS NOT excluded.display_name OR avatar_url IS NOT excluded.avatar_url;
END;
CREATE TABLE event_reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id TEXT NOT NULL,
    event_id TEXT,
    user_id TEXT NOT NULL,
    reason TEXT,
    score INTEGER,
    received_ts INTEGER NOT NULL
);
CREATE INDEX event_reports_received ON event_reports(received_ts)
"""),
    # Per-thread unread counts (threads, MSC3773/MSC3771): each notification is in a thread
    # (its root's event ID) or the main timeline ('main'); push_read_upto stays the unthreaded
    # read position (it applies to every thread, so the positions kept so far keep working),
    # push_read_upto_threads holds the threaded ones ('main' or a root), each thread's count
    # being what is after both.
    (12, """
ALTER TABLE push_notifications ADD COLUMN thread_id TEXT NOT NULL DEFAULT 'main';
CREATE TABLE push_read_upto_threads (
    user_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    stream_ordering INTEGER NOT NULL,
    PRIMARY KEY (user_id, room_id, thread_id)
)
"""),
    # Audio-room recordings (homeserver/handlers/recording.py): one row per recording file,
    # from start to the replay it became; unfinished ones are mixed at startup.
    (13, """
CREATE TABLE recordings (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    path TEXT NOT NULL,
    started_ts INTEGER NOT NULL,
    started_by TEXT NOT NULL,
    ended_ts INTEGER,
    stopped_by TEXT,
    state TEXT NOT NULL,
    content_uri TEXT,
    event_id TEXT
);
CREATE INDEX recordings_state ON recordings(state);
CREATE INDEX recordings_room ON recordings(room_id)
"""),
    # 15: an audio room's replays (messages with an org.audiorooms.replay object) for the
    # hallway, found without reading the room's other messages. A redaction rewrites the
    # event's JSON without that object, so a redacted replay leaves the index by itself.
    (15, """
CREATE INDEX events_audio_replays ON events(room_id, stream_ordering)
    WHERE type = 'm.room.message'
    AND json_type(json, '$.content."org.audiorooms.replay"') = 'object'
"""),
    # 16: guest accounts (register?kind=guest, upgraded in place by a later /register) and
    # access tokens that expire (guests'; NULL: never).
    (16, """
ALTER TABLE users ADD COLUMN is_guest INTEGER NOT NULL DEFAULT 0;
ALTER TABLE access_tokens ADD COLUMN valid_until_ms INTEGER
"""),
    # 17: end-to-end encryption keys (homeserver/handlers/e2e_keys.py): devices' identity
    # keys, one-time and fallback keys, cross-signing keys and the signatures others add;
    # device list changes on the sync stream; other servers' users' devices as last heard.
    (17, """
CREATE TABLE e2e_device_keys (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (user_id, device_id)
);
CREATE TABLE e2e_one_time_keys (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    key_id TEXT NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (user_id, device_id, algorithm, key_id)
);
CREATE TABLE e2e_fallback_keys (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    key_id TEXT NOT NULL,
    json TEXT NOT NULL,
    used INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, device_id, algorithm)
);
CREATE TABLE e2e_cross_signing_keys (
    user_id TEXT NOT NULL,
    usage TEXT NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (user_id, usage)
);
CREATE TABLE e2e_signatures (
    user_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signer TEXT NOT NULL,
    signer_key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (user_id, key_id, signer, signer_key_id)
);
CREATE TABLE device_list_changes (
    user_id TEXT NOT NULL,
    stream_ordering INTEGER NOT NULL,
    sent INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX device_list_changes_pos ON device_list_changes(stream_ordering);
CREATE INDEX device_list_changes_user ON device_list_changes(user_id, stream_ordering);
CREATE TABLE remote_devices (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (user_id, device_id)
);
CREATE TABLE remote_device_lists (
    user_id TEXT PRIMARY KEY,
    stream_id INTEGER NOT NULL
)
"""),
    # 18: to-device messages (homeserver/handlers/to_device.py). The inbox holds each device's
    # messages at their place on the sync stream until the device acknowledges them (a later
    # since token); the send transactions make /sendToDevice idempotent; the received message
    # IDs drop a remote server's retried m.direct_to_device EDUs. Remote recipients' EDUs wait
    # in federation_outbox (kind 'edu') like PDUs do. A deleted device's inbox goes with it.
    (18, """
CREATE TABLE device_inbox (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    stream_pos INTEGER NOT NULL,
    sender TEXT NOT NULL,
    type TEXT NOT NULL,
    content TEXT NOT NULL,
    PRIMARY KEY (user_id, device_id, stream_pos)
);
CREATE TABLE to_device_txns (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    txn_id TEXT NOT NULL,
    created_ts INTEGER NOT NULL,
    PRIMARY KEY (user_id, device_id, txn_id)
);
CREATE INDEX to_device_txns_ts ON to_device_txns(created_ts);
CREATE TABLE to_device_received (
    origin TEXT NOT NULL,
    message_id TEXT NOT NULL,
    received_ts INTEGER NOT NULL,
    PRIMARY KEY (origin, message_id)
);
CREATE INDEX to_device_received_ts ON to_device_received(received_ts);
CREATE TRIGGER device_inbox_on_device_delete AFTER DELETE ON devices BEGIN
    DELETE FROM device_inbox WHERE user_id = OLD.user_id AND device_id = OLD.device_id;
END
"""),
    # 19: server-side room key backups (homeserver/handlers/room_keys.py). Each user's backup
    # versions (numbered per user, never reused: a deleted one keeps its row, marked deleted,
    # and loses its keys) and the session keys in them. A deleted device also takes its
    # end-to-end keys with it, whichever path deleted it (logout, logout/all, /devices).
    (19, """
CREATE TABLE room_key_versions (
    user_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    algorithm TEXT NOT NULL,
    auth_data TEXT NOT NULL,
    etag INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, version)
);
CREATE TABLE room_keys (
    user_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    room_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    first_message_index INTEGER NOT NULL,
    forwarded_count INTEGER NOT NULL,
    is_verified INTEGER NOT NULL,
    session_data TEXT NOT NULL,
    PRIMARY KEY (user_id, version, room_id, session_id)
);
CREATE TRIGGER e2e_keys_on_device_delete AFTER DELETE ON devices BEGIN
    DELETE FROM e2e_device_keys WHERE user_id = OLD.user_id AND device_id = OLD.device_id;
    DELETE FROM e2e_one_time_keys WHERE user_id = OLD.user_id AND device_id = OLD.device_id;
    DELETE FROM e2e_fallback_keys WHERE user_id = OLD.user_id AND device_id = OLD.device_id;
    DELETE FROM e2e_signatures WHERE user_id = OLD.user_id AND key_id = OLD.device_id;
END
"""),
    # 20: operators (homeserver/handlers/admin*.py, Synapse's admin API). Deactivated and
    # erased accounts; registration tokens with their pending/completed uses (as Synapse); rooms
    # an admin blocked (local joins refused); room deletions, run in the background and asked
    # after by delete_id.
    (20, """
ALTER TABLE users ADD COLUMN deactivated INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN erased INTEGER NOT NULL DEFAULT 0;
CREATE TABLE registration_tokens (
    token TEXT PRIMARY KEY,
    uses_allowed INTEGER,
    pending INTEGER NOT NULL DEFAULT 0,
    completed INTEGER NOT NULL DEFAULT 0,
    expiry_time INTEGER
);
CREATE TABLE blocked_rooms (
    room_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    blocked_ts INTEGER NOT NULL
);
CREATE TABLE room_deletions (
    delete_id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    status TEXT NOT NULL,
    result TEXT,
    error TEXT,
    created_ts INTEGER NOT NULL
);
CREATE INDEX room_deletions_room ON room_deletions(room_id, created_ts)
"""),
    # received_transactions is pruned by age (storage/federation.py): index what it sorts by
    (21, """
CREATE INDEX IF NOT EXISTS received_transactions_origin_ts
    ON received_transactions(origin, received_ts);
CREATE INDEX IF NOT EXISTS received_transactions_ts ON received_transactions(received_ts);
"""),
    # each federation destination's retry state (the admin API's destinations; Synapse's
    # ``destinations``), kept by the outbound queue across restarts
    (22, """
CREATE TABLE federation_destinations (
    destination TEXT PRIMARY KEY,
    failure_ts INTEGER,
    retry_last_ts INTEGER NOT NULL,
    retry_interval INTEGER NOT NULL,
    last_successful_stream_ordering INTEGER
)
"""),
]
