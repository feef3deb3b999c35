"""ARSL, the cascade relay's control messages (media/arsl.py): a pure codec."""
import json

import pytest

from media import arsl, rtp


def test_map_and_layout_round_trip_as_rtcp_app_packets():
    m = arsl.StreamMap({0x1234: "@a:x", 7: "@b:y"})
    data = bytes(m)
    app = rtp.parse_rtcp(data)[0]
    assert (app.name, app.subtype, app.ssrc) == (b"ARSL", 1, 0)
    assert json.loads(app.data.rstrip(b"\x00")) == {"4660": "@a:x", "7": "@b:y"}
    assert arsl.StreamMap.parse(data) == m
    layout = arsl.Layout(("@a:x", None, "@b:y"), "@c:z")
    assert arsl.Layout.parse(bytes(layout)) == layout
    assert arsl.decode(bytes(m) + bytes(layout)) == [m, layout]


def test_decode_skips_what_is_malformed_and_keeps_the_rest():
    def app(subtype, payload: bytes, name=b"ARSL"):
        return bytes(rtp.RtcpApp(ssrc=0, name=name, subtype=subtype, data=payload))

    good = arsl.StreamMap({5: "@a:x"})
    packets = (app(1, b"not json") + app(1, b"[1, 2]") + app(2, b'{"top": "x"}')
               + app(2, b'{"top": [1], "spare": null}') + app(2, b'{"top": [], "spare": 3}')
               + app(9, b"{}") + app(1, b'{"5": "@z:z"}', name=b"OTHR") + bytes(good))
    assert arsl.decode(packets) == [good]
    assert arsl.decode(b"\x00garbage") == []
    # entries that are not "<decimal ssrc>": "<user>" are left out (not a crash)
    odd = app(1, json.dumps({"5": "@a:x", "x": "@b:y", "6": 7, "\u00b2": "@c:z"}).encode())
    assert arsl.StreamMap.parse(odd) == good
    with pytest.raises(ValueError):
        arsl.Layout.parse(bytes(good))
    with pytest.raises(ValueError):
        arsl.StreamMap.parse(bytes(good) + bytes(good))
