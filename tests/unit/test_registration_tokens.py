"""Registration tokens' uses (as Synapse counts them): pending while a sign-up is under way,
completed when it finishes, given back when its UIA session is abandoned."""
from __future__ import annotations

import time

import pytest

from homeserver.errors import AuthRequired
from homeserver.handlers import registration_tokens as rt
from homeserver.storage.admin import RegistrationTokenStore
from homeserver.storage.database import Database


@pytest.fixture
def tokens(tmp_path):
    db = Database(str(tmp_path / "hs.db"))
    yield rt.RegistrationTokens(RegistrationTokenStore(db), True)
    db.close()


def stage(tokens, auth) -> tuple[str | None, dict]:
    try:
        return tokens.check_stage(auth), {}
    except AuthRequired as e:
        return None, e.to_dict()


def test_abandoned_session_gives_its_pending_use_back(tokens, monkeypatch):
    tokens.create({"token": "abc", "uses_allowed": 1})
    _, first = stage(tokens, None)
    sid = first["session"]
    _, out = stage(tokens, {"type": rt.TOKEN_STAGE, "token": "abc", "session": sid})
    assert out["completed"] == [rt.TOKEN_STAGE]
    assert tokens.get("abc")["pending"] == 1 and not tokens.is_valid("abc")
    # another sign-up cannot take the held use
    _, other = stage(tokens, {"type": rt.TOKEN_STAGE, "token": "abc"})
    assert other["errcode"] == "M_UNAUTHORIZED"
    # an hour later the first session is dropped and the use is free again
    later = time.monotonic() + rt.SESSION_TTL_S + 1
    monkeypatch.setattr(rt.time, "monotonic", lambda: later)
    stage(tokens, None)
    assert tokens.get("abc")["pending"] == 0 and tokens.is_valid("abc")


def test_finished_sign_up_completes_the_use_once(tokens):
    tokens.create({"token": "abc", "uses_allowed": 2})
    _, first = stage(tokens, {"type": rt.TOKEN_STAGE, "token": "abc"})
    sid = first["session"]
    # the same token again in the same session is not counted twice
    stage(tokens, {"type": rt.TOKEN_STAGE, "token": "abc", "session": sid})
    assert tokens.get("abc")["pending"] == 1
    done, _ = stage(tokens, {"type": "m.login.dummy", "session": sid})
    assert done == sid
    tokens.registered(sid)
    tokens.registered(sid)  # a second call changes nothing
    assert tokens.get("abc")["pending"] == 0 and tokens.get("abc")["completed"] == 1
