"""Uploaded documents: kept under the data directory, with their access file, then ingested."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path

from indexes.errors import InputError
from ingest.jobs import FileOutcome, Ingester

_SAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_name(filename: str) -> str:
    """A file name with no directory part and no odd characters; never empty or hidden."""
    name = _SAFE.sub("_", filename.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    return name or "upload"


def upload_groups(field: str) -> list[str]:
    """The groups of an upload's comma-separated `groups` field, sorted; at least one."""
    groups = sorted({g.strip() for g in field.split(",") if g.strip()})
    if not groups:
        raise InputError("groups: give at least one group")
    return groups


def store_upload(
    ingester: Ingester, folder: Path, filename: str, data: bytes, groups: Sequence[str]
) -> FileOutcome:
    """Write the upload under `folder` beside its `.acl.json` and run the normal ingestion job.

    Each upload gets a folder named after its content hash, so two files with the same name
    never overwrite each other and re-uploading the same bytes is recognised as unchanged.
    """
    target_folder = folder / hashlib.sha256(data).hexdigest()[:16]
    target_folder.mkdir(parents=True, exist_ok=True)
    target = target_folder / safe_name(filename)
    target.write_bytes(data)
    target.with_name(target.name + ".acl.json").write_text(json.dumps({"groups": list(groups)}))
    report = ingester.run([target])
    return report.outcomes[0]
