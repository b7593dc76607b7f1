"""Text a browser would not show is never indexed: HTML pages and HTML e-mail bodies."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexes.filters import SearchFilter
from indexes.library import DocumentIndex
from ingest.html_colors import Color, contrast, parse_color
from ingest.html_text import visible_html
from tests.unit.hostile_files import PAGE, VISIBLE, email_with_attachments
from tests.unit.ingest_kit import make_ingester


def stored_text(index: DocumentIndex) -> str:
    rowids = [int(r) for r in index.store.allowed_rowids(SearchFilter())]
    return "\n".join(s.chunk.text for s in index.store.chunks_by_rowids(rowids).values())


def secrets(text: str) -> list[str]:
    return [word for word in text.replace(".", " ").split() if word.endswith("secret")]


def test_only_the_visible_text_of_a_page_is_indexed(index: DocumentIndex, tmp_path: Path) -> None:
    page = tmp_path / "drop" / "fees.html"
    page.parent.mkdir()
    page.write_text(PAGE)
    report = make_ingester(index).run([page.parent])
    assert [o.status for o in report.outcomes] == ["ok"]
    text = stored_text(index)
    assert secrets(text) == []
    for sentence in VISIBLE:
        assert sentence in text
    assert [d.title for d in index.store.documents()] == ["Card fees"]


def test_an_html_email_body_loses_its_hidden_text(index: DocumentIndex, tmp_path: Path) -> None:
    mail = tmp_path / "drop" / "fees.eml"
    mail.parent.mkdir()
    mail.write_bytes(email_with_attachments("Plain version.", {}, html=PAGE))
    make_ingester(index).run([mail.parent])
    text = stored_text(index)
    assert secrets(text) == [] and "Plain version." not in text  # the HTML body is the one
    assert VISIBLE[0] in text and VISIBLE[1] in text


@pytest.mark.parametrize(("value", "color"), [
    ("#fff", Color(255, 255, 255)), ("#FFFFFF80", Color(255, 255, 255, 128 / 255)),
    ("rgb(10%, 0, 255)", Color(25.5, 0, 255)), ("rgba(1 2 3 / 50%)", Color(1, 2, 3, 0.5)),
    ("White", Color(255, 255, 255)), ("transparent", Color(0, 0, 0, 0.0)),
    ("url(x.png)", None), ("rgb(1,2)", None), ("#ggg", None),
])
def test_colours_are_read(value: str, color: Color | None) -> None:
    assert parse_color(value) == color


def test_contrast_ratio_follows_wcag() -> None:
    assert round(contrast(Color(0, 0, 0), Color(255, 255, 255)), 1) == 21.0
    assert contrast(Color(255, 255, 255), Color(255, 255, 255)) == 1.0


def test_a_page_of_nothing_visible_gives_no_text(tmp_path: Path) -> None:
    assert visible_html("<!-- only a comment -->").html == ""
    assert visible_html("   ").html == ""
    assert "secret" not in visible_html('<html style="display:none"><p>secret</p></html>').html
