"""Zip bombs and other hostile archives: refused by name before any parser opens them, in
little memory, while the other files of the run are stored."""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import pytest

from indexes.filters import SearchFilter
from indexes.library import DocumentIndex
from ingest.archives import ArchiveLimits
from ingest.elements import ParseError
from ingest.jobs import Ingester
from ingest.parsing import parse_file
from tests.unit.hostile_files import (
    MAIN_PART,
    MIB,
    bomb_member,
    email_with_attachments,
    memory_peak,
    real_docx,
    with_members,
    zip_bomb,
    zip_bytes,
    zip_with,
)
from tests.unit.ingest_kit import by_name, make_ingester

MEMORY_BUDGET = 50 * MIB


@pytest.fixture
def ingester(index: DocumentIndex, tmp_path: Path) -> Ingester:
    """An ingester that has already parsed a text file, so the parsers' imports are done
    before any memory is measured."""
    ingester = make_ingester(index)
    warm = tmp_path / "warm-up" / "warm.txt"
    warm.parent.mkdir()
    # A real sentence: the first one parsed loads tokenizer data (about 60 MB, once).
    warm.write_text("Mortgage rates are fixed for ten years. Branches open at nine.\n")
    assert ingester.run([warm]).count("ok") == 1
    return ingester


def keyword_texts(index: DocumentIndex, query: str) -> list[str]:
    hits = index.keyword_search(query, 10, SearchFilter())
    stored = index.store.chunks_by_rowids([r for r, _ in hits])
    return [stored[r].chunk.text for r, _ in hits]


def refusal(path: Path, limits: ArchiveLimits | None = None) -> str:
    """The reason `parse_file` refuses `path` for."""
    with pytest.raises(ParseError) as caught:
        parse_file(path, limits)
    assert caught.value.path == str(path)
    return caught.value.reason


def test_a_docx_bomb_is_refused_by_name_in_little_memory_and_the_rest_is_stored(
    index: DocumentIndex, ingester: Ingester, tmp_path: Path
) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    bomb = zip_bomb(folder / "bomb.docx", inflated_mib=300)
    (folder / "notes.txt").write_text("Overdraft limits are reviewed every year.\n")
    with memory_peak() as peak:
        report = ingester.run([folder])
    print(f"\n{bomb.stat().st_size / MIB:.1f} MiB bomb inflating to 300 MiB: "
          + peak.report("refused ingestion"))
    assert peak.traced_bytes < MEMORY_BUDGET
    outcomes = by_name(report)
    assert outcomes["bomb.docx"].status == "failed"
    assert outcomes["bomb.docx"].path.endswith("bomb.docx")
    assert outcomes["bomb.docx"].reason == (
        "unsafe archive: 'word/document.xml' inflates to 300 MB, over the 200 MB limit; "
        "if the file is genuine, raise COFFRE_ARCHIVE_MAX_MB")
    assert outcomes["notes.txt"].status == "ok"
    assert keyword_texts(index, "overdraft") == ["Overdraft limits are reviewed every year."]
    assert [Path(d.source_path).name for d in index.store.documents()] == [
        "notes.txt", "warm.txt"]


@pytest.mark.parametrize("suffix", [".docx", ".pptx", ".xlsx"])
def test_a_member_compressed_past_the_ratio_is_refused_in_every_zip_type(
    tmp_path: Path, suffix: str
) -> None:
    # 20 MiB is under the total limit: only the 1000:1 ratio gives it away.
    bomb = zip_bomb(tmp_path / f"dense{suffix}", inflated_mib=20, level=9)
    reason = refusal(bomb)
    assert reason.startswith(f"unsafe archive: '{MAIN_PART[suffix]}' is compressed ")
    assert reason.endswith(":1, over the 100:1 limit; if the file is genuine, raise "
                           "COFFRE_ARCHIVE_MAX_RATIO")


def test_the_total_of_the_members_counts_as_well_as_each_one(tmp_path: Path) -> None:
    path = tmp_path / "many-parts.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for number in range(3):  # 2 MiB each, under the limit alone, 6 MiB together
            bomb_member(archive, f"word/part{number}.xml", inflated_mib=2)
    limits = ArchiveLimits(max_inflated_bytes=5 * MIB, max_ratio=10_000)
    assert refusal(path, limits) == (
        "unsafe archive: members inflate to more than 5 MB in all, the limit; if the file is "
        "genuine, raise COFFRE_ARCHIVE_MAX_MB")


