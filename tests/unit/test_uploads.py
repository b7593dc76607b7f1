"""Uploads: the file-name sanitiser, the groups field, and where an upload is kept."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pytest

from api.uploads import safe_name, store_upload, upload_groups
from indexes.errors import InputError
from ingest.jobs import Ingester
from ingest.outcomes import FileOutcome, IngestReport


@pytest.mark.parametrize(("given", "kept"), [
    ("policy.pdf", "policy.pdf"),
    ("../../etc/passwd", "passwd"),
    ("..\\..\\windows\\system.ini", "system.ini"),
    ("/abs/path/report 2024.docx", "report 2024.docx"),
    ("..", "upload"),
    ("", "upload"),
    ("/", "upload"),
    (".hidden", "hidden"),
    ("  spaced .txt. ", "spaced .txt"),
    ("naïve résumé.pdf", "na_ve r_sum_.pdf"),
    ("a;rm -rf *|b$(x).md", "a_rm -rf _b_x_.md"),
    ("nul\x00byte.txt", "nul_byte.txt"),
])
def test_a_file_name_keeps_no_directory_and_no_odd_character(given: str, kept: str) -> None:
    assert safe_name(given) == kept
    assert "/" not in safe_name(given) and not safe_name(given).startswith(".")


def test_the_groups_field_is_split_trimmed_deduplicated_and_not_empty() -> None:
    assert upload_groups(" staff, risk ,staff,,") == ["risk", "staff"]
    with pytest.raises(InputError, match="at least one group"):
        upload_groups(" , ,")


class _Recorder(Ingester):
    """Records the paths it is asked to ingest; ingests nothing."""

    def __init__(self) -> None:
        self.paths: list[Path] = []

    def run(self, paths: Iterable[Path], progress: object = None,
            default_groups: tuple[str, ...] | None = None) -> IngestReport:
        self.paths.extend(paths)
        return IngestReport([FileOutcome(str(self.paths[-1]), "ok", chunks=2)])


def test_an_upload_is_kept_in_its_content_folder_with_its_groups(tmp_path: Path) -> None:
    ingester = _Recorder()
    outcome = store_upload(ingester, tmp_path, "../../evil.pdf", b"%PDF-1.7", ["risk"])
    assert outcome.chunks == 2
    [path] = ingester.paths
    assert path.parent.parent == tmp_path and path.name == "evil.pdf"
    assert path.read_bytes() == b"%PDF-1.7"
    acl = path.with_name("evil.pdf.acl.json")
    assert json.loads(acl.read_text()) == {"groups": ["risk"]}


def test_two_files_of_one_name_never_overwrite_each_other(tmp_path: Path) -> None:
    ingester = _Recorder()
    store_upload(ingester, tmp_path, "a.txt", b"first", ["risk"])
    store_upload(ingester, tmp_path, "a.txt", b"second", ["risk"])
    store_upload(ingester, tmp_path, "a.txt", b"first", ["risk"])
    first, second, again = ingester.paths
    assert first != second and first == again
    assert first.read_bytes() == b"first" and second.read_bytes() == b"second"
