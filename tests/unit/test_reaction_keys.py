"""Reaction keys: an emoji or a few characters, nothing invisible, nothing long."""
import pytest

from homeserver.config import RateLimit
from homeserver.handlers.reactions import ReactionGate, grapheme_count, reaction_key_error


@pytest.mark.parametrize("key,n", [
    ("👏", 1), ("❤️", 1), ("👍🏽", 1), ("🇫🇷", 1), ("🇫🇷🇩🇪", 2), ("👨🏽‍👩🏽‍👧🏽", 1), ("🏳️‍🌈", 1),
    ("1️⃣", 1), ("🏴󠁧󠁢󠁳󠁣󠁴󠁿", 1), ("+1", 2), ("lol", 3), ("é", 1), ("e\u0301", 1),
])
def test_grapheme_count(key, n):
    assert grapheme_count(key) == n


@pytest.mark.parametrize("content", [
    {"key": "👏"}, {"key": "👨🏽‍👩🏽‍👧🏽"}, {"key": "🏴󠁧󠁢󠁳󠁣󠁴󠁿"}, {"key": "+1"}, {"key": "🔥🔥🔥🔥"},
])
def test_good_keys(content):
    assert reaction_key_error(content) is None


@pytest.mark.parametrize("content", [
    None, [], {}, {"key": ""}, {"key": 1}, {"key": None}, {"key": "x" * 17},
    {"key": "🔥" * 5}, {"key": "hello"}, {"key": "a b"}, {"key": "a\n"}, {"key": "\t"},
    {"key": "\u200b"}, {"key": "\u202eab"}, {"key": "\u0301"}, {"key": "\ue000"},
    {"key": "\ud800"},
])
def test_bad_keys(content):
    assert reaction_key_error(content)


def test_remote_limits_per_sender_and_per_origin_and_only_for_rooms_we_host():
    now = [0.0]

    class NoEvents:
        def has_event(self, event_id):
            return False

    gate = ReactionGate("host", NoEvents(), RateLimit(10, 10), RateLimit(5, 30),  # type: ignore[arg-type]
                        clock=lambda: now[0])

    def pdu(sender, room="!r:host", n=0):
        return {"type": "org.audiorooms.reaction", "room_id": room, "sender": sender,
                "content": {"key": "👏"}, "origin_server_ts": n}

    ok = [gate.admit_pdu("b", pdu("@u:b", n=i)) is None for i in range(30)]
    assert sum(ok) == 20  # one sender: twice the local burst
    ok = [gate.admit_pdu("b", pdu(f"@u{i}:b", n=i)) is None for i in range(30)]
    assert sum(ok) == 10  # the origin's cap (30) is spent: 20 + 10
    assert gate.admit_pdu("c", pdu("@v:c")) is None  # another origin has its own
    assert gate.admit_pdu("b", pdu("@u:b", room="!r:elsewhere", n=99)) is None  # not ours
    assert gate.admit_pdu("evil", pdu("@w:b", n=98)) is None  # not its user: verification's job
    assert gate.admit_pdu("b", {**pdu("@x:b"), "content": {"key": ""}})  # bad key refused
    now[0] += 1.0  # a second later: the origin's rate refills 5
    ok = [gate.admit_pdu("b", pdu(f"@z{i}:b", n=i)) is None for i in range(10)]
    assert sum(ok) == 5
    assert gate.dropped == 10 + 20 + 5
