"""Key responses cost little whatever they hold; they are stored once per server."""
from __future__ import annotations

import json
import time

import pytest

import federation.signing
from federation.exceptions import SignatureError
from federation.keyring import (
    MAX_KEYS_PER_RESPONSE,
    NotaryRequestError,
    check_key_response,
    check_notary_request,
)
from federation.signing import SigningKey, sign_json
from homeserver.storage import database as database_module
from homeserver.storage.database import Database
from homeserver.storage.federation import KeyCacheStore
from homeserver.storage.migrations import MIGRATIONS

SERVER = "keys.example"


def response(n_keys: int, n_old: int = 0, signers: int | None = None, **extra) -> dict:
    keys = [SigningKey.generate(f"k{i}") for i in range(n_keys)]
    body = {"server_name": SERVER, "valid_until_ts": int(time.time() * 1000) + 3600_000,
            "verify_keys": {k.key_id: {"key": k.verify_key.public_base64} for k in keys},
            "old_verify_keys": {f"ed25519:old{i}": {"key": keys[0].verify_key.public_base64,
                                                    "expired_ts": 1} for i in range(n_old)},
            **extra}
    for k in keys[:signers if signers is not None else n_keys]:
        body = sign_json(body, SERVER, k)
    return body


def now_ms() -> int:
    return int(time.time() * 1000)


def test_a_response_is_encoded_once_however_many_keys_sign_it(monkeypatch):
    body = response(MAX_KEYS_PER_RESPONSE)
    calls: list[dict] = []
    real = federation.signing._signing_bytes

    def counting(obj: dict) -> bytes:
        calls.append(obj)
        return real(obj)

    monkeypatch.setattr(federation.signing, "_signing_bytes", counting)
    checked = check_key_response(SERVER, body, now_ms())
    assert len(checked.keys) == MAX_KEYS_PER_RESPONSE
    assert len(calls) == 1


@pytest.mark.parametrize("n_keys,n_old", [(33, 0), (1, 32), (20, 13)])
def test_more_than_32_keys_are_refused(n_keys, n_old):
    with pytest.raises(SignatureError, match="at most 32"):
        check_key_response(SERVER, response(n_keys, n_old), now_ms())


def test_old_keys_count_but_need_not_sign():
    checked = check_key_response(SERVER, response(1, 31), now_ms())
    assert len(checked.keys) == 32
    assert sum(1 for k in checked.keys if k[3] is not None) == 31


def test_a_response_over_64_kib_is_refused():
    with pytest.raises(SignatureError, match="at most 65536"):
        check_key_response(SERVER, response(1, padding="x" * 70_000), now_ms())


def test_every_listed_key_must_sign():
    with pytest.raises(SignatureError, match="missing signature"):
        check_key_response(SERVER, response(3, signers=2), now_ms())


def test_validity_is_capped_at_seven_days():
    body = response(1, valid_until_ts=now_ms() + 365 * 86400_000)
    checked = check_key_response(SERVER, body, now_ms())
    assert checked.valid_until_ts <= now_ms() + 7 * 86400_000


def test_a_response_is_stored_once_per_server(tmp_path):
    store = KeyCacheStore(Database(tmp_path / "k.db"))
    for _ in range(3):
        store.put_response(check_key_response(SERVER, response(5), now_ms()))
    db = store.db
    assert db.execute("SELECT COUNT(*) FROM remote_server_key_responses").fetchone()[0] == 1
    assert db.execute("SELECT COUNT(*) FROM remote_server_keys WHERE key_json IS NOT NULL"
                      ).fetchone()[0] == 0
    assert (store.response_json(SERVER) or {})["server_name"] == SERVER


def test_migration_3_keeps_the_newest_response_once(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    monkeypatch.setattr(database_module, "MIGRATIONS", [m for m in MIGRATIONS if m[0] <= 2])
    old = Database(path)
    for key_id, fetched, body in (("ed25519:a", 1, {"v": "old"}), ("ed25519:b", 2, {"v": "new"}),
                                  ("ed25519:c", 3, {"v": "retired"})):
        old.execute("INSERT INTO remote_server_keys VALUES (?,?,?,?,?,?,?)",
                    (SERVER, key_id, "key", 10, 5 if key_id == "ed25519:c" else None, fetched,
                     json.dumps(body)))
    old.close()
    monkeypatch.setattr(database_module, "MIGRATIONS", MIGRATIONS)
    db = Database(path)
    assert db.schema_version >= 3
    assert KeyCacheStore(db).response_json(SERVER) == {"v": "new"}
    assert db.execute("SELECT COUNT(*) FROM remote_server_keys WHERE key_json IS NOT NULL"
                      ).fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM remote_server_keys").fetchone()[0] == 3


@pytest.mark.parametrize("wanted,error", [
    ({f"s{i}.example": {} for i in range(21)}, "at most 20"),
    ({"s.example": {f"ed25519:k{i}": {} for i in range(33)}}, "at most 32"),
    ({"s.example/": {}}, "not a valid server name"),
    ({"s.example": []}, "maps each server"),
    (["s.example"], "must be an object"),
])
def test_notary_requests_are_bounded(wanted, error):
    with pytest.raises(NotaryRequestError, match=error):
        check_notary_request(wanted)


def test_notary_request_at_the_limits():
    wanted: dict[str, dict] = {f"s{i}.example": {f"ed25519:k{j}": {} for j in range(32)}
                               for i in range(20)}
    assert check_notary_request(wanted) is wanted
