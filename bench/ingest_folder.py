"""Ingestion of a folder of mixed documents (PDFs with tables included), in one run.

Builds a deterministic folder of at least 200 documents (default): the SEC filing PDFs of
../shared/samples/pdf (once each; ``--no-filings`` leaves them out), copies of the demo corpus
under several subfolders, and generated PDF, DOCX, XLSX, PPTX, HTML, Markdown and text files
written by the demo corpus writers with different names and figures per index. Then it
ingests the folder with the real job into a throwaway data directory and prints pages/s and
chunks/s, peak memory (this process, and the parse workers), the job's chunks/s against the
embedder alone on the stored chunks' embedding texts (goal >= 0.90), and the job's pages/s
against the parser alone, in this process, on the same files (warmed on one file per type
first: imports are not parsing; the job's figure includes its workers' start-up).

    .venv/bin/python bench/ingest_folder.py [--documents 200] [--no-filings] [--keep DIR]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.settings import load_settings
from api.wiring import build_services
from ingest.archives import ArchiveLimits
from ingest.chunking import Chunk
from ingest.elements import ParseError
from ingest.jobs import embedding_text
from ingest.parsing import parse_file

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "bench" / "demo"
FILINGS = ROOT.parent / "shared" / "samples" / "pdf"
KINDS = ["pdf", "docx", "xlsx", "pdf", "html", "md", "pptx", "txt"]  # generated, in turn
_NAMES = ["Okafor", "Moreau", "Lindqvist", "Haddad", "Novak", "Tanaka", "Ferreira", "Byrne"]
_PLACES = ["Harbour Street", "Northgate", "Riverside", "Old Market", "Westfield", "Quayside"]
_TOPICS = ["Deposits", "Mortgages", "Card fraud", "Branch staffing", "Complaints", "Lending"]
_METRICS = ["New accounts", "Loans approved", "Average balance (EUR)", "Complaints received",
            "Cases closed", "Staff hours", "Transfers processed", "Overdrafts granted"]
_NOTES = ["on target", "above plan", "under review", "below plan", "seasonal peak"]
Row = tuple[str, int, int, str]
HEADER = ("Metric", "Q1", "Q2", "Comment")


@dataclass(frozen=True)
class Section:
    """One generated section: a heading, a paragraph and a four-column table."""

    heading: str
    text: str
    rows: list[Row]


@dataclass(frozen=True)
class Content:
    """One generated document, whatever its format."""

    title: str
    author: str
    intro: str
    sections: list[Section]


def make_content(index: int) -> Content:
    """Deterministic content of generated document ``index`` (names and figures vary)."""
    rng = random.Random(index)
    place, topic = rng.choice(_PLACES), rng.choice(_TOPICS)
    author = f"{rng.choice('ADEIJKLMS')}. {rng.choice(_NAMES)}"
    sections = []
    for number in range(1, rng.randint(2, 4) + 1):
        rows = [(m, rng.randint(10, 9999), rng.randint(10, 9999), rng.choice(_NOTES))
                for m in rng.sample(_METRICS, rng.randint(4, 7))]
        text = (f"In quarter {number} of {2020 + index % 6}, the {place} branch recorded "
                f"{rows[0][1]} {rows[0][0].lower()} against {rows[0][2]} the quarter before. "
                f"Report {index}-{number} was reviewed by {author} on {rng.randint(1, 28)} "
                f"March; the threshold for escalation is {rng.randint(2, 40)} cases a week.")
        sections.append(Section(f"{number}. {topic}: {rng.choice(_NAMES)} review", text, rows))
    intro = (f"Internal report {index:04d} of Northbridge Bank on {topic.lower()} at the "
             f"{place} branch, prepared by {author}. Classification: internal.")
    return Content(f"{topic} report {index:04d} - {place}", author, intro, sections)


def _cells(row: Row) -> list[str]:
    return [row[0], f"{row[1]:,}", f"{row[2]:,}", row[3]]


def _toml(value: Any) -> str:
    """One-line TOML for JSON-like data (inline tables and arrays, JSON-escaped strings)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value)


def _pdf_source(c: Content) -> dict[str, Any]:
    first = [{"title": c.title[:48]}, {"subtitle": f"Author: {c.author}"}, {"p": c.intro}]
    pages = [{"block": first}] + [
        {"block": [{"h1": s.heading}, {"p": s.text}, {"caption": f"Table {n}. {s.heading}"},
                   {"table": [list(HEADER), *map(_cells, s.rows)]}]}
        for n, s in enumerate(c.sections, start=1)]
    return {"metadata": {"title": c.title, "author": c.author, "subject": "Bench document",
                         "creator": "bench/ingest_folder.py", "lang": "en-GB"},
            "header": {"left": c.title, "right": "INTERNAL"},
            "table_layout": {"col_widths": [58, 24, 24, 64],
                             "text_align": ["LEFT", "RIGHT", "RIGHT", "LEFT"]},
            "page": pages}


