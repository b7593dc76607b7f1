"""Ingestion jobs: walk paths, parse, chunk, embed in batches and store, file by file.

A file that fails is reported with its reason and never stops the others; nothing is written
for it, so what was stored before stays intact. Unchanged files (same content hash) are
skipped, which makes re-running a job cheap and safe.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Protocol

from indexes.library import DocumentBatchItem, DocumentIndex
from indexes.records import ChunkRecord, DocumentRecord, content_id, file_sha256
from indexes.text import detect_language
from ingest.archives import ArchiveLimits
from ingest.chunking import Chunk, Chunker
from ingest.elements import ParsedDocument, ParseError
from ingest.parsing import SUPPORTED_TYPES
from ingest.records import iter_records, record_document
from ingest.titles import cap_title
from ingest.workers import ParseWorkers

ACL_SUFFIX = ".acl.json"
FOLDER_ACL = "_acl.json"


@dataclass
class FileOutcome:
    """What happened to one file: ok, unchanged, failed or unsupported, and why."""

    path: str
    status: str
    reason: str = ""
    documents: int = 0
    chunks: int = 0
    groups: tuple[str, ...] = ()


@dataclass
class IngestReport:
    """Outcomes of every file a job looked at."""

    outcomes: list[FileOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        """Number of files with this status."""
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def chunks(self) -> int:
        """Chunks written by this job."""
        return sum(o.chunks for o in self.outcomes)


class IngestProgress(Protocol):
    """Receives progress events; the CLI draws a progress bar from them."""

    def file_done(self, outcome: FileOutcome) -> None:
        """A file has been fully processed (stored, skipped or failed)."""

    def chunks_done(self, count: int) -> None:
        """`count` more chunks have been embedded and stored."""


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[FileOutcome]]:
    """Files under the given paths, sorted; missing paths come back as failed outcomes."""
    files: list[Path] = []
    missing: list[FileOutcome] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                p for p in sorted(path.rglob("*"))
                if p.is_file() and not _is_hidden(p.relative_to(path)) and not _is_acl(p)
            )
        elif path.is_file():
            files.append(path)
        else:
            missing.append(FileOutcome(str(path), "failed", "no such file or folder"))
    return files, missing


def _is_hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _is_acl(path: Path) -> bool:
    return path.name == FOLDER_ACL or path.name.endswith(ACL_SUFFIX)


def read_groups(path: Path, default: tuple[str, ...]) -> tuple[str, ...]:
    """Access groups from `NAME.acl.json` beside the file, else `_acl.json` in its folder."""
    for candidate in (path.with_name(path.name + ACL_SUFFIX), path.parent / FOLDER_ACL):
        if candidate.is_file():
            try:
                groups = json.loads(candidate.read_text())["groups"]
            except (ValueError, KeyError, TypeError) as exc:
                raise ParseError(str(candidate), f"invalid access file ({exc})") from exc
            if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
                raise ParseError(str(candidate), '"groups" must be a list of strings')
            return tuple(sorted(set(groups)))
    return default


@dataclass
class _Pending:
    outcome: FileOutcome
    items: list[tuple[DocumentRecord, list[Chunk]]]


class Parser(Protocol):
    """Where files are parsed: worker processes (`ParseWorkers`, the default), or for tests
    that do not test them, the calling process (`InProcessParser`)."""

    def parse(self, path: Path, limits: ArchiveLimits) -> ParsedDocument:
        """Parse one file; ParseError naming it when it cannot be."""

    def close(self) -> None:
        """Stop whatever runs the parsing."""


class Ingester:
    """Runs ingestion jobs into one document index; files are parsed by `parser` (by
    default one worker process with the default limits, started at the first file)."""

    def __init__(
        self,
        index: DocumentIndex,
        chunker: Chunker,
        *,
        max_file_bytes: int = 100 * 1024 * 1024,
        archive_limits: ArchiveLimits | None = None,
        batch_chunks: int = 256,
        default_groups: tuple[str, ...] = (),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        parser: Parser | None = None,
    ) -> None:
        self.index = index
        self.chunker = chunker
        self.max_file_bytes = max_file_bytes
        self.archive_limits = archive_limits or ArchiveLimits()
        self.batch_chunks = batch_chunks
        self.default_groups = default_groups
        self.clock = clock
        self.parser: Parser = parser or ParseWorkers()

    def close(self) -> None:
        """Stop the parsing workers (a later job starts fresh ones)."""
        self.parser.close()

    def run(
        self,
        paths: Iterable[Path],
        progress: IngestProgress | None = None,
        default_groups: tuple[str, ...] | None = None,
    ) -> IngestReport:
        """Ingest every file under `paths`; returns one outcome per file.

        `default_groups` (else the ingester's own) applies to files with no access file.
        """
        groups = self.default_groups if default_groups is None else default_groups
        files, missing = discover(paths)
        report = IngestReport(list(missing))
        queue: list[_Pending] = []
        for path in files:
            pending = self._prepare(path, groups)
            if pending.items:
                queue.append(pending)
            else:
                report.outcomes.append(pending.outcome)
                if progress:
                    progress.file_done(pending.outcome)
            if sum(len(c) for p in queue for _, c in p.items) >= self.batch_chunks:
                self._flush(queue, report, progress)
                queue = []
        self._flush(queue, report, progress)
        self.index.save()
        return report

    def _prepare(self, path: Path, default_groups: tuple[str, ...]) -> _Pending:
        """Parse and chunk one file; the outcome says ok/unchanged/failed before storing."""
        outcome = FileOutcome(str(path), "ok")
        try:
            size = path.stat().st_size
            if size > self.max_file_bytes:
                raise ParseError(str(path), f"file is {size / 1e6:.1f} MB, over the "
                                 f"{self.max_file_bytes / 1e6:.0f} MB limit (COFFRE_MAX_FILE_MB)")
            suffix = path.suffix.lower()
            if suffix not in SUPPORTED_TYPES and suffix != ".jsonl":
                return _Pending(FileOutcome(str(path), "unsupported",
                                            f"unsupported file type {suffix or '(none)'}"), [])
            outcome.groups = read_groups(path, default_groups)
            items = list(self._documents(path, outcome.groups))
        except ParseError as exc:
            return _Pending(FileOutcome(str(path), "failed", exc.reason), [])
        except OSError as exc:
            return _Pending(FileOutcome(str(path), "failed", exc.strerror or str(exc)), [])
        if not items:
            outcome.status = "unchanged"
        return _Pending(outcome, items)

    def _documents(
        self, path: Path, groups: tuple[str, ...]
    ) -> Iterator[tuple[DocumentRecord, list[Chunk]]]:
        source = str(path.resolve())
        if path.suffix.lower() == ".jsonl":
            for record in iter_records(path):
                record_hash = content_id(record.title, record.text, length=64)
                yield from self._document(f"{source}#{record.record_id}", record_hash,
                                          groups, partial(record_document, record))
        else:
            yield from self._document(source, file_sha256(path), groups,
                                      lambda: self.parser.parse(path, self.archive_limits))

    def _document(
        self, source: str, content_hash: str, groups: tuple[str, ...],
        parse: Callable[[], ParsedDocument],
    ) -> Iterator[tuple[DocumentRecord, list[Chunk]]]:
        doc_id = content_id(source)
        existing = self.index.store.document_by_path(source)
        if existing is not None and existing.content_hash == content_hash:
            if existing.groups != groups:
                self.index.store.set_groups(doc_id, groups)
            return
        parsed = parse()
        chunks = self.chunker.chunk(parsed.elements)
        if not chunks:
            raise ParseError(source, "no text found")
        text = "\n".join(c.text for c in chunks[:20])
        yield DocumentRecord(
            doc_id=doc_id, source_path=source, title=cap_title(parsed.title),
            content_hash=content_hash,
            mime=parsed.mime, language=detect_language(text), pages=parsed.pages,
            ingested_at=self.clock().isoformat(timespec="seconds"),
            version=(existing.version + 1) if existing else 1, groups=groups,
        ), chunks

    def _flush(
        self, queue: list[_Pending], report: IngestReport, progress: IngestProgress | None
    ) -> None:
        """Embed every queued chunk in one batch, then store each document atomically."""
        texts = [
            embedding_text(doc, chunk) for p in queue for doc, chunks in p.items for chunk in chunks
        ]
        if not texts:
            return
        vectors = self.index.embedder.embed_passages(texts)
        offset = 0
        for pending in queue:
            batch = []
            for doc, chunks in pending.items:
                records = chunk_records(doc, chunks)
                batch.append(DocumentBatchItem(doc, records, vectors[offset:offset + len(chunks)]))
                offset += len(chunks)
                pending.outcome.documents += 1
                pending.outcome.chunks += len(chunks)
            self.index.add(batch)
            report.outcomes.append(pending.outcome)
            if progress:
                progress.chunks_done(pending.outcome.chunks)
                progress.file_done(pending.outcome)


def embedding_text(document: DocumentRecord, chunk: Chunk) -> str:
    """What is embedded for a chunk: its document title and section, then its text."""
    context = [part for part in (document.title, chunk.section) if part]
    context = [part for part in context if not chunk.text.startswith(part)]
    return "\n".join([*context, chunk.text])


def chunk_records(document: DocumentRecord, chunks: list[Chunk]) -> list[ChunkRecord]:
    """Store records for a document's chunks, with ids derived from content."""
    return [
        ChunkRecord(
            chunk_id=content_id(document.doc_id, document.content_hash, str(ordinal)),
            doc_id=document.doc_id,
            ordinal=ordinal,
            text=chunk.text,
            page=chunk.page,
            page_end=chunk.page_end,
            section=chunk.section,
            kind=chunk.kind,
            language=detect_language(chunk.text) if len(chunk.text) > 200 else document.language,
        )
        for ordinal, chunk in enumerate(chunks)
    ]
