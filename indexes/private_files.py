"""Files and folders for the service user only: 0600 files, 0700 folders.

Everything under the data directory (the store, the audit trail, the API keys, the vector
index, uploads) holds bank data or secrets. Each is created with its mode given explicitly,
which no umask can widen (a umask only removes bits), so the result does not depend on how
the process was started. SQLite creates a database's -wal and -shm files with the mode of
the database file itself, so a database file created here first keeps those private too.
`restrict_tree` tightens what an older version left readable by others.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
OTHERS = 0o077  # the group and other permission bits; also the umask the CLI sets

log = logging.getLogger("coffre.files")


def private_dir(path: Path) -> Path:
    """`path` as a folder of the service user only: the folders missing on the way are
    created 0700 (existing parents are left as they are), `path` itself tightened."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=PRIVATE_DIR, exist_ok=True)
    _tighten(path)
    return path


def private_file(path: Path) -> Path:
    """`path`, created empty and 0600 if it is absent (an empty file is an empty SQLite
    database), else tightened; its folder is made private first."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE)
    os.close(fd)
    _tighten(path)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` (replacing what was there) as a 0600 file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as handle:
        # An existing file keeps its mode through O_CREAT: tighten it too.
        os.fchmod(handle.fileno(), stat.S_IMODE(os.fstat(handle.fileno()).st_mode) & ~OTHERS)
        handle.write(data)


def restrict_tree(root: Path) -> None:
    """Remove the group and other bits from `root` and everything under it (links are
    not followed). A file that cannot be changed is logged and left."""
    if not root.exists():
        return
    _tighten(root)
    for folder, folders, files in os.walk(root):
        for name in (*folders, *files):
            _tighten(Path(folder) / name)


def _tighten(path: Path) -> None:
    try:
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode) or not mode & OTHERS:
            return
        os.chmod(path, stat.S_IMODE(mode) & ~OTHERS)
    except OSError as exc:
        log.warning("cannot make %s private to the service user: %s", path, exc.strerror)