def _docx_source(c: Content) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [{"title": c.title}, {"p": c.intro}]
    for s in c.sections:
        blocks += [{"h1": s.heading}, {"p": s.text},
                   {"table": [list(HEADER), *map(_cells, s.rows)]}]
    return {"metadata": {"title": c.title, "author": c.author, "lang": "en-GB"},
            "block": blocks}


def _xlsx_source(c: Content) -> dict[str, Any]:
    keys = ["metric", "q1", "q2", "comment"]
    columns = [{"key": k, "header": h, "width": 30 if k == "metric" else 14}
               for k, h in zip(keys, HEADER, strict=True)]
    sheets = [{"name": f"Section {n}", "row": [dict(zip(keys, r, strict=True)) for r in s.rows]}
              for n, s in enumerate(c.sections, start=1)]
    return {"metadata": {"title": c.title, "creator": c.author}, "column": columns,
            "sheet": sheets}


def _pptx_source(c: Content) -> dict[str, Any]:
    slides = [{"title": s.heading,
               "bullets": [s.text[:90], *(f"{r[0]}: {r[1]:,} then {r[2]:,} ({r[3]})"
                                          for r in s.rows[:5])]} for s in c.sections]
    return {"metadata": {"title": c.title, "author": c.author},
            "title_slide": {"title": c.title, "subtitle": c.intro}, "slide": slides}


def _html(c: Content) -> str:
    parts = [f"<!DOCTYPE html><html><head><title>{c.title}</title></head><body>",
             f"<h1>{c.title}</h1><p>{c.intro}</p>"]
    for s in c.sections:
        rows = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in _cells(r)) + "</tr>"
                       for r in s.rows)
        head = "".join(f"<th>{h}</th>" for h in HEADER)
        parts.append(f"<h2>{s.heading}</h2><p>{s.text}</p><table><tr>{head}</tr>{rows}</table>")
    return "\n".join([*parts, "</body></html>\n"])


def _markdown(c: Content) -> str:
    lines = [f"# {c.title}", "", c.intro, ""]
    for s in c.sections:
        lines += [f"## {s.heading}", "", s.text, "", "| " + " | ".join(HEADER) + " |",
                  "| --- | ---: | ---: | --- |"]
        lines += ["| " + " | ".join(_cells(r)) + " |" for r in s.rows] + [""]
    return "\n".join(lines)


def _text(c: Content) -> str:
    lines = [c.title.upper(), "", c.intro, ""]
    for s in c.sections:
        lines += [s.heading, "", s.text, ""]
        lines += [f"  {r[0]:<24} {r[1]:>7,} {r[2]:>7,}  {r[3]}" for r in s.rows] + [""]
    return "\n".join(lines)


@functools.cache
def _writers() -> dict[str, Callable[[Path, Path], None]]:
    """The demo corpus writers (bench/demo, imported as make_corpus.py does)."""
    sys.path.insert(0, str(DEMO))
    from docx_writer import write_docx
    from pdf_writer import write_pdf
    from pptx_writer import write_pptx
    from xlsx_writer import write_xlsx

    return {"pdf": write_pdf, "docx": write_docx, "xlsx": write_xlsx, "pptx": write_pptx}


def _copy(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copyfile(source, target))  # a plain copy, not a link


def write_generated(index: int, out_dir: Path, scratch: Path) -> Path:
    """Write generated document ``index`` (its kind in turn from KINDS); returns its path."""
    kind, content = KINDS[index % len(KINDS)], make_content(index)
    path = out_dir / f"batch-{index // 50:02d}" / f"{kind}-{index:04d}.{kind}"
    path.parent.mkdir(parents=True, exist_ok=True)
    texts = {"html": _html, "md": _markdown, "txt": _text}
    if kind in texts:
        path.write_text(texts[kind](content), encoding="utf-8")
        return path
    sources = {"pdf": _pdf_source, "docx": _docx_source, "xlsx": _xlsx_source,
               "pptx": _pptx_source}
    source = scratch / f"{index:04d}.toml"
    source.write_text("\n".join(f"{k} = {_toml(v)}" for k, v in sources[kind](content).items()))
    _writers()[kind](source, path)
    return path


