"""The web client's encrypted attachments (homeserver/static/js/attachments.js) run under
Node.js (WebCrypto is the same API): what it encrypts, Python's ``cryptography`` decrypts (the
spec's AES-CTR-256, counter in the IV's low 64 bits), what ``cryptography`` encrypts it decrypts,
and it refuses a file whose ciphertext was changed or whose description is malformed."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

MODULE = Path(__file__).resolve().parents[2] / "homeserver" / "static" / "js" / "attachments.js"

SCRIPT = """
const m = await import(process.argv[1]);
const input = JSON.parse((await import("node:fs")).readFileSync(0, "utf8"));
const out = {};
const plain = Buffer.from(input.plain, "base64");
const { data, file } = await m.encryptAttachment(plain);
out.sent = { file, data: Buffer.from(data).toString("base64") };
const parsed = m.parseEncryptedFile(input.theirs.file);
out.theirs = parsed ? Buffer.from(await m.decryptAttachment(Buffer.from(input.theirs.data, "base64"), parsed)).toString("base64") : null;
const tampered = Buffer.from(input.theirs.data, "base64"); tampered[0] ^= 1;
try { await m.decryptAttachment(tampered, parsed); out.tampered = "decrypted"; } catch (e) { out.tampered = e.message; }
out.malformed = input.malformed.map((f) => m.parseEncryptedFile(f));
console.log(JSON.stringify(out));
"""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def aes_ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    c = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return c.update(data) + c.finalize()


def test_attachments_js_interoperates_and_refuses_bad_files():
    node = shutil.which("node")
    if not node:
        if os.environ.get("AUDIOROOMS_REQUIRE_NODE") == "1":
            pytest.fail("node is not installed")
        pytest.skip("Node.js is not installed")
    plain = os.urandom(70000) + b"\x89PNG"
    key, iv = os.urandom(32), os.urandom(8) + bytes(8)
    their_data = aes_ctr(key, iv, plain)
    good = {"url": "mxc://b.example/abcDEF", "v": "v2", "iv": b64(iv),
            "key": {"kty": "oct", "key_ops": ["encrypt", "decrypt"], "alg": "A256CTR",
                    "k": base64.urlsafe_b64encode(key).decode().rstrip("="), "ext": True},
            "hashes": {"sha256": b64(hashlib.sha256(their_data).digest())}}
    malformed = [
        None, [], "mxc://b.example/x", {**good, "v": "v1"}, {**good, "url": "https://evil.example/x"},
        {**good, "iv": b64(os.urandom(12))}, {**good, "iv": "!!!"},
        {**good, "key": {**good["key"], "alg": "A128CTR"}},
        {**good, "key": {**good["key"], "k": b64(os.urandom(16))}},
        {**good, "key": {**good["key"], "key_ops": ["encrypt"]}},
        {**good, "hashes": {}}, {**good, "hashes": {"sha256": b64(b"short")}},
        {**good, "key": {**good["key"], "k": "x" * 5000}},
    ]
    arg = json.dumps({"plain": base64.b64encode(plain).decode(), "malformed": malformed,
                      "theirs": {"file": good, "data": base64.b64encode(their_data).decode()}})
    proc = subprocess.run([node, "--input-type=module", "-e", SCRIPT, MODULE.as_uri()],
                          input=arg, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)

    # Ours, read by another implementation: the spec's format and cipher.
    f, data = out["sent"]["file"], base64.b64decode(out["sent"]["data"])
    assert f["v"] == "v2" and f["key"]["alg"] == "A256CTR" and f["key"]["kty"] == "oct"
    assert f["key"]["ext"] is True and f["key"]["key_ops"] == ["encrypt", "decrypt"]
    assert "=" not in f["iv"] + f["hashes"]["sha256"] + f["key"]["k"]
    k = base64.urlsafe_b64decode(f["key"]["k"] + "==")
    v = base64.b64decode(f["iv"] + "==")
    assert len(k) == 32 and len(v) == 16 and v[8:] == bytes(8)
    assert f["hashes"]["sha256"] == b64(hashlib.sha256(data).digest())
    assert data != plain and aes_ctr(k, v, data) == plain
    # Theirs, read by ours; a changed byte is refused; malformed descriptions are ignored.
    assert base64.b64decode(out["theirs"]) == plain
    assert "hash" in out["tampered"]
    assert out["malformed"] == [None] * len(malformed)
