"""Bodies of `POST /v1/search`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api.http.schemas.common import Filters, SearchResult
from rag.retrieval import SearchMode
from rag.search import Retrieval


class SearchRequest(BaseModel):
    """A search: ranked chunks, no generation."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"query": "maximum loan-to-value buy-to-let", "top_k": 5}]},
    )

    query: str = Field(..., min_length=1, max_length=10000, description="What to look for.")
    top_k: int = Field(10, ge=1, le=100, description="How many chunks to return.")
    mode: SearchMode | None = Field(
        None, description="hybrid, vector or keyword; default from settings."
    )
    filters: Filters | None = None


class SearchResponse(BaseModel):
    """Ranked chunks, best first."""

    results: list[SearchResult]
    search_query: str | None = Field(None, description=(
        "The query as translated into the embedding model's language, when the results "
        "were found with it (see COFFRE_QUERY_TRANSLATION); null: searched as given."))

    @classmethod
    def of(cls, retrieval: Retrieval) -> SearchResponse:
        """From the searcher's result."""
        return cls(results=[SearchResult.of(h) for h in retrieval.hits],
                   search_query=retrieval.search_query)
