"""``homeserver backup``: a consistent copy of a (running) server's SQLite database.

SQLite's online backup API copies the database page by page. On its own it restarts whenever
another connection writes, which on a busy server can be forever; so the copy is made inside
one read transaction on the source: in WAL mode that is a fixed snapshot (the database as of
the moment the backup began) that the server's writers do not disturb and are not blocked by.
Pages are copied in steps with a short pause between them, so the copy does not hog the disk.
The result is written beside the target and renamed into place once complete and checked
(``PRAGMA integrity_check``), so a half-written backup never has the target's name.
"""
from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

PAGES_PER_STEP = 256
PAUSE_S = 0.005  # between steps
PROGRESS_EVERY_S = 1.0


class BackupError(Exception):
    """The backup was not made; the message says why."""


def backup(db_path: str | Path, target: str | Path, *, force: bool = False,
           say: Callable[[str], None] = print, pages: int = PAGES_PER_STEP,
           pause_s: float = PAUSE_S) -> int:
    """Copy the database at ``db_path`` to ``target``; returns the number of pages."""
    src_path, dst = Path(db_path), Path(target)
    if not src_path.is_file():
        raise BackupError(f"no database at {src_path}")
    if dst.exists() and not force:
        raise BackupError(f"{dst} exists (use --force to overwrite it)")
    if dst.exists() and dst.resolve() == src_path.resolve():
        raise BackupError("the backup cannot replace the database itself")
    if not dst.parent.is_dir():
        raise BackupError(f"no such folder: {dst.parent}")
    partial = dst.with_name(dst.name + ".partial")
    partial.unlink(missing_ok=True)
    started = time.monotonic()
    last_said = [started]

    def progress(status: int, remaining: int, total: int) -> None:
        now = time.monotonic()
        if remaining == 0 or now - last_said[0] >= PROGRESS_EVERY_S:
            last_said[0] = now
            done = total - remaining
            say(f"backup: {done}/{total} pages ({100 * done // max(total, 1)}%)")
        if remaining:
            time.sleep(pause_s)  # let the server's writes to disk through

    src = sqlite3.connect(src_path, isolation_level=None, timeout=30)
    try:
        src.execute("PRAGMA busy_timeout=30000")
        # One snapshot for the whole copy: without it, every write by the running server
        # would restart the backup from page 1.
        src.execute("BEGIN")
        src.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        out = sqlite3.connect(partial, isolation_level=None)
        try:
            src.backup(out, pages=pages, progress=progress)
            src.execute("COMMIT")
            # A single self-contained file: no -wal beside it to forget when copying it.
            out.execute("PRAGMA journal_mode=DELETE")
            check = out.execute("PRAGMA integrity_check").fetchall()
            if check != [("ok",)]:
                raise BackupError(f"the copy failed its integrity check: {check[:5]}")
            n_pages = out.execute("PRAGMA page_count").fetchone()[0]
        finally:
            out.close()
        _fsync(partial)
        os.replace(partial, dst)
        _fsync(dst.parent)
    except sqlite3.Error as e:
        raise BackupError(f"backup failed: {e}") from None
    finally:
        src.close()
        partial.unlink(missing_ok=True)
    size = dst.stat().st_size
    say(f"backup: wrote {dst} ({n_pages} pages, {size / 1e6:.1f} MB) in"
        f" {time.monotonic() - started:.1f} s; integrity_check ok")
    return n_pages


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
