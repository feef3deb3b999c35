"""m.room.server_acl matching as the Matrix spec describes it (globs, ports, IP literals)."""
import time

import pytest

from homeserver.server_acl import AclContentError, check_acl_content, glob_match, server_allowed


@pytest.mark.parametrize("pattern,name,want", [
    ("*", "", True), ("*", "example.org", True), ("example.org", "example.org", True),
    ("*.example.org", "matrix.example.org", True), ("*.example.org", "example.org", False),
    ("?.org", "a.org", True), ("?.org", "ab.org", False), ("ex*e.o?g", "example.org", True),
    ("a*b*c", "aXbYc", True), ("a*b*c", "aXbY", False), ("**", "x", True), ("", "x", False),
])
def test_glob(pattern, name, want):
    assert glob_match(pattern, name) is want


def test_deny_beats_allow_ports_are_dropped_and_case_is_ignored():
    acl = {"allow": ["*"], "deny": ["evil.example", "*.evil.example"]}
    assert not server_allowed(acl, "evil.example:8448")
    assert not server_allowed(acl, "EVIL.example")
    assert not server_allowed(acl, "a.evil.example")
    assert server_allowed(acl, "good.example:443")
    assert not server_allowed({"deny": []}, "good.example")  # no allow list: nobody
    assert server_allowed({"allow": ["good.*"]}, "good.example")


def test_ip_literals():
    acl = {"allow": ["*"], "allow_ip_literals": False}
    assert not server_allowed(acl, "1.2.3.4:8448")
    assert not server_allowed(acl, "[::1]:8448")
    assert server_allowed(acl, "one.example")
    assert server_allowed({"allow": ["*"]}, "1.2.3.4")
    assert server_allowed({"allow": ["[::1]"]}, "[::1]:80")


def test_hostile_content_is_refused_and_matching_stays_cheap():
    with pytest.raises(AclContentError):
        check_acl_content({"allow": ["*"], "deny": ["host.example"]}, "host.example:8448")
    with pytest.raises(AclContentError):
        check_acl_content({"allow": [["*"]]}, "h")
    # Many stars against a long name that almost matches: no catastrophic backtracking.
    acl = {"allow": ["x"], "deny": ["*a" * 120 + "b"] * 512}
    t = time.perf_counter()
    assert not server_allowed(acl, "a" * 255)
    assert time.perf_counter() - t < 5
