"""Uploaded documents: kept under the data directory, with their access file, then ingested.

An upload that is not ingested leaves nothing behind: its file and access file are removed
(and its folder, once empty), except a file that was there before it, which another upload
of the same name and bytes stored and which stays as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from api.access import document_groups
from indexes.errors import InputError
from indexes.filters import SearchFilter
from indexes.private_files import private_dir, write_private
from indexes.records import DocumentRecord
from indexes.store import Store
from ingest.jobs import Ingester
from ingest.outcomes import FileOutcome
from ingest.sources import ACL_SUFFIX, is_sidecar

_SAFE = re.compile(r"[^A-Za-z0-9._ -]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A file name and its access file (NAME.acl.json) must both fit the file system's 255 bytes.
MAX_NAME_BYTES = 255 - len(ACL_SUFFIX)
# Names Windows keeps for devices, whatever their extension: such a file cannot be copied
# to a Windows share or opened there.
_DEVICES = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                      *(f"lpt{i}" for i in range(10))})
KEPT = ("ok", "unchanged")  # the ingestion outcomes that keep an upload


class UploadRefusal(StrEnum):
    """Why an upload was refused before ingestion, as its audit record says."""

    BAD_NAME = "bad_name"
    FORBIDDEN = "forbidden"


def safe_name(filename: str) -> str:
    """A file name with no directory part and no odd characters; never empty or hidden."""
    name = _SAFE.sub("_", filename.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    return name or "upload"


def check_file_name(filename: str) -> str:
    """`filename` if it can name a stored file, else InputError naming the field `file`."""
    problem = _name_problem(filename)
    if problem:
        raise InputError(f"file: {problem}; rename the file and upload it again")
    return filename


def _name_problem(name: str) -> str | None:
    if not name.strip(" ."):
        return "the file name is empty"
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        return f"the file name is longer than {MAX_NAME_BYTES} bytes"
    if "/" in name or "\\" in name:
        return "the file name holds a path separator (/ or \\)"
    if _CONTROL.search(name):
        return "the file name holds a control character (NUL, a line break, ...)"
    if is_sidecar(Path(name)):
        return ("the file name is that of an access or metadata file (_acl.json, "
                "NAME.acl.json, _meta.json, NAME.meta.json)")
    if name.split(".", 1)[0].strip().lower() in _DEVICES:
        return "the file name is reserved for a device (CON, NUL, COM1, LPT1, ...)"
    return None


def upload_groups(field: str) -> list[str]:
    """The groups of an upload's comma-separated `groups` field, sorted; at least one."""
    return document_groups(field.split(","))


def upload_path(folder: Path, filename: str, data: bytes) -> Path:
    """Where an upload is kept: a folder named after its content hash, so two files with
    the same name never overwrite each other and the same bytes again land in one place."""
    return folder / hashlib.sha256(data).hexdigest()[:16] / safe_name(filename)


def stored_from(store: Store, path: Path) -> list[DocumentRecord]:
    """The documents already ingested from the file at `path` (a JSON Lines file holds
    several: `path#record`), as the ingester names their source."""
    source = str(path.resolve())
    return [d for d in store.documents(SearchFilter(path_prefix=source))
            if d.source_path == source or d.source_path.startswith(source + "#")]


@dataclass(frozen=True)
class _Before:
    """What an upload's two files held before it: None where there was no file."""

    data: bytes | None
    acl: bytes | None


def store_upload(
    ingester: Ingester, folder: Path, filename: str, data: bytes, groups: Sequence[str]
) -> FileOutcome:
    """Write the upload under `folder` beside its `.acl.json` and run the normal ingestion
    job; an upload it does not keep is removed again (`KEPT`)."""
    target = upload_path(folder, filename, data)
    acl = target.with_name(target.name + ACL_SUFFIX)
    before = _Before(_read(target), _read(acl))
    private_dir(target.parent)
    if before.data is None:  # the same bytes are there already otherwise
        write_private(target, data)
    write_private(acl, json.dumps({"groups": list(groups)}).encode("utf-8"))
    outcome = ingester.run([target]).outcomes[0]
    if outcome.status not in KEPT:
        _undo(target, acl, before)
    return outcome


def place_upload(folder: Path, filename: str, data: bytes, groups: Sequence[str]) -> Path:
    """Keep a job's uploaded file under `folder` beside its `.acl.json`, for the job to
    ingest later; where it was kept. The same name and bytes land in the same place."""
    target = upload_path(folder, filename, data)
    private_dir(target.parent)
    if not target.is_file():
        write_private(target, data)
    write_private(target.with_name(target.name + ACL_SUFFIX),
                  json.dumps({"groups": list(groups)}).encode("utf-8"))
    return target


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def _undo(target: Path, acl: Path, before: _Before) -> None:
    """Put the upload's folder back as it was: a file stored before stays, with its groups."""
    if before.data is None:
        target.unlink(missing_ok=True)
    if before.acl is None:
        acl.unlink(missing_ok=True)
    else:
        write_private(acl, before.acl)
    with contextlib.suppress(OSError):  # not empty: other names of the same bytes stay
        target.parent.rmdir()
