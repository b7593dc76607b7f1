"""Two OS processes writing to one data directory, each through its own DocumentIndex.

The parent drives two spawned writer processes. A writer can be held at a chosen point of a
write (just before or just after its SQLite transaction) while the other one writes, which
makes the interleavings that used to lose chunks deterministic: a process that read the
store's generation after its commit recorded the other process's generation without its
vectors, and its vector search then missed the other process's chunks.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from indexes.filters import SearchFilter
from indexes.library import DocumentIndex
from indexes.store import Store
from tests.unit.fakes import FakeEmbedder, make_item

NO_FILTER = SearchFilter()
ANSWER_TIMEOUT_S = 120
# One word per document; their fake embeddings are distinct (checked below).
WORDS = ("apple", "banana", "cherry", "damson", "elder", "fig", "guava", "hazel", "juniper",
         "kumquat")


def _text(word: str) -> str:
    return f"{word} report"


def _doc_id(name: str) -> str:
    return make_item(FakeEmbedder(), name, ["x"]).document.doc_id


# -- the writer process ---------------------------------------------------------------------


def _serve(folder: str, conn: Connection) -> None:
    """Run the parent's commands against this process's own DocumentIndex until "stop"."""
    embedder = FakeEmbedder()
    index = DocumentIndex(Path(folder), embedder)
    try:
        while (command := conn.recv())[0] != "stop":
            try:
                conn.send(("done", _run(index, embedder, conn, command)))
            except Exception:
                conn.send(("error", traceback.format_exc()))
    finally:
        index.close()


def _run(index: DocumentIndex, embedder: FakeEmbedder, conn: Connection, command: tuple[Any, ...]
         ) -> list[str]:
    kind, *args = command
    if kind == "check":
        return problems(index, embedder, *args)
    if kind == "add":
        word, hold = args
        with _held(index.store, "replace_document", hold, conn):
            index.add([make_item(embedder, word, [_text(word)])])
    else:
        word, hold = args
        with _held(index.store, "delete_document", hold, conn):
            assert index.delete(_doc_id(word))
    index.save()  # as an ingestion job does at its end
    return []


class _held:
    """While active, `store.<method>` stops before or after its transaction ("before",
    "after"; "" for neither), tells the parent, and waits until the parent says resume."""

    def __init__(self, store: Store, method: str, hold: str, conn: Connection) -> None:
        self.store, self.method, self.hold, self.conn = store, method, hold, conn

    def __enter__(self) -> None:
        original: Callable[..., Any] = getattr(self.store, self.method)

        def held(*args: Any) -> Any:
            if self.hold == "before":
                self._wait()
            result = original(*args)
            if self.hold == "after":
                self._wait()
            return result

        setattr(self.store, self.method, held)

    def __exit__(self, *exc: object) -> None:
        vars(self.store).pop(self.method)

    def _wait(self) -> None:
        self.conn.send(("held", []))
        assert self.conn.recv() == ("resume",)


def problems(index: DocumentIndex, embedder: FakeEmbedder, live: list[str], gone: list[str]
             ) -> list[str]:
    """What this index fails to find: `live` documents (by word) must be found by both
    searches, `gone` ones by neither, and FAISS must hold exactly the store's chunks."""
    found: list[str] = []
    stored = {int(r) for r in index.store.allowed_rowids(NO_FILTER)}
    probe = embedder.embed_query("anything")
    in_faiss = {r for r, _ in index.vector_search(probe, len(stored) + 10, NO_FILTER)}
    if in_faiss != stored:
        found.append(f"FAISS holds {sorted(in_faiss)}, the store {sorted(stored)}")
    for word in live + gone:
        rowids = {int(r) for r in index.store.allowed_rowids(
            SearchFilter(doc_ids=frozenset({_doc_id(word)}))
        )}
        vector = index.vector_search(embedder.embed_query(_text(word)), 1, NO_FILTER)
        keyword = {r for r, _ in index.keyword_search(word, 10, NO_FILTER)}
        if word in live and not (len(rowids) == 1 and {vector[0][0]} == rowids == keyword):
            found.append(f"{word}: stored {rowids}, vector {vector}, keyword {keyword}")
        if word in gone and (rowids or keyword):
            found.append(f"{word}: deleted but stored {rowids}, keyword {keyword}")
    return found


