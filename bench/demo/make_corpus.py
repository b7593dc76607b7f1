"""Generate the Coffre demo corpus: invented internal documents of "Northbridge Bank".

Run from the repository root:

    .venv/bin/python bench/demo/make_corpus.py [--out DIR]

The script writes ten files in ``bench/demo/corpus/`` (or ``DIR``) covering the formats
Coffre ingests (PDF, DOCX, XLSX, PPTX, HTML, Markdown, e-mail, plain text), two of them in
French. Every document is fictional and is packed with specific facts (amounts, thresholds,
deadlines, names) so that the questions in ``bench/demo/questions.jsonl`` have unambiguous
answers.

The documents' content lives in ``bench/demo/sources/``, one file per corpus file: TOML for
the PDF, Word, Excel, PowerPoint and e-mail files (each file's header comment explains its
layout). The HTML, Markdown and text files are written by hand: the files in ``corpus/``
are their own source, copied as they are when the output goes elsewhere. The writers are the modules
beside this script (``pdf_writer``, ``docx_writer``, ``xlsx_writer``, ``pptx_writer``,
``text_writers``, sharing ``corpus_common``).

Output is deterministic: all dates and metadata are fixed, and the Office files (which are
zip archives) are rewritten with fixed entry timestamps and fixed ``docProps/core.xml``
dates, so two runs produce byte-identical files.

The PDF layout is controlled page by page (explicit page breaks); the script aborts if any
page overflows, because ``gold_page`` in the question file depends on it. Only the PDF's
page 3 carries the loan-to-value table.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from docx_writer import write_docx
from pdf_writer import write_pdf
from pptx_writer import write_pptx
from text_writers import copy_text, write_eml
from xlsx_writer import write_xlsx

HERE = Path(__file__).resolve().parent
SOURCES_DIR = HERE / "sources"
OUT_DIR = HERE / "corpus"
REPO_ROOT = HERE.parent.parent

Writer = Callable[[Path, Path], None]
"""Reads a source file and writes a corpus file: ``writer(source_path, out_path)``."""

# (corpus file, source file in sources/, writer), in the order they are written.
CORPUS: list[tuple[str, str, Writer]] = [
    ("retail-credit-policy.pdf", "retail-credit-policy.toml", write_pdf),
    ("aml-kyc-procedure.docx", "aml-kyc-procedure.toml", write_docx),
    ("fee-schedule.xlsx", "fee-schedule.toml", write_xlsx),
    ("new-joiner-onboarding.pptx", "new-joiner-onboarding.toml", write_pptx),
    ("travel-and-expenses.html", "../corpus/travel-and-expenses.html", copy_text),
    ("it-security-faq.md", "../corpus/it-security-faq.md", copy_text),
    ("wire-cutoff-change.eml", "wire-cutoff-change.toml", write_eml),
    ("branch-opening-hours.txt", "../corpus/branch-opening-hours.txt", copy_text),
    ("politique-teletravail.docx", "politique-teletravail.toml", write_docx),
    ("procedure-reclamations.html", "../corpus/procedure-reclamations.html", copy_text),
    # An older procedure whose cut-off times the e-mail above replaced: their metadata files
    # give both effective dates, so answers follow the newer one.
    ("payment-orders-procedure.md", "../corpus/payment-orders-procedure.md", copy_text),
    ("payment-orders-procedure.md.meta.json", "../corpus/payment-orders-procedure.md.meta.json",
     copy_text),
    ("wire-cutoff-change.eml.meta.json", "../corpus/wire-cutoff-change.eml.meta.json",
     copy_text),
]


def _display(path: Path) -> Path:
    """Show a path relative to the repository root when it lies inside it."""
    return path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path


def main(argv: list[str] | None = None) -> None:
    """Build every corpus file into ``--out`` (default ``bench/demo/corpus``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder")
    out_dir: Path = parser.parse_args(argv).out.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, source_name, writer in CORPUS:
        path = out_dir / name
        writer(SOURCES_DIR / source_name, path)
        print(f"{_display(path)}  {path.stat().st_size:>7} bytes")


if __name__ == "__main__":
    main()
