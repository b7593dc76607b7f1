"""Zip-based files (DOCX, PPTX, XLSX) checked before any parser opens them.

A zip bomb is a small file that inflates to gigabytes; a parser reading it runs the server
out of memory before any limit of its own stops it. So, from the zip's own directory and
before parsing: the number of members (counted from the raw central directory, before
`zipfile` builds one object per entry), each member's name (no absolute path, no `..`, no
duplicate), each member's declared inflated size and compression ratio, and the declared
total. An archive inside the file (an embedded workbook, say) is checked the same way, its
sizes counting against the same total; an archive inside that one is refused.

Nothing here inflates a member except the first bytes of each (to recognise an embedded
archive) and an embedded archive's directory. The parsers (python-docx, python-pptx,
openpyxl) and this module read members through `zipfile`, which stops a member at its
declared size whatever its compressed stream holds (then fails its CRC check), so checking
the declared sizes and ratios bounds what parsing can inflate.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ingest.elements import ParseError

MIB = 1024 * 1024
_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_CD_ENTRY = struct.Struct("<4s6H3L5H2L")  # a central directory entry's fixed part
_ZIP_MAGIC = b"PK\x03\x04"
_GENUINE = "if the file is genuine, raise "
_RESAVE = "office applications never write this: save the document again from one"


@dataclass(frozen=True)
class ArchiveLimits:
    """What a zip-based file may hold (COFFRE_ARCHIVE_MAX_MB, _MAX_RATIO, _MAX_MEMBERS)."""

    max_inflated_bytes: int = 200 * MIB
    max_ratio: float = 100.0
    max_members: int = 10_000
    ratio_floor_bytes: int = MIB  # small members may compress well: only larger ones count

    def __post_init__(self) -> None:
        if self.max_inflated_bytes < 1 or self.max_members < 1 or self.max_ratio < 1:
            raise ValueError("archive limits must be positive (the ratio at least 1)")


@dataclass
class _Budget:
    """What the members checked so far add up to, embedded archives included."""

    members: int = 0
    inflated: int = 0


def check_archive(path: Path, limits: ArchiveLimits) -> None:
    """Refuse a zip-based file over `limits`, naming the member and the limit; inflates no
    member but an embedded archive (within the limits). A file that is no zip is unparseable."""
    try:
        with path.open("rb") as handle:
            _check(handle, limits, _Budget(), within="")
    except (zipfile.BadZipFile, zlib.error, struct.error, EOFError, ValueError,
            NotImplementedError, RuntimeError) as exc:  # what a malformed zip raises
        raise ParseError(str(path), f"cannot parse: not a readable zip archive ({exc})") from exc
    except _Refusal as refusal:
        raise ParseError(str(path), f"unsafe archive: {refusal}") from None


class _Refusal(Exception):
    """An archive over a limit; the message says which member and which limit."""


def _check(handle: IO[bytes], limits: ArchiveLimits, budget: _Budget, within: str) -> None:
    entries = _count_entries(handle, limits.max_members - budget.members)
    if entries is None:
        what = "takes the members past" if within else "holds more than"
        raise _Refusal(f"{within}{what} {limits.max_members:,} members, the limit; "
                       f"{_GENUINE}COFFRE_ARCHIVE_MAX_MEMBERS")
    with zipfile.ZipFile(handle) as archive:
        seen: set[str] = set()
        for info in archive.infolist():
            name = _shown(info.filename)
            _check_name(info.filename, seen, within)
            budget.members += 1
            budget.inflated += info.file_size
            _check_size(info, name, within, limits, budget)
            if _is_archive(archive, info):
                if within:
                    raise _Refusal(f"{within}{name} is an archive inside an embedded archive "
                                   f"(nested more than one level deep); {_RESAVE}")
                with archive.open(info) as member:
                    _check(member, limits, budget, within=f"embedded {name}: ")


def _check_name(name: str, seen: set[str], within: str) -> None:
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":") \
            or "\x00" in name:
        raise _Refusal(f"{within}member name {_shown(name)} points outside the archive; "
                       f"{_RESAVE}")
    if name in seen:
        raise _Refusal(f"{within}member name {_shown(name)} appears twice; {_RESAVE}")
    seen.add(name)


def _check_size(
    info: zipfile.ZipInfo, name: str, within: str, limits: ArchiveLimits, budget: _Budget
) -> None:
    limit_mb = limits.max_inflated_bytes / MIB
    if info.file_size > limits.max_inflated_bytes:
        raise _Refusal(f"{within}{name} inflates to {info.file_size / MIB:,.0f} MB, over the "
                       f"{limit_mb:,.0f} MB limit; {_GENUINE}COFFRE_ARCHIVE_MAX_MB")
    ratio = info.file_size / max(1, info.compress_size)
    if info.file_size > limits.ratio_floor_bytes and ratio > limits.max_ratio:
        raise _Refusal(f"{within}{name} is compressed {ratio:,.0f}:1, over the "
                       f"{limits.max_ratio:,.0f}:1 limit; {_GENUINE}COFFRE_ARCHIVE_MAX_RATIO")
    if budget.inflated > limits.max_inflated_bytes:
        raise _Refusal(f"members inflate to more than {limit_mb:,.0f} MB in all, the limit; "
                       f"{_GENUINE}COFFRE_ARCHIVE_MAX_MB")


def _is_archive(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """Whether a member is itself a zip archive, from its first bytes."""
    if info.is_dir() or info.file_size < len(_ZIP_MAGIC):
        return False
    with archive.open(info) as member:
        return member.read(len(_ZIP_MAGIC)) == _ZIP_MAGIC


def _count_entries(handle: IO[bytes], allowed: int) -> int | None:
    """Entries of the central directory, or None past `allowed`; reads only their fixed part.

    `zipfile` builds an object for every entry up front, and a 100 MB directory of empty
    entries costs gigabytes of them, so the count comes first.
    """
    start, size = _directory(handle)
    if size // _CD_ENTRY.size <= allowed:  # no room for more entries than allowed
        return size // _CD_ENTRY.size
    handle.seek(start)
    count = read = 0
    while read < size:
        fixed = handle.read(_CD_ENTRY.size)
        if len(fixed) < _CD_ENTRY.size or fixed[:4] != b"PK\x01\x02":
            raise zipfile.BadZipFile("bad central directory entry")
        fields = _CD_ENTRY.unpack(fixed)
        variable = fields[10] + fields[11] + fields[12]  # name, extra field, comment
        handle.seek(variable, 1)
        read += _CD_ENTRY.size + variable
        count += 1
        if count > allowed:
            return None
    return count


def _directory(handle: IO[bytes]) -> tuple[int, int]:
    """Where the central directory starts and its size, from the end records."""
    handle.seek(0, 2)
    length = handle.tell()
    tail_start = max(0, length - _EOCD.size - 0xFFFF)
    handle.seek(tail_start)
    tail = handle.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _EOCD.size:
        raise zipfile.BadZipFile("no end of central directory record")
    record = _EOCD.unpack(tail[at:at + _EOCD.size])
    size, offset = record[5], record[6]
    end = tail_start + at  # the directory ends where the end records begin
    if 0xFFFF in record[1:5] or 0xFFFFFFFF in (size, offset):
        locator_at = at - _ZIP64_LOCATOR.size
        locator = _ZIP64_LOCATOR.unpack(tail[locator_at:at]) if locator_at >= 0 else None
        if locator is None or locator[0] != b"PK\x06\x07":
            raise zipfile.BadZipFile("zip64 end record locator missing")
        handle.seek(locator[2])
        zip64 = _ZIP64_EOCD.unpack(handle.read(_ZIP64_EOCD.size))
        if zip64[0] != b"PK\x06\x06":
            raise zipfile.BadZipFile("zip64 end record missing")
        size, end = zip64[8], locator[2]
    return max(0, end - size), size


def _shown(name: str) -> str:
    """A member name as quoted in a message: printable, and short even if the name is not."""
    return repr(name if len(name) <= 80 else name[:77] + "...")
