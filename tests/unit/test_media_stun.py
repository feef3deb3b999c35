"""media.stun: consent-freshness messages interoperate with aioice's STUN codec."""
from aioice import stun as aio

from media import stun


def test_our_response_verifies_with_aioice_and_theirs_with_us():
    txid = bytes(range(12))
    creds = stun.Credentials("local-password-1234567")
    data = stun.binding_response(txid, ("192.0.2.9", 40000), creds)
    msg = aio.parse_message(data)
    assert msg.message_class == aio.Class.RESPONSE and msg.transaction_id == txid
    assert msg.attributes["XOR-MAPPED-ADDRESS"] == ("192.0.2.9", 40000)
    assert msg.check_message_integrity(b"local-password-1234567")
    assert "FINGERPRINT" in msg.attributes  # aioice checks it while parsing
    # an aioice request, as a peer's consent check, parses and verifies here
    req = aio.Message(message_method=aio.Method.BINDING, message_class=aio.Class.REQUEST,
                      transaction_id=txid)
    req.attributes["USERNAME"] = "ours:theirs"
    req.attributes["PRIORITY"] = 123
    req.attributes["ICE-CONTROLLING"] = 42
    req.add_message_integrity(b"local-password-1234567")
    raw = bytes(req)
    assert stun.is_stun(raw)
    mtype, tx, attrs, mi_at = stun.parse(raw)
    assert (mtype, tx, attrs[stun.USERNAME]) == (stun.BINDING_REQUEST, txid, b"ours:theirs")
    assert stun.integrity_ok(raw, mi_at, attrs, creds)
    assert not stun.integrity_ok(raw, mi_at, attrs, stun.Credentials("wrong"))
    tampered = raw[:30] + bytes([raw[30] ^ 1]) + raw[31:]
    parsed = stun.parse(tampered)
    assert parsed is None or not stun.integrity_ok(tampered, parsed[3], parsed[2], creds)


def test_our_request_is_a_valid_consent_check_for_aioice():
    txid = b"abcdefghijkl"
    creds = stun.Credentials("remote-password-123456")
    data = stun.binding_request(txid, "them:us", 1845501695, False, 7,
                                creds)
    msg = aio.parse_message(data)
    assert msg.message_class == aio.Class.REQUEST
    assert msg.attributes["USERNAME"] == "them:us"
    assert msg.attributes["ICE-CONTROLLED"] == 7
    assert msg.check_message_integrity(b"remote-password-123456")


def test_ipv6_xor_address_and_garbage():
    txid = b"\x01" * 12
    data = stun.binding_response(txid, ("fd00::2", 5000), stun.Credentials("p" * 22))
    msg = aio.parse_message(data)
    assert msg.attributes["XOR-MAPPED-ADDRESS"] == ("fd00::2", 5000)
    for junk in (b"", b"\x00" * 19, b"\x00\x01\x00\x04" + b"\x00" * 16,
                 stun.binding_response(txid, ("1.2.3.4", 1), stun.Credentials("x"))[:-3]):
        assert stun.parse(junk) is None
