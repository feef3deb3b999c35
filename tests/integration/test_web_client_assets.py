"""The web client's heavy files reach phones compressed: the vendored crypto's WebAssembly
(5.4 MB) is served gzip-compressed (1.8 MB) to browsers that accept it, from a .gz kept beside
it, still as application/wasm; clients that don't accept gzip get the file as it is."""
from __future__ import annotations

import gzip
from pathlib import Path

import aiohttp
import pytest

PKG = Path(__file__).resolve().parents[2] / "homeserver/static/vendor/matrix-sdk-crypto-wasm/pkg"
JS = ("text/javascript", "application/javascript")  # either, by the system's MIME table
FILES = [("matrix_sdk_crypto_wasm_bg.wasm", ("application/wasm",)),
         ("matrix_sdk_crypto_wasm_bg.js", JS)]


@pytest.mark.parametrize("name", [n for n, _ in FILES])
def test_every_compressed_copy_matches_its_file(name):
    # Updating the vendored package without regenerating the .gz would serve the old code to
    # every browser that accepts gzip: `gzip -9 -n -k -f <file>` after an update.
    assert gzip.decompress((PKG / (name + ".gz")).read_bytes()) == (PKG / name).read_bytes()


async def test_wasm_and_its_glue_are_served_compressed_when_accepted(homeserver):
    async with aiohttp.ClientSession(auto_decompress=False) as http:
        for name, ctype in FILES:
            url = f"{homeserver.url}/static/vendor/matrix-sdk-crypto-wasm/pkg/{name}"
            original = (PKG / name).read_bytes()
            async with http.get(url, headers={"Accept-Encoding": "gzip, deflate, br"}) as r:
                body = await r.read()
                assert r.status == 200 and r.content_type in ctype, (name, r.content_type)
                assert r.headers.get("Content-Encoding") == "gzip", name
                assert len(body) < len(original) / 2.5, (name, len(body), len(original))
                assert gzip.decompress(body) == original
            async with http.get(url, headers={"Accept-Encoding": "identity"}) as r:
                assert r.status == 200 and r.content_type in ctype
                assert "Content-Encoding" not in r.headers
                assert await r.read() == original
