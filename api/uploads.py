"""Uploaded documents: kept under the data directory, with their access file, then ingested."""

from __future__ import annotations

import hashlib
import json
import re

from api.wiring import Services
from ingest.jobs import FileOutcome

_SAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_name(filename: str) -> str:
    """A file name with no directory part and no odd characters; never empty or hidden."""
    name = _SAFE.sub("_", filename.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    return name or "upload"


def store_upload(services: Services, filename: str, data: bytes, groups: list[str]) -> FileOutcome:
    """Write the upload beside its `.acl.json` and run the normal ingestion job on it.

    Each upload gets a folder named after its content hash, so two files with the same name
    never overwrite each other and re-uploading the same bytes is recognised as unchanged.
    """
    folder = services.settings.data_dir / "uploads" / hashlib.sha256(data).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / safe_name(filename)
    target.write_bytes(data)
    target.with_name(target.name + ".acl.json").write_text(json.dumps({"groups": groups}))
    report = services.ingester.run([target])
    return report.outcomes[0]