def build_folder(folder: Path, scratch: Path, documents: int, filings: bool) -> list[Path]:
    """Write the bench folder: filings, demo corpus copies, then generated documents."""
    files: list[Path] = []
    for pdf in sorted(FILINGS.glob("*.pdf")) if filings else []:
        files.append(_copy(pdf, folder / "filings" / pdf.name))
    demo = sorted(p for p in (DEMO / "corpus").iterdir() if p.suffix != ".json")  # not _acl.json
    remaining = max(0, documents - len(files))
    copies = min(3, max(1, remaining // 40))
    subfolders = ["policies", "archive/2024", "teams/retail/shared"][:copies]
    picked = [(sub, p) for sub in subfolders for p in demo][: remaining // 2]
    files += [_copy(source, folder / "demo" / sub / source.name) for sub, source in picked]
    scratch.mkdir(parents=True, exist_ok=True)
    for index in range(documents - len(files)):
        files.append(write_generated(index, folder / "generated", scratch))
    return files


def parse_alone(files: Sequence[Path]) -> tuple[float, int]:
    """Seconds and pages to parse every file in this process; the smallest file of each type
    is parsed first, untimed (imports are not parsing). Files that fail count no page."""
    limits = ArchiveLimits()
    warm = {f.suffix: f for f in sorted(files, key=lambda f: -f.stat().st_size)}
    _parse_pages(list(warm.values()), limits)
    started = time.perf_counter()
    pages = _parse_pages(files, limits)
    return time.perf_counter() - started, pages


def _parse_pages(files: Sequence[Path], limits: ArchiveLimits) -> int:
    pages = 0
    for path in files:
        try:
            pages += parse_file(path, limits).pages or 1
        except ParseError:
            continue
    return pages


def _mib(usage: resource.struct_rusage) -> float:
    return usage.ru_maxrss / 1024  # KiB on Linux


def measure(folder: Path, data_dir: Path) -> dict[str, Any]:
    """Run the ingestion job, then the embedder alone on the stored chunks' texts."""
    services = build_services(load_settings(data_dir=data_dir))
    services.embedder.embed_passages(["warm up"])  # model load is not ingestion
    started = time.perf_counter()
    report = services.ingester.run([folder])
    job_s = time.perf_counter() - started
    self_mib = _mib(resource.getrusage(resource.RUSAGE_SELF))
    store = services.index.store
    rowids = [int(r) for r in store.embeddings()[0]]
    rows = [row for i in range(0, len(rowids), 500)
            for row in store.chunks_by_rowids(rowids[i:i + 500]).values()]
    texts = [embedding_text(r.document, Chunk(r.chunk.text, r.chunk.page, r.chunk.page_end,
                                              r.chunk.section, r.chunk.kind)) for r in rows]
    started = time.perf_counter()
    services.embedder.embed_passages(texts)
    embed_s = time.perf_counter() - started
    documents = store.documents()
    services.close()  # stops (and reaps) the parse workers
    ok = sum(1 for o in report.outcomes if o.status == "ok")
    return {"job_s": job_s, "embed_s": embed_s, "ok": ok,
            "failed": [(o.path, o.reason) for o in report.outcomes if o.status == "failed"],
            "documents": len(documents), "pages": sum(d.pages or 1 for d in documents),
            "chunks": report.chunks, "texts": len(texts),
            "tables": sum(1 for r in rows if r.chunk.kind == "table"), "self_mib": self_mib,
            "children_mib": _mib(resource.getrusage(resource.RUSAGE_CHILDREN))}


def print_table(m: dict[str, Any], date: str, load: tuple[float, float, float]) -> None:
    """Print the figures as a Markdown table row for BENCHMARKS.md."""
    pages_s, chunks_s = m["pages"] / m["job_s"], m["chunks"] / m["job_s"]
    embed_rate, parse_rate = m["texts"] / m["embed_s"], m["parser_pages"] / m["parse_s"]
    heads = ["date", "load 1/5/15 min", "files ok / failed", "documents", "pages",
             "chunks (table)", "job s", "pages/s", "chunks/s", "embedder alone chunks/s",
             "chunks/s ratio (goal >= 0.90)", "parser alone pages/s", "pages/s ratio",
             "peak RSS MiB (job process / parse workers)"]
    cells = [date, "/".join(f"{v:.2f}" for v in load), f"{m['ok']} / {len(m['failed'])}",
             str(m["documents"]), str(m["pages"]), f"{m['chunks']} ({m['tables']})",
             f"{m['job_s']:.1f}", f"{pages_s:.2f}", f"{chunks_s:.1f}", f"{embed_rate:.1f}",
             f"{chunks_s / embed_rate:.3f}", f"{parse_rate:.2f}", f"{pages_s / parse_rate:.3f}",
             f"{m['self_mib']:.0f} / {m['children_mib']:.0f}"]
    print("| " + " | ".join(heads) + " |")
    print("|" + " --- |" * len(heads))
    print("| " + " | ".join(cells) + " |")


def main() -> None:
    """Build the folder, run the measurements and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=200, help="documents in the folder")
    parser.add_argument("--no-filings", action="store_true", help="leave out the SEC filings")
    parser.add_argument("--keep", type=Path, help="write the folder here (new or empty), kept")
    args = parser.parse_args()
    if args.keep and args.keep.is_dir() and any(args.keep.iterdir()):
        parser.error(f"--keep {args.keep}: the folder is not empty")
    date, load = time.strftime("%Y-%m-%d %H:%M"), os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep.resolve() if args.keep else Path(tmp) / "folder"
        files = build_folder(folder, Path(tmp) / "sources", args.documents, not args.no_filings)
        kinds = Counter(f.suffix.lstrip(".") for f in files)
        print(f"folder: {folder} ({len(files)} files: "
              + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) + ")")
        m = measure(folder, Path(tmp) / "data")
        m["parse_s"], m["parser_pages"] = parse_alone(files)
    for path, reason in m["failed"]:
        print(f"failed: {path}: {reason}")
    print_table(m, date, load)


if __name__ == "__main__":
    main()