# -- the parent -----------------------------------------------------------------------------


class Writer:
    """The parent's handle on one writer process."""

    def __init__(self, context: Any, folder: Path) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(str(folder), child), daemon=True)
        self.process.start()
        child.close()

    def send(self, *command: object) -> None:
        self.conn.send(command)

    def expect(self, status: str) -> list[str]:
        assert self.conn.poll(ANSWER_TIMEOUT_S), f"writer {self.process.pid} did not answer"
        answer, payload = self.conn.recv()
        if answer == "error":
            pytest.fail(f"writer {self.process.pid} failed:\n{payload}")
        assert answer == status
        return list(payload)

    def stop(self) -> None:
        if self.process.is_alive():
            self.send("stop")
            self.process.join(ANSWER_TIMEOUT_S)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


@pytest.fixture
def writers(index_dir: Path) -> Iterator[tuple[Writer, Writer]]:
    context = multiprocessing.get_context("spawn")  # no fork of a process running threads
    first, second = Writer(context, index_dir), Writer(context, index_dir)
    yield first, second
    first.stop()
    second.stop()


def write(writer: Writer, command: tuple[object, ...],
          meanwhile: tuple[Writer, tuple[object, ...]] | None = None) -> None:
    """Run a write; with `meanwhile`, the other writer's write runs while this one is held."""
    writer.send(*command)
    if meanwhile is not None:
        writer.expect("held")
        other, other_command = meanwhile
        other.send(*other_command)
        other.expect("done")
        writer.send("resume")
    writer.expect("done")


def test_fake_vectors_of_the_words_are_distinct() -> None:
    vectors = FakeEmbedder().embed_passages([_text(w) for w in WORDS])
    cosines = vectors @ vectors.T
    assert np.max(cosines - np.eye(len(WORDS)) * 2) < 0.99


def test_alternating_writers_each_find_every_chunk(
    writers: tuple[Writer, Writer], index_dir: Path
) -> None:
    a, b = writers
    steps: list[tuple[Writer, tuple[object, ...], tuple[Writer, tuple[object, ...]] | None]] = [
        (a, ("add", "apple", ""), None),
        (b, ("add", "banana", ""), None),
        # A commits, then B commits before A has followed its own write in FAISS.
        (a, ("add", "cherry", "after"), (b, ("add", "damson", ""))),
        # B has synced FAISS, then A commits before B's transaction starts.
        (b, ("add", "elder", "before"), (a, ("add", "fig", ""))),
        (a, ("delete", "banana", "after"), (b, ("add", "guava", ""))),
        (b, ("delete", "cherry", "before"), (a, ("add", "hazel", ""))),
        (a, ("add", "juniper", ""), None),
        (b, ("add", "kumquat", "after"), (a, ("delete", "apple", ""))),
    ]
    live: list[str] = []
    gone: list[str] = []
    for writer, command, meanwhile in steps:
        write(writer, command, meanwhile)
        for step in (command, meanwhile[1] if meanwhile else None):
            if step is not None and step[0] == "add":
                live.append(str(step[1]))
            elif step is not None:
                live.remove(str(step[1]))
                gone.append(str(step[1]))
        for each in (a, b):
            each.send("check", live, gone)
            found = each.expect("done")
            assert found == [], f"after {command} with {meanwhile and meanwhile[1]}: {found}"

    # A third index opening the folder afterwards finds the same.
    reopened = DocumentIndex(index_dir, FakeEmbedder())
    assert problems(reopened, FakeEmbedder(), live, gone) == []
    reopened.close()
