"""homeserver.handlers.room_host.JoinTemplates: the host's bounded memory of the make_join
templates it issued, which a send_join must be built from."""
from __future__ import annotations

from homeserver.handlers.room_host import JoinTemplates, template_fields

R, U = "!r:a", "@u:b"


def fields(n: int) -> tuple:
    return template_fields({"prev_events": [f"$p{n}"], "depth": n, "auth_events": ["$c"]})


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_remembers_what_was_issued_per_room_and_user():
    t = JoinTemplates()
    t.remember(R, U, fields(1))
    assert t.issued(R, U) == [fields(1)]
    assert t.issued(R, "@other:b") == [] and t.issued("!s:a", U) == []


def test_a_few_per_user_newest_kept():
    t = JoinTemplates(per_key=3)
    for n in range(1, 6):
        t.remember(R, U, fields(n))
    assert t.issued(R, U) == [fields(3), fields(4), fields(5)]
    t.remember(R, U, fields(3))  # issued again: not twice
    assert t.issued(R, U) == [fields(4), fields(5), fields(3)]


def test_templates_expire():
    clock = Clock()
    t = JoinTemplates(ttl=60, clock=clock)
    t.remember(R, U, fields(1))
    clock.now = 60
    assert t.issued(R, U) == [fields(1)]
    clock.now = 61
    assert t.issued(R, U) == []


def test_bounded_number_of_users_oldest_forgotten():
    t = JoinTemplates(max_keys=2)
    for n in range(3):
        t.remember(R, f"@u{n}:b", fields(n))
    assert t.issued(R, "@u0:b") == []
    assert t.issued(R, "@u1:b") == [fields(1)] and t.issued(R, "@u2:b") == [fields(2)]


def test_forget_after_the_join_was_taken():
    t = JoinTemplates()
    t.remember(R, U, fields(1))
    t.forget(R, U)
    assert t.issued(R, U) == []
