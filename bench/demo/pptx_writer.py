"""Write the demo corpus slide deck (new-joiner onboarding) from its TOML source."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pptx
from corpus_common import FIXED_NAIVE, load_source, normalize_ooxml
from pptx.presentation import Presentation
from pptx.text.text import TextFrame
from pptx.util import Pt

Bullet = str | Mapping[str, Any]
"""A top-level bullet, or ``{level = N, text = "..."}`` for a sub-bullet."""


def _add_bullets(frame: TextFrame, bullets: Sequence[Bullet]) -> None:
    """Fill a body placeholder: 20 pt top-level bullets, 16 pt sub-bullets."""
    for index, bullet in enumerate(bullets):
        if isinstance(bullet, str):
            level, text = 0, bullet
        else:
            level, text = int(bullet["level"]), str(bullet["text"])
        paragraph = frame.paragraphs[0] if index == 0 else frame.add_paragraph()
        paragraph.text = text
        paragraph.level = level
        paragraph.font.size = Pt(20 if level == 0 else 16)


def _set_core(presentation: Presentation, meta: Mapping[str, str]) -> None:
    """Fill the core properties (title, author) with fixed dates."""
    props = presentation.core_properties
    props.title = meta["title"]
    props.author = meta["author"]
    props.last_modified_by = meta["author"]
    props.created = FIXED_NAIVE
    props.modified = FIXED_NAIVE
    props.last_printed = FIXED_NAIVE
    props.revision = 1


def write_pptx(source_path: Path, out_path: Path) -> None:
    """Write the deck: a title slide, then one title-and-content slide per ``[[slide]]``."""
    source = load_source(source_path)
    presentation = pptx.Presentation()
    title_slide = presentation.slides.add_slide(presentation.slide_layouts[0])
    title_slide.shapes.title.text = source["title_slide"]["title"]
    title_slide.placeholders[1].text = source["title_slide"]["subtitle"]
    for slide_source in source["slide"]:
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        slide.shapes.title.text = slide_source["title"]
        _add_bullets(slide.placeholders[1].text_frame, slide_source["bullets"])
    _set_core(presentation, source["metadata"])
    presentation.save(str(out_path))
    normalize_ooxml(out_path)
