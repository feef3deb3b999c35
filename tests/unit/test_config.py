"""homeserver.config: every mistake is a ConfigError naming the key; defaults are sane."""
from __future__ import annotations

import dataclasses

import pytest

from homeserver.config import Config, ConfigError, config_from_dict, config_to_dict, load_config

BASE = {"server_name": "example.org"}


def with_(path: str, value) -> dict:
    """BASE plus one value at a dotted path ("media.audio_slots")."""
    data = {**BASE}
    node = data
    *parents, last = path.split(".")
    for p in parents:
        node = node.setdefault(p, {})
    node[last] = value
    return data


def test_defaults_are_sane():
    cfg = config_from_dict(BASE)
    assert cfg.server_name == "example.org"
    assert len(cfg.listeners) == 1
    lst = cfg.listeners[0]
    assert (lst.port, lst.bind_address, lst.tls) == (8008, "127.0.0.1", False)
    assert cfg.database.path.endswith(".db")
    # Closed by default: nobody may sign up and no admin secret exists until one is set.
    assert cfg.registration.open is False and cfg.registration.shared_secret is None
    assert cfg.federation.verify_certificates is True
    assert cfg.federation.servers == {} and cfg.federation.ip_range_whitelist == []
    assert cfg.media.audio_slots == 3
    assert cfg.media.public_ip is None and cfg.media.udp_port_range is None
    assert cfg.limits.max_event_bytes == 65536
    assert cfg.limits.max_request_bytes >= cfg.limits.max_event_bytes
    assert cfg.limits.password_scrypt_n >= 2**14
    assert 0 < cfg.ratelimit.login.per_second and cfg.ratelimit.login.burst >= 1
    assert 0 < cfg.ratelimit.register.per_second and cfg.ratelimit.register.burst >= 1


