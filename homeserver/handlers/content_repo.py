"""The Matrix media repository: uploads, local and remote media, thumbnails.

Files live under the store path, named by media ID only: ``local/<id>`` for ours,
``remote/<hash of origin>/<id>`` for cached copies of other servers' media, thumbnails under
``thumbnails/``. A media ID is checked against a strict grammar (media_rules.MEDIA_ID_RE) and a
server name against the server-name grammar before any path is built, so no request can name a
file outside the store. An upload is written to ``tmp/`` and renamed into place only once it is
whole and within the size limit; a refused upload leaves nothing behind, and neither does a
refused remote download.

Remote media is fetched once from its origin over federation (federation/media.py, through the
federation client and so its SSRF guard) and cached; requests for the same remote media while it
is being fetched share that one fetch. Thumbnails are made from the (local or cached) original,
in a thread, at most ``DECODERS`` at a time, and kept on disk.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from federation.client import RemoteServerError
from federation.exceptions import FederationError
from federation.media import MediaTooLarge, RemoteMedia
from federation.servername import is_valid_server_name

from ..errors import Forbidden, InvalidParam, LimitExceeded, MatrixError, NotFound, TooLarge
from ..storage.media_repo import MediaInfo, MediaStore
from .media_rules import (
    ThumbnailError,
    checked_content_type,
    make_thumbnail,
    new_media_id,
    sniff_image,
    thumbnail_size,
    valid_filename,
    valid_media_id,
)

log = logging.getLogger(__name__)

DECODERS = 2  # images decoded at once (each in a thread)
STALE_TMP_S = 24 * 3600
PENDING_S = 24 * 3600  # how long a /create reservation waits for its bytes
MAX_PENDING = 50  # reservations one user may hold
MAX_THUMBNAIL_SIDE = 10_000
T = TypeVar("T")
# (origin, media_id, write, max_bytes) -> what the origin said of the file
Fetcher = Callable[[str, str, Callable[[bytes], None], int], Awaitable[RemoteMedia]]


class CannotThumbnail(MatrixError):
    status, errcode = 400, "M_UNKNOWN"


class RemoteMediaError(MatrixError):
    status, errcode = 502, "M_UNKNOWN"


class CannotOverwrite(MatrixError):
    status, errcode = 409, "M_CANNOT_OVERWRITE_MEDIA"


class NotYetUploaded(MatrixError):
    status, errcode = 504, "M_NOT_YET_UPLOADED"


@dataclass(frozen=True)
class MediaFile:
    info: MediaInfo
    path: Path


class Upload:
    """An upload being received: bytes go to a temporary file, counted against the limit."""

    def __init__(self, tmp_dir: Path, limit: int):
        fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="up-")
        self.path = Path(name)
        self.file = os.fdopen(fd, "wb")
        self.limit = limit
        self.size = 0
        self.sha256 = hashlib.sha256()
        self.head = b""
        self.done = False

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise TooLarge(f"Upload over the {self.limit} byte limit")
        if len(self.head) < 64:
            self.head += chunk[:64 - len(self.head)]
        self.sha256.update(chunk)
        self.file.write(chunk)

    def close(self) -> None:
        if not self.file.closed:
            self.file.close()

    def discard(self) -> None:
        """Called whatever happened: a temporary file not moved into place is removed."""
        self.close()
        if not self.done:
            self.path.unlink(missing_ok=True)


class ContentRepository:
    def __init__(self, server_name: str, store: MediaStore, root: Path, max_upload_bytes: int,
                 fetcher: Fetcher, clock: Callable[[], float] = time.time):
        self.server_name = server_name
        self.store = store
        self.root = root
        self.max_upload_bytes = max_upload_bytes
        self.fetcher = fetcher
        self.clock = clock
        for sub in ("local", "remote", "thumbnails", "tmp"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        self._inflight: dict[tuple, asyncio.Task] = {}
        self._decoders = asyncio.Semaphore(DECODERS)
        self._clean_tmp()

    def _clean_tmp(self) -> None:
        """Temporary files of uploads cut off by a crash: removed once a day old (not at once:
        another process sharing the store may be receiving them)."""
        cutoff = self.clock() - STALE_TMP_S
        for p in (self.root / "tmp").iterdir():
            try:
                if p.stat().st_mtime < cutoff:
                    p.unlink()
            except OSError:
                pass

    def config(self) -> dict:
        return {"m.upload.size": self.max_upload_bytes}

    # uploads -------------------------------------------------------------------------------

    def begin_upload(self, content_length: int | None) -> Upload:
        """Refuses a declared length over the limit before a byte of the body is read."""
        if content_length is not None and content_length > self.max_upload_bytes:
            raise TooLarge(f"Upload of {content_length} bytes is over the "
                           f"{self.max_upload_bytes} byte limit")
        return Upload(self.root / "tmp", self.max_upload_bytes)

    def create(self, user_id: str) -> dict:
        """POST /_matrix/media/v1/create: an mxc URI whose bytes come later (PUT)."""
        media_id = new_media_id()
        now = int(self.clock() * 1000)
        expires = now + PENDING_S * 1000
        if not self.store.add_pending(media_id, user_id, expires, now, MAX_PENDING):
            raise LimitExceeded(60_000)
        return {"content_uri": f"mxc://{self.server_name}/{media_id}",
                "unused_expires_at": expires}

    def check_pending(self, server_name: str, media_id: str, user_id: str) -> None:
        """Before reading a PUT's body: the ID must be one /create gave this user."""
        self.check_ids(server_name, media_id)
        if server_name != self.server_name:
            raise Forbidden("Media of other servers cannot be uploaded here")
        if self.store.get(server_name, media_id) is not None:
            raise CannotOverwrite("This media has already been uploaded")
        pending = self.store.pending(media_id)
        if pending is None or pending[0] != user_id or pending[1] <= self.clock() * 1000:
            raise Forbidden("No such reservation of yours (POST /_matrix/media/v1/create)")

    def finish_upload(self, upload: Upload, user_id: str, content_type: str | None,
                      filename: str | None, media_id: str | None = None) -> str:
        """Moves a whole upload into place and records it; returns its mxc URI. With
        ``media_id``, completes that reservation (checked with check_pending first)."""
        if filename is not None and not valid_filename(filename):
            raise InvalidParam("filename must be 1-255 characters, without control"
                               " characters or slashes")
        upload.close()
        if media_id is not None:
            self.check_pending(self.server_name, media_id, user_id)  # again, after the body
        reserved = media_id is not None
        media_id = media_id or new_media_id()
        info = MediaInfo(self.server_name, media_id,
                         checked_content_type(content_type, upload.head), upload.size,
                         filename, upload.sha256.hexdigest(), user_id,
                         int(self.clock() * 1000))
        path = self._path(self.server_name, media_id)
        os.replace(upload.path, path)
        upload.done = True
        try:
            if reserved:
                self.store.complete_pending(info)
            else:
                self.store.add(info)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return f"mxc://{self.server_name}/{media_id}"

    # media the server makes itself (replays, clips) ----------------------------------------

    def temp_path(self, prefix: str) -> Path:
        """A new, empty file in the store's tmp/ (same filesystem: ``store_file`` renames it)."""
        fd, name = tempfile.mkstemp(dir=self.root / "tmp", prefix=prefix)
        os.close(fd)
        return Path(name)

    def store_file(self, src: Path, content_type: str, filename: str | None,
                   user_id: str | None, sha256: str | None = None) -> str:
        """Moves a file the server produced (from ``temp_path``) into the store as our own
        media, under no upload limit; returns its mxc URI. ``sha256``: its hex digest, when
        the producer computed it off the event loop."""
        if filename is not None and not valid_filename(filename):
            raise ValueError("bad filename")
        if sha256 is None:
            h = hashlib.sha256()
            with open(src, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            sha256 = h.hexdigest()
        media_id = new_media_id()
        info = MediaInfo(self.server_name, media_id, content_type, src.stat().st_size,
                         filename, sha256, user_id, int(self.clock() * 1000))
        path = self._path(self.server_name, media_id)
        os.replace(src, path)
        try:
            self.store.add(info)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return f"mxc://{self.server_name}/{media_id}"

    # downloads -----------------------------------------------------------------------------

    def check_ids(self, server_name: str, media_id: str) -> None:
        if not is_valid_server_name(server_name):
            raise InvalidParam("Invalid server name")
        if not valid_media_id(media_id):
            raise InvalidParam("Invalid media ID")

    async def get(self, server_name: str, media_id: str, allow_remote: bool = True
                  ) -> MediaFile:
        """A file we hold, or fetched from its origin (once) and cached."""
        self.check_ids(server_name, media_id)
        found = self._held(server_name, media_id)
        if found is not None:
            return found
        if server_name == self.server_name and self.store.pending(media_id) is not None:
            raise NotYetUploaded("This media has not been uploaded yet")
        if server_name == self.server_name or not allow_remote:
            raise NotFound("Media not found")
        return await self._once(("fetch", server_name, media_id),
                                lambda: self._fetch_remote(server_name, media_id))

    def get_local(self, media_id: str) -> MediaFile:
        """Our own media (what we serve to other servers)."""
        self.check_ids(self.server_name, media_id)
        found = self._held(self.server_name, media_id)
        if found is None:
            raise NotFound("Media not found")
        return found

    def _held(self, origin: str, media_id: str) -> MediaFile | None:
        info = self.store.get(origin, media_id)
        if info is None:
            return None
        path = self._path(origin, media_id)
        if not path.is_file():
            log.warning("media %s/%s is in the database but not on disk", origin, media_id)
            return None
        return MediaFile(info, path)

    def _path(self, origin: str, media_id: str) -> Path:
        assert valid_media_id(media_id)  # every caller checked it; never build a path without
        if origin == self.server_name:
            return self.root / "local" / media_id
        folder = self.root / "remote" / _origin_dir(origin)
        folder.mkdir(exist_ok=True)
        return folder / media_id

    async def _once(self, key: tuple, make: Callable[[], Awaitable[T]]) -> T:
        """Run ``make`` once for concurrent callers with the same key; all get its result.
        A caller that goes away does not cancel the work the others wait for."""
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(make())
            self._inflight[key] = task
            task.add_done_callback(lambda t: self._done(key, t))
        return await asyncio.shield(task)

    def _done(self, key: tuple, task: asyncio.Task) -> None:
        self._inflight.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved: every waiter may have gone, nothing to log then

    async def _fetch_remote(self, origin: str, media_id: str) -> MediaFile:
        found = self._held(origin, media_id)  # fetched by an earlier caller meanwhile
        if found is not None:
            return found
        upload = Upload(self.root / "tmp", self.max_upload_bytes)
        try:
            try:
                meta = await self.fetcher(origin, media_id, upload.write,
                                          self.max_upload_bytes)
            except (TooLarge, MediaTooLarge):
                raise RemoteMediaError(
                    f"Remote media is over the {self.max_upload_bytes} byte limit",
                    "M_TOO_LARGE") from None
            except RemoteServerError as e:
                if e.status == 404:
                    raise NotFound("Media not found on its server") from None
                raise RemoteMediaError(f"Could not fetch remote media: {e}") from None
            except FederationError as e:
                raise RemoteMediaError(f"Could not fetch remote media: {e}") from None
            upload.close()
            info = MediaInfo(origin, media_id,
                             checked_content_type(meta.content_type, upload.head),
                             upload.size, meta.filename, upload.sha256.hexdigest(), None,
                             int(self.clock() * 1000))
            path = self._path(origin, media_id)
            os.replace(upload.path, path)
            upload.done = True
            self.store.add(info)
            return MediaFile(info, path)
        finally:
            upload.discard()

    # thumbnails ----------------------------------------------------------------------------

    async def thumbnail(self, server_name: str, media_id: str, width: int, height: int,
                        method: str, allow_remote: bool = True) -> tuple[Path, str]:
        """(path of a thumbnail, its content type), made from the original if not cached."""
        if method not in ("crop", "scale"):
            raise InvalidParam("method must be crop or scale")
        if not (0 < width <= MAX_THUMBNAIL_SIDE and 0 < height <= MAX_THUMBNAIL_SIDE):
            raise InvalidParam(f"width and height must be between 1 and {MAX_THUMBNAIL_SIDE}")
        original = await self.get(server_name, media_id, allow_remote)
        return await self.thumbnail_of(original, width, height, method)

    async def thumbnail_of(self, original: MediaFile, width: int, height: int,
                           method: str) -> tuple[Path, str]:
        with open(original.path, "rb") as f:
            sniffed = sniff_image(f.read(16))  # the bytes decide, not any Content-Type
        if sniffed is None:
            raise CannotThumbnail("Cannot make a thumbnail of this content")
        w, h, m = thumbnail_size(width, height, method)
        info = original.info
        folder = self.root / "thumbnails" / _origin_dir(info.origin) / info.media_id
        ext_type = "image/jpeg" if sniffed == "image/jpeg" else "image/png"
        path = folder / f"{w}x{h}-{m}"
        if path.is_file():
            return path, ext_type
        return await self._once(("thumb", info.origin, info.media_id, w, h, m),
                                lambda: self._make_thumbnail(original.path, sniffed, w, h, m,
                                                             path))

    async def _make_thumbnail(self, src: Path, sniffed: str, w: int, h: int, m: str,
                              dest: Path) -> tuple[Path, str]:
        async with self._decoders:
            try:
                data, ctype = await asyncio.to_thread(make_thumbnail, src, sniffed, w, h, m)
            except ThumbnailError as e:
                raise CannotThumbnail(f"Cannot make a thumbnail: {e}") from None
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root / "tmp", prefix="th-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, dest)
        return dest, ctype

    def stats(self) -> dict[str, Any]:
        """What is held (for tests and operators): rows and files."""
        files = [p for p in self.root.rglob("*") if p.is_file()]
        return {"rows": self.store.count(), "files": len(files)}


def _origin_dir(origin: str) -> str:
    return hashlib.sha256(origin.encode()).hexdigest()[:32]
