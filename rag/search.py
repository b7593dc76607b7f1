"""Search for an answer's passages: the question as asked and, outside the embedder's
languages, translated; the phrasing whose passages match the documents better is kept.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from indexes.filters import SearchFilter
from rag.generation import Generator
from rag.retrieval import Hit, Retriever, SearchMode
from rag.translation import QueryTranslator, match_strength


@dataclass(frozen=True)
class Retrieval:
    """The passages found for a question, and the translation they were found with."""

    hits: tuple[Hit, ...]
    search_query: str | None = None
    seconds: float = 0.0  # spent searching and translating, counted in the answer's timings


class Searcher:
    """Finds the passages for a question, translating it when the embedder would not read it."""

    def __init__(self, retriever: Retriever, translator: QueryTranslator | None) -> None:
        self.retriever = retriever
        self.translator = translator

    def using(self, generator: Generator) -> Searcher:
        """The same searcher translating with another model (or not translating, as before)."""
        translator = self.translator and QueryTranslator(
            generator, self.translator.language, self.translator.known
        )
        return Searcher(self.retriever, translator)

    def search(
        self,
        text: str,
        top_k: int,
        search_filter: SearchFilter | None = None,
        mode: SearchMode | None = None,
    ) -> Retrieval:
        """The passages for a question; one outside the embedder's languages is also searched
        translated, and the phrasing whose passages match better (mean cosine) is kept.
        """
        started = time.perf_counter()
        hits = self.retriever.search(text, top_k, search_filter, mode)
        translated = (
            self.translator.translate(text)
            if self.translator is not None and self.translator.needed(text) else None
        )
        if translated is not None:
            other = self.retriever.search(translated, top_k, search_filter, mode)
            if match_strength(other) > match_strength(hits):
                return Retrieval(tuple(other), translated, time.perf_counter() - started)
        return Retrieval(tuple(hits), None, time.perf_counter() - started)