def test_too_many_members_are_refused_before_the_directory_is_loaded(tmp_path: Path) -> None:
    genuine = tmp_path / "genuine.docx"
    genuine.write_bytes(real_docx("Card fees are charged monthly."))
    assert parse_file(genuine).elements[0].text == "Card fees are charged monthly."
    crowded = zip_with(tmp_path / "crowded.docx", {f"m{i}.xml": b"<a/>" for i in range(41)})
    assert refusal(crowded, ArchiveLimits(max_members=40)) == (
        "unsafe archive: holds more than 40 members, the limit; if the file is genuine, "
        "raise COFFRE_ARCHIVE_MAX_MEMBERS")
    parse_failure = refusal(zip_with(tmp_path / "forty.docx",
                                     {f"m{i}.xml": b"<a/>" for i in range(40)}),
                            ArchiveLimits(max_members=40))
    assert "members" not in parse_failure  # within the limit: on to the parser, which fails


@pytest.mark.parametrize("name", ["../../etc/cron.d/job", "/etc/passwd", "word/../../x.xml",
                                  "C:\\Windows\\win.ini", "..\\..\\evil.dll"])
def test_member_names_leaving_the_archive_are_refused(tmp_path: Path, name: str) -> None:
    docx = tmp_path / "escape.docx"
    docx.write_bytes(with_members(real_docx("Fees."), {name: b"x"}))
    assert refusal(docx) == (
        f"unsafe archive: member name {name!r} points outside the archive; office "
        "applications never write this: save the document again from one")


def test_a_member_name_given_twice_is_refused(tmp_path: Path) -> None:
    docx = tmp_path / "twice.docx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate it is told to write
        docx.write_bytes(with_members(real_docx("Fees."), {"word/document.xml": b"<x/>"}))
    assert refusal(docx).startswith("unsafe archive: member name 'word/document.xml' appears "
                                    "twice")


def test_embedded_archives_are_checked_and_nesting_stops_at_one_level(tmp_path: Path) -> None:
    workbook = zip_bytes({"xl/worksheets/sheet1.xml": b"<sheetData/>"})
    benign = tmp_path / "with-workbook.docx"
    benign.write_bytes(with_members(real_docx("Rates are fixed."),
                                    {"word/embeddings/Sheet1.xlsx": workbook}))
    assert parse_file(benign).elements[0].text == "Rates are fixed."

    inner = tmp_path / "inner.zip"
    zip_bomb(inner.with_suffix(".docx"), inflated_mib=20, level=9).rename(inner)
    hidden_bomb = tmp_path / "hidden-bomb.docx"
    hidden_bomb.write_bytes(with_members(real_docx("Fees."),
                                         {"word/embeddings/pack.bin": inner.read_bytes()}))
    reason = refusal(hidden_bomb)
    assert reason.startswith("unsafe archive: embedded 'word/embeddings/pack.bin': "
                             "'word/document.xml' is compressed ")

    nested = tmp_path / "nested.docx"
    nested.write_bytes(with_members(real_docx("Fees."), {
        "word/embeddings/outer.zip": zip_bytes({"inner.zip": workbook})}))
    assert refusal(nested) == (
        "unsafe archive: embedded 'word/embeddings/outer.zip': 'inner.zip' is an archive "
        "inside an embedded archive (nested more than one level deep); office applications "
        "never write this: save the document again from one")


def test_an_email_body_is_stored_and_its_attachments_never_parsed(
    index: DocumentIndex, ingester: Ingester, tmp_path: Path
) -> None:
    bomb = zip_bomb(tmp_path / "bomb.docx", inflated_mib=300).read_bytes()
    mail = tmp_path / "mail" / "fees.eml"
    mail.parent.mkdir()
    mail.write_bytes(email_with_attachments(
        "The wire fee rises to twelve euros in June.",
        {"bomb.docx": bomb, "memo.docx": real_docx("Attached memo about vaults.")}))
    with memory_peak() as peak:
        report = ingester.run([mail.parent])
    print("\n" + peak.report("e-mail with a 300 MiB zip bomb attached"))
    assert peak.traced_bytes < MEMORY_BUDGET
    assert [(o.status, o.reason) for o in report.outcomes] == [("ok", "")]
    assert keyword_texts(index, "wire fee") == ["The wire fee rises to twelve euros in June."]
    assert keyword_texts(index, "vaults") == []


def test_a_file_that_is_no_zip_still_fails_as_unparseable(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04" + b"\x00" * 300)
    assert refusal(broken).startswith("cannot parse: not a readable zip archive")


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        ArchiveLimits(max_members=0)
    with pytest.raises(ValueError, match="positive"):
        ArchiveLimits(max_ratio=0.5)
