"""Ingestion jobs: walk paths, parse, chunk, embed in batches and store, file by file.

A file that fails is reported with its reason and never stops the others; nothing is written
for it, so what was stored before stays intact. Unchanged files (same content hash, sidecar
metadata included) are skipped, which makes re-running a job cheap and safe: a job killed
half way is finished by running it again. A job that keeps a folder in sync also retires the
documents whose files left it (out of search and FAISS; their versions stay on record).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Protocol

from indexes.filters import SearchFilter
from indexes.formats import embedded_text
from indexes.library import DocumentBatchItem, DocumentIndex
from indexes.records import ChunkRecord, DocumentRecord, VersionEnd, content_id, file_sha256
from indexes.text import detect_language
from ingest.archives import ArchiveLimits
from ingest.chunking import Chunk, Chunker
from ingest.elements import ParsedDocument, ParseError
from ingest.outcomes import FileOutcome, FileStatus, IngestProgress, IngestReport
from ingest.parsing import SUPPORTED_TYPES
from ingest.records import iter_records, record_document
from ingest.sources import DocumentMeta, discover, read_groups, read_meta
from ingest.titles import cap_title
from ingest.workers import ParseWorkers

# Files parsed ahead of the one being stored: enough to keep the parsers busy while the
# embedder works through a whole batch (a batch of 256 chunks took 3 s to embed and its
# small files 0.15 s each to parse, so a window of two files idled the parsers, measured
# 2026-12-02), few enough to bound what waits in memory.
PARSE_WINDOW = 32

@dataclass(frozen=True)
class _Stamp:
    """What every document of one file is stored with, besides its content."""

    groups: tuple[str, ...]
    meta: DocumentMeta
    modified: str


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
        parse_ahead: int = 1,
    ) -> None:
        self.index = index
        self.chunker = chunker
        self.max_file_bytes = max_file_bytes
        self.archive_limits = archive_limits or ArchiveLimits()
        self.batch_chunks = batch_chunks
        self.default_groups = default_groups
        self.clock = clock
        self.parser: Parser = parser or ParseWorkers()
        self.parse_ahead = parse_ahead  # files parsed at once (one per worker process)
        self._writing = threading.Lock()
        # Sources the running job met, and files it could not read: what a folder sync keeps.
        self._seen_sources: set[str] = set()
        self._failed: set[str] = set()

    def close(self) -> None:
        """Stop the parsing workers (a later job starts fresh ones)."""
        self.parser.close()

    def run(
        self,
        paths: Iterable[Path],
        progress: IngestProgress | None = None,
        default_groups: tuple[str, ...] | None = None,
        *,
        sync: bool = False,
    ) -> IngestReport:
        """Ingest every file under `paths`; returns one outcome per file.

        `default_groups` (else the ingester's own) applies to files with no access file.
        With `sync`, documents stored from a folder among `paths` whose file is no longer
        there are retired. One job writes at a time: another waits for it.
        """
        paths = list(paths)
        groups = self.default_groups if default_groups is None else default_groups
        with self._writing:
            self._seen_sources, self._failed = set(), set()
            files, missing = discover(paths)
            report = IngestReport(list(missing))
            try:
                self._ingest(files, groups, report, progress)
                if sync:
                    self._retire_missing(paths, files, report, progress)
            finally:  # a cancelled job keeps what it committed, vectors saved with it
                self.index.save()
        return report

    def _ingest(
        self, files: list[Path], groups: tuple[str, ...], report: IngestReport,
        progress: IngestProgress | None,
    ) -> None:
        queue: list[_Pending] = []
        with closing(self._prepared(files, groups)) as prepared:  # parsing stops with the job
            for pending in prepared:
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

    def _prepared(
        self, files: list[Path], groups: tuple[str, ...]
    ) -> Generator[_Pending, None, None]:
        """Each file parsed and chunked, in order, up to PARSE_WINDOW files ahead, in
        `parse_ahead` threads (each waits on a worker process) while the caller embeds and
        stores: a job takes about the slower of parsing and embedding, not their sum."""
        pool = ThreadPoolExecutor(max_workers=self.parse_ahead, thread_name_prefix="parse")
        ahead: deque[Future[_Pending]] = deque()
        remaining = iter(files)
        try:
            for path in islice(remaining, PARSE_WINDOW):
                ahead.append(pool.submit(self._prepare, path, groups))
            while ahead:
                pending = ahead.popleft().result()
                for path in islice(remaining, 1):
                    ahead.append(pool.submit(self._prepare, path, groups))
                yield pending
        finally:  # a cancelled job: files not started are dropped, started ones finish
            pool.shutdown(wait=True, cancel_futures=True)

    def _retire_missing(
        self, paths: list[Path], files: list[Path], report: IngestReport,
        progress: IngestProgress | None,
    ) -> None:
        """Retire the documents of each folder in `paths` that this job did not meet there.

        A file that failed keeps its stored version (a broken copy does not retire the good
        one), and a folder with no file at all retires nothing: an unmounted share looks so.
        """
        at = self.clock().isoformat(timespec="seconds")
        found = [f.resolve() for f in files]
        for given in (p for p in paths if p.is_dir()):
            folder = given.resolve()
            prefix = str(folder).rstrip("/") + "/"
            stored = self.index.store.documents(SearchFilter(path_prefix=prefix))
            if stored and not any(f.is_relative_to(folder) for f in found):
                report.outcomes.append(FileOutcome(str(given), FileStatus.FAILED,
                                                   "the folder is empty: nothing retired"))
                continue
            for document in stored:
                file = document.source_path.split("#", 1)[0]
                if document.source_path in self._seen_sources or file in self._failed:
                    continue
                self.index.delete(document.doc_id, VersionEnd.RETIRED, at)
                outcome = FileOutcome(document.source_path, FileStatus.RETIRED,
                                      "no longer in the folder", documents=1)
                report.outcomes.append(outcome)
                if progress:
                    progress.file_done(outcome)

    def _prepare(self, path: Path, default_groups: tuple[str, ...]) -> _Pending:
        """Parse and chunk one file; the outcome says ok/unchanged/failed before storing."""
        outcome = FileOutcome(str(path), FileStatus.OK)
        try:
            size = path.stat().st_size
            if size > self.max_file_bytes:
                raise ParseError(str(path), f"file is {size / 1e6:.1f} MB, over the "
                                 f"{self.max_file_bytes / 1e6:.0f} MB limit (COFFRE_MAX_FILE_MB)")
            suffix = path.suffix.lower()
            if suffix not in SUPPORTED_TYPES and suffix != ".jsonl":
                return _Pending(FileOutcome(outcome.path, FileStatus.UNSUPPORTED,
                                            f"unsupported file type {suffix or '(none)'}"), [])
            outcome.groups = read_groups(path, default_groups)
            items = list(self._documents(path, outcome.groups, read_meta(path)))
        except ParseError as exc:
            return self._failure(path, exc.reason)
        except OSError as exc:
            return self._failure(path, exc.strerror or str(exc))
        if not items:
            outcome.status = FileStatus.UNCHANGED
        return _Pending(outcome, items)

    def _failure(self, path: Path, reason: str) -> _Pending:
        """A file refused: its stored version, if any, stays (a sync does not retire it)."""
        self._failed.add(str(path.resolve()))
        return _Pending(FileOutcome(str(path), FileStatus.FAILED, reason), [])

    def _documents(
        self, path: Path, groups: tuple[str, ...], meta: DocumentMeta
    ) -> Iterator[tuple[DocumentRecord, list[Chunk]]]:
        source = str(path.resolve())
        modified = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")
        stamp = _Stamp(groups, meta, modified)
        if path.suffix.lower() == ".jsonl":
            for record in iter_records(path):
                record_hash = content_id(record.title, record.text, meta.digest, length=64)
                yield from self._document(f"{source}#{record.record_id}", record_hash,
                                          stamp, partial(record_document, record))
        else:
            file_hash = file_sha256(path)
            content_hash = content_id(file_hash, meta.digest, length=64) if meta.digest \
                else file_hash
            yield from self._document(source, content_hash, stamp,
                                      lambda: self.parser.parse(path, self.archive_limits))

    def _document(
        self, source: str, content_hash: str, stamp: _Stamp,
        parse: Callable[[], ParsedDocument],
    ) -> Iterator[tuple[DocumentRecord, list[Chunk]]]:
        self._seen_sources.add(source)
        doc_id = content_id(source)
        existing = self.index.store.document_by_path(source)
        if existing is not None and existing.content_hash == content_hash:
            if existing.groups != stamp.groups:
                self.index.store.set_groups(doc_id, stamp.groups)
            return
        parsed = parse()
        chunks = self.chunker.chunk(parsed.elements)
        if not chunks:
            raise ParseError(source, "no text found")
        text = "\n".join(c.text for c in chunks[:20])
        meta = stamp.meta
        yield DocumentRecord(
            doc_id=doc_id, source_path=source, title=cap_title(meta.title or parsed.title),
            content_hash=content_hash, mime=parsed.mime,
            language=meta.language or detect_language(text), pages=parsed.pages,
            ingested_at=self.clock().isoformat(timespec="seconds"),
            version=self.index.store.latest_version(doc_id) + 1, groups=stamp.groups,
            source_modified_at=stamp.modified, owner=meta.owner,
            effective_date=meta.effective_date, expiry_date=meta.expiry_date, tags=meta.tags,
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
    """What is embedded for a chunk (`indexes.formats.embedded_text`)."""
    return embedded_text(document.title, chunk.section, chunk.text)


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
