"""What a job reads beside the documents: which files a folder holds, who may read each
(`NAME.acl.json`, `_acl.json`) and what their owners say of them (`NAME.meta.json`,
`_meta.json`: title, owner, effective and expiry dates, language, tags).

A file's own sidecar wins over its folder's, key by key. A sidecar that cannot be read is
the file's failure, by the sidecar's name and what is wrong in it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from indexes.records import content_id
from ingest.elements import ParseError
from ingest.outcomes import FileOutcome, FileStatus

ACL_SUFFIX = ".acl.json"
FOLDER_ACL = "_acl.json"
META_SUFFIX = ".meta.json"
FOLDER_META = "_meta.json"
META_KEYS = ("title", "owner", "effective_date", "expiry_date", "language", "tags")


@dataclass(frozen=True)
class DocumentMeta:
    """What a content owner said of a document; empty fields were not said."""

    title: str = ""
    owner: str = ""
    effective_date: str | None = None
    expiry_date: str | None = None
    language: str = ""
    tags: tuple[str, ...] = ()

    @property
    def digest(self) -> str:
        """A hash of what was said, '' when nothing was: a changed sidecar is a new version."""
        if self == DocumentMeta():
            return ""
        return content_id(json.dumps(self.__dict__, sort_keys=True, default=list), length=64)


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[FileOutcome]]:
    """Files under the given paths, sorted; missing paths come back as failed outcomes."""
    files: list[Path] = []
    missing: list[FileOutcome] = []
    for path in paths:
        if path.is_dir():
            inside, outside = _folder_files(path)
            files.extend(inside)
            missing.extend(FileOutcome(str(p), FileStatus.FAILED, "a symbolic link to outside "
                                       "the folder: not followed") for p in outside)
        elif path.is_file():
            files.append(path)
        else:
            missing.append(FileOutcome(str(path), FileStatus.FAILED, "no such file or folder"))
    return files, missing


def _folder_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """The folder's documents, sorted, and those that are links leading out of it (a
    folder a job keeps in sync must not pull in whatever a link points to)."""
    root = folder.resolve()
    inside: list[Path] = []
    outside: list[Path] = []
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or _is_hidden(p.relative_to(folder)) or is_sidecar(p):
            continue
        (inside if p.resolve().is_relative_to(root) else outside).append(p)
    return inside, outside


def _is_hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def is_sidecar(path: Path) -> bool:
    """True for access and metadata files, which describe documents and are not ones."""
    name = path.name
    return name in (FOLDER_ACL, FOLDER_META) or name.endswith((ACL_SUFFIX, META_SUFFIX))


def read_groups(path: Path, default: tuple[str, ...]) -> tuple[str, ...]:
    """Access groups from `NAME.acl.json` beside the file, else `_acl.json` in its folder."""
    for candidate in (path.with_name(path.name + ACL_SUFFIX), path.parent / FOLDER_ACL):
        if candidate.is_file():
            groups = _read_json(candidate, "access").get("groups")
            if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
                raise ParseError(str(candidate), f'invalid access file {candidate.name}: '
                                                 f'"groups" must be a list of strings')
            return tuple(sorted(set(groups)))
    return default


def read_meta(path: Path) -> DocumentMeta:
    """The file's metadata: its folder's `_meta.json`, overridden by its `NAME.meta.json`."""
    merged: dict[str, Any] = {}
    for candidate in (path.parent / FOLDER_META, path.with_name(path.name + META_SUFFIX)):
        if candidate.is_file():
            merged.update(_checked_meta(candidate, _read_json(candidate, "metadata")))
    if merged.get("effective_date") and merged.get("expiry_date") and \
            merged["expiry_date"] <= merged["effective_date"]:
        raise ParseError(str(path), f"invalid metadata for {path.name}: expiry_date must "
                                    f"come after effective_date")
    return DocumentMeta(**merged)


def _read_json(path: Path, kind: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ParseError(str(path), f"invalid {kind} file {path.name} ({exc})") from exc
    if not isinstance(data, dict):
        raise ParseError(str(path), f"invalid {kind} file {path.name}: not a JSON object")
    return data


def _checked_meta(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """The sidecar's fields, each of the right type, or ParseError naming the field."""
    unknown = sorted(set(data) - set(META_KEYS))
    if unknown:
        raise ParseError(str(path), f"invalid metadata file {path.name}: unknown field "
                                    f"{unknown[0]!r}; it may hold {', '.join(META_KEYS)}")
    checked: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("effective_date", "expiry_date"):
            checked[key] = _iso_day(path, key, value)
        elif key == "tags":
            if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                raise ParseError(str(path), f'invalid metadata file {path.name}: "tags" must '
                                            f'be a list of strings')
            checked[key] = tuple(sorted(set(value)))
        elif not isinstance(value, str) or len(value) > 500:
            raise ParseError(str(path), f'invalid metadata file {path.name}: "{key}" must be '
                                        f'a string of at most 500 characters')
        else:
            checked[key] = value.strip()
    return checked


def _iso_day(path: Path, key: str, value: object) -> str:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise ParseError(str(path), f'invalid metadata file {path.name}: "{key}" must be a day '
                                f'written YYYY-MM-DD')