def test_config_is_frozen():
    cfg = config_from_dict(BASE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.server_name = "other.org"  # type: ignore[misc]


def test_full_config_round_trips():
    data = {
        "server_name": "[::1]:8448",
        "listeners": [{"port": 8448, "bind_address": "::1", "tls": True,
                       "tls_certificate_path": "/c.pem", "tls_private_key_path": "/k.pem"}],
        "database": {"path": "/var/lib/hs/hs.db"},
        "registration": {"open": True, "shared_secret": "s"},
        "ratelimit": {"login": {"per_second": 2, "burst": 3}},
        "federation": {"servers": {"b.example": "https://b.example:8448"},
                       "verify_certificates": False,
                       "ip_range_whitelist": ["10.0.0.0/8", "::1/128"]},
        "media": {"audio_slots": 5, "public_ip": "203.0.113.5", "udp_port_range": [40000, 40100]},
    }
    cfg = config_from_dict(data)
    assert cfg.ratelimit.login.per_second == 2.0  # an integer is fine where a number is wanted
    assert cfg.ratelimit.register.burst == 5  # untouched sections keep their defaults
    assert config_from_dict(config_to_dict(cfg)) == cfg


@pytest.mark.parametrize("data, key", [
    ({**BASE, "registraton": {"open": True}}, "registraton"),
    (with_("registration.opn", True), "registration.opn"),
    (with_("media.slots", 3), "media.slots"),
    (with_("ratelimit.login.rate", 3), "ratelimit.login.rate"),
    ({**BASE, "listeners": [{"port": 80, "host": "x"}]}, "listeners[0].host"),
], ids=["top-level", "registration.opn", "media.slots", "ratelimit.login.rate",
        "listeners[0].host"])
def test_unknown_keys_are_errors_naming_the_key(data, key):
    with pytest.raises(ConfigError) as e:
        config_from_dict(data)
    assert str(e.value).startswith(key + ":")
    assert "unknown" in str(e.value)


@pytest.mark.parametrize("data, key", [
    ({**BASE, "listeners": [{"port": "80"}]}, "listeners[0].port"),
    ({**BASE, "listeners": [{"port": True}]}, "listeners[0].port"),
    ({**BASE, "listeners": [{"port": 8.5}]}, "listeners[0].port"),
    ({**BASE, "listeners": {"port": 80}}, "listeners"),
    ({**BASE, "listeners": ["80"]}, "listeners[0]"),
    (with_("media.audio_slots", "3"), "media.audio_slots"),
    (with_("media.audio_slots", True), "media.audio_slots"),
    (with_("media.loss_feedback", "yes"), "media.loss_feedback"),
    (with_("federation.servers", ["b.example"]), "federation.servers"),
    (with_("federation.servers", "b.example=https://b"), "federation.servers"),
    (with_("federation.servers", {"b.example": 5}), "federation.servers.b.example"),
    (with_("federation.verify_certificates", "no"), "federation.verify_certificates"),
    (with_("federation.ip_range_whitelist", "127.0.0.1/32"), "federation.ip_range_whitelist"),
    (with_("registration.open", "yes"), "registration.open"),
    (with_("registration.open", 1), "registration.open"),
    (with_("registration.shared_secret", 1234), "registration.shared_secret"),
    (with_("database.path", None), "database.path"),
    ({**BASE, "database": "/tmp/x.db"}, "database"),
    ({**BASE, "media": None}, "media"),
    (with_("ratelimit.login.per_second", "fast"), "ratelimit.login.per_second"),
    (with_("limits.max_event_bytes", "64k"), "limits.max_event_bytes"),
    ({"server_name": 5}, "server_name"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_wrong_types_are_errors_naming_the_key(data, key):
    with pytest.raises(ConfigError) as e:
        config_from_dict(data)
    assert str(e.value).startswith(key + ":"), str(e.value)


def test_missing_server_name():
    with pytest.raises(ConfigError) as e:
        config_from_dict({"listeners": [{"port": 8008}]})
    assert str(e.value).startswith("server_name:")
    assert "missing" in str(e.value)


@pytest.mark.parametrize("name", [
    "", "has space.org", "under_score.org", "example.org:", "example.org:port",
    "example.org:123456", "example.org:99999", "example.org:0", "[::1", "https://example.org",
    "example.org/path", "ex@mple.org",
])
def test_invalid_server_names(name):
    with pytest.raises(ConfigError) as e:
        config_from_dict({"server_name": name})
    assert str(e.value).startswith("server_name:")


@pytest.mark.parametrize("name", [
    "example.org", "example.org:8448", "127.0.0.1:8008", "[::1]:8448", "[2001:db8::1]",
    "localhost", "a-b.example.org:65535",
])
def test_valid_server_names(name):
    assert config_from_dict({"server_name": name}).server_name == name


@pytest.mark.parametrize("cidr", ["not-a-cidr", "10.0.0.0/33", "300.1.1.1/32", "::1/129"])
def test_bad_cidr(cidr):
    with pytest.raises(ConfigError) as e:
        config_from_dict(with_("federation.ip_range_whitelist", ["127.0.0.1/32", cidr]))
    assert str(e.value).startswith("federation.ip_range_whitelist")
    assert cidr in str(e.value)


@pytest.mark.parametrize("rng", [[40000], [40000, 40100, 40200], [40100, 40000], [0, 10],
                                 [1, 70000], ["a", "b"], "40000-40100", [40000.0, 40100]])
def test_bad_udp_port_range(rng):
    with pytest.raises(ConfigError) as e:
        config_from_dict(with_("media.udp_port_range", rng))
    assert str(e.value).startswith("media.udp_port_range")


@pytest.mark.parametrize("data, key", [
    ({**BASE, "listeners": []}, "listeners"),
    ({**BASE, "listeners": [{"port": 70000}]}, "listeners[0].port"),
    ({**BASE, "listeners": [{"port": -1}]}, "listeners[0].port"),
    ({**BASE, "listeners": [{"port": 8448, "tls": True}]}, "listeners[0].tls"),
    (with_("media.audio_slots", 0), "media.audio_slots"),
    (with_("media.audio_slots", 17), "media.audio_slots"),
    (with_("federation.servers", {"b.example": "b.example:8448"}),
     "federation.servers.b.example"),
    (with_("limits.max_event_bytes", 10), "limits.max_event_bytes"),
    (with_("push.ip_range_whitelist", ["10.0.0.0/33"]), "push.ip_range_whitelist"),
    (with_("push.concurrency", 0), "push.concurrency"),
    (with_("push.retry_base_seconds", 0), "push"),
], ids=["no-listeners", "port-too-big", "port-negative", "tls-without-cert",
        "audio_slots-0", "audio_slots-17", "servers-url-without-scheme", "tiny-event-limit",
        "push-cidr", "push-concurrency-0", "push-retry-0"])
def test_out_of_range_values(data, key):
    with pytest.raises(ConfigError) as e:
        config_from_dict(data)
    assert str(e.value).startswith(key + ":"), str(e.value)


def test_load_config_errors(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path / "missing.yaml")
    assert "missing.yaml" in str(e.value)
    bad = tmp_path / "bad.yaml"
    bad.write_text("server_name: [\n")
    with pytest.raises(ConfigError) as e:
        load_config(bad)
    assert "bad.yaml" in str(e.value)
    lst = tmp_path / "list.yaml"
    lst.write_text("- server_name: example.org\n")
    with pytest.raises(ConfigError):
        load_config(lst)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(ConfigError) as e:
        load_config(empty)
    assert str(e.value).startswith("server_name:")


def test_load_config_file(tmp_path):
    path = tmp_path / "hs.yaml"
    path.write_text("server_name: example.org\nregistration:\n  open: true\n")
    cfg = load_config(path)
    assert isinstance(cfg, Config) and cfg.registration.open is True


@pytest.mark.parametrize("name", [
    "b.example:8448/", "b.example#x", "b.example?", "127.0.0.3:8448/", "https://b.example",
    "b.example:0", "[::1", "b example", "",
])
def test_servers_keys_must_be_server_names(name):
    """federation.servers maps server names to URLs: a key that is not a server name (it
    could never be a destination) is a config error naming the key."""
    with pytest.raises(ConfigError) as e:
        config_from_dict(with_("federation.servers", {name: "https://b.example:8448"}))
    assert str(e.value).startswith(f"federation.servers.{name}:"), str(e.value)
    assert "not a valid Matrix server name" in str(e.value)


def test_servers_keys_that_are_server_names():
    servers = {"b.example": "https://b", "127.0.0.1:8008": "http://127.0.0.1:8008",
               "[::1]:8448": "https://[::1]:8448"}
    assert config_from_dict(with_("federation.servers", servers)).federation.servers == servers


def test_metrics_are_off_by_default_on_loopback():
    m = config_from_dict(BASE).metrics
    assert (m.enabled, m.bind_address) == (False, "127.0.0.1")
    assert 1 <= m.port <= 65535


@pytest.mark.parametrize("key,value,message", [
    ("metrics.port", 0, "metrics.port"),
    ("metrics.port", 70000, "metrics.port"),
    ("metrics.port", -1, "metrics.port"),
    ("metrics.port", "9000", "metrics.port"),
    ("metrics.port", True, "metrics.port"),
    ("metrics.bind_address", "localhost:80", "metrics.bind_address"),
    ("metrics.enabled", "yes", "metrics.enabled"),
])
def test_bad_metrics_settings_are_refused_by_key(key, value, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict(with_(key, value))


def test_metrics_port_must_not_be_a_listeners_port():
    data = {**BASE, "listeners": [{"port": 8008}], "metrics": {"enabled": True, "port": 8008}}
    with pytest.raises(ConfigError, match="metrics.port"):
        config_from_dict(data)
    data["metrics"]["port"] = 9100
    assert config_from_dict(data).metrics.port == 9100


@pytest.mark.parametrize("value", [0, -1, 1001, "20", True])
def test_bad_database_pool_size_is_refused_by_key(value):
    data = with_("database", {"engine": "postgres", "url": "postgresql://hs@db/hs",
                              "pool_size": value})
    with pytest.raises(ConfigError, match="database.pool_size"):
        config_from_dict(data)


def test_database_pool_size_defaults_and_is_read():
    assert config_from_dict(BASE).database.pool_size == 20
    data = with_("database", {"engine": "postgres", "url": "postgresql://hs@db/hs",
                              "pool_size": 5})
    assert config_from_dict(data).database.pool_size == 5
