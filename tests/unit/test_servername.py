"""The one server-name grammar (spec appendix "Server Name")."""
import pytest

from federation.servername import (
    InvalidServerName,
    ServerName,
    is_valid_server_name,
    parse_server_name,
)

VALID = [
    ("matrix.org", ServerName("matrix.org", None, False)),
    ("matrix.org:8888", ServerName("matrix.org", 8888, False)),
    ("MATRIX.org", ServerName("MATRIX.org", None, False)),
    ("localhost", ServerName("localhost", None, False)),
    ("localhost:1", ServerName("localhost", 1, False)),
    ("a", ServerName("a", None, False)),
    ("x-y.example.com", ServerName("x-y.example.com", None, False)),
    ("1.2.3.4.example", ServerName("1.2.3.4.example", None, False)),
    ("123abc", ServerName("123abc", None, False)),
    ("xn--bcher-kva.example", ServerName("xn--bcher-kva.example", None, False)),
    ("1.2.3.4", ServerName("1.2.3.4", None, True)),
    ("1.2.3.4:1234", ServerName("1.2.3.4", 1234, True)),
    ("127.0.0.3:65535", ServerName("127.0.0.3", 65535, True)),
    ("0.0.0.0", ServerName("0.0.0.0", None, True)),
    ("255.255.255.255:8448", ServerName("255.255.255.255", 8448, True)),
    ("[1234:5678::abcd]", ServerName("1234:5678::abcd", None, True)),
    ("[1234:5678::abcd]:5678", ServerName("1234:5678::abcd", 5678, True)),
    ("[::1]", ServerName("::1", None, True)),
    ("[::1]:8448", ServerName("::1", 8448, True)),
    ("[::ffff:127.0.0.1]:80", ServerName("::ffff:127.0.0.1", 80, True)),
    ("[ABCD::EF01]", ServerName("ABCD::EF01", None, True)),
    ("a" * 63 + "." + "b" * 63, ServerName("a" * 63 + "." + "b" * 63, None, False)),
    (".".join(["a" * 63] * 4), ServerName(".".join(["a" * 63] * 4), None, False)),  # 255
]

INVALID = [
    "", ":", ":8448", "matrix.org:", "matrix.org:0", "matrix.org:65536", "matrix.org:99999",
    "matrix.org:123456", "matrix.org:08448", "matrix.org:+80", "matrix.org:-1", "matrix.org:8a",
    "matrix.org:80:80", "matrix.org/", "matrix.org/path", "matrix.org?", "matrix.org?x=1",
    "matrix.org#", "matrix.org#x", "matrix.org:8448/", "matrix.org:8448#x", "matrix.org:8448?",
    "127.0.0.3:8448/", "127.0.0.3:8448#x", "127.0.0.3:8448?", "127.0.0.3:8448/..",
    "127.0.0.3/", "user@matrix.org", "user:pw@matrix.org", "http://matrix.org",
    "https://127.0.0.3:8448", "matrix .org", " matrix.org", "matrix.org ", "matrix.org\n",
    "matrix.org\r\nX: y", "matrix.org\x00", "matrix.org.", ".matrix.org", "matrix..org",
    "matrix_org", "matrix.org%2F", "mätrix.org", "ｍatrix.org", "例え.jp",
    "a" * 64 + ".org", ".".join(["a" * 63] * 4) + "a",
    "256.0.0.1", "1.2.3.999", "01.2.3.4", "1.2.3.04", "1.2.3", "127.1", "2130706433",
    "0x7f.0.0.1", "1.2.3.4.5", "1.2.3.", "1.2.3.4:0",
    "[::1", "::1", "::1:8448", "[::1]:", "[::1]:0", "[::1]x", "[::1]:80:80", "[::1]/",
    "[fe80::1%eth0]", "[fe80::1%25eth0]", "[:::1]", "[12345::1]", "[g::1]", "[]", "[1.2.3.4]",
    "[::1]]", "[[::1]]",
    None, 5, b"matrix.org", ["matrix.org"], {"matrix.org": 1},
]


@pytest.mark.parametrize("name,expected", VALID, ids=[v[0][:40] for v in VALID])
def test_valid_server_names(name, expected):
    assert parse_server_name(name) == expected
    assert is_valid_server_name(name)
    assert str(parse_server_name(name)) == name


@pytest.mark.parametrize("name", INVALID, ids=[repr(n)[:40] for n in INVALID])
def test_invalid_server_names(name):
    with pytest.raises(InvalidServerName):
        parse_server_name(name)
    assert not is_valid_server_name(name)


def test_invalid_server_name_is_a_value_error():
    with pytest.raises(ValueError, match="not a valid server name"):
        parse_server_name("127.0.0.3:8448/")


def test_url_host_brackets_ipv6_only():
    assert parse_server_name("[::1]:80").url_host == "[::1]"
    assert parse_server_name("1.2.3.4:80").url_host == "1.2.3.4"
    assert parse_server_name("example.org").url_host == "example.org"
