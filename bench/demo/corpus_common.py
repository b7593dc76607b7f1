"""Shared pieces of the demo-corpus writers: fixed dates, source files, OOXML normalisation.

Every writer reads one file of ``bench/demo/sources/`` and writes one corpus file. The dates
below are the only clock the writers use, so the output is the same on every run.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import tomllib
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

FIXED_DATETIME = dt.datetime(2025, 3, 3, 9, 0, 0, tzinfo=dt.UTC)
FIXED_NAIVE = FIXED_DATETIME.replace(tzinfo=None)
ZIP_TIMESTAMP = (2025, 3, 3, 9, 0, 0)

Source = dict[str, Any]
"""A parsed TOML source file."""

_CORE_DATE_RE = re.compile(
    r"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)"
)


def load_source(path: Path) -> Source:
    """Parse one TOML source file."""
    with path.open("rb") as handle:
        return tomllib.load(handle)


def prose(text: str) -> str:
    """Collapse a wrapped paragraph (line breaks, indentation, runs of spaces) into one line."""
    return " ".join(text.split())


def block_kind(block: Mapping[str, Any]) -> tuple[str, Any]:
    """Split a one-key block table such as ``{h1 = "..."}`` into its kind and value."""
    if len(block) != 1:
        raise ValueError(f"a block needs exactly one key (its kind), got {sorted(block)}")
    ((kind, value),) = block.items()
    return kind, value


def normalize_ooxml(path: Path) -> None:
    """Rewrite an OOXML zip with fixed entry timestamps and fixed core-property dates."""
    stamp = FIXED_NAIVE.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(path) as src:
        entries = [(info.filename, src.read(info.filename)) for info in src.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in entries:
            if name == "docProps/core.xml":
                text = _CORE_DATE_RE.sub(rf"\g<1>{stamp}\g<2>", data.decode("utf-8"))
                data = text.encode("utf-8")
            info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, data)
    path.write_bytes(buffer.getvalue())
