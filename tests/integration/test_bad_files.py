"""Real parsers on bad input: encrypted and truncated files are refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from ingest.elements import ParseError
from ingest.parsing import parse_file
from tests.integration.conftest import DEMO_CORPUS

pytestmark = pytest.mark.integration


def test_password_protected_pdf_is_refused_by_name(tmp_path: Path) -> None:
    writer = PdfWriter()
    for page in PdfReader(DEMO_CORPUS / "retail-credit-policy.pdf").pages:
        writer.add_page(page)
    writer.encrypt(user_password="secret", owner_password="owner")
    locked = tmp_path / "locked.pdf"
    with locked.open("wb") as handle:
        writer.write(handle)
    with pytest.raises(ParseError) as error:
        parse_file(locked)
    assert error.value.path.endswith("locked.pdf")
    assert "password-protected" in error.value.reason


def test_truncated_docx_is_refused_by_name(tmp_path: Path) -> None:
    broken = tmp_path / "broken.docx"
    broken.write_bytes((DEMO_CORPUS / "aml-kyc-procedure.docx").read_bytes()[:3000])
    with pytest.raises(ParseError) as error:
        parse_file(broken)
    assert "broken.docx" in str(error.value)
