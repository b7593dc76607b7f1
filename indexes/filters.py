"""Filters applied to the store before any ranking: access groups and metadata."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class SearchFilter:
    """Which chunks a search may see. Every field narrows; None means no restriction.

    `groups` is the caller's access groups: a document is visible when it shares at least one
    group with them. None means an unrestricted caller (an administrator or a local CLI user).
    """

    groups: frozenset[str] | None = None
    doc_ids: frozenset[str] | None = None
    path_prefix: str | None = None
    ingested_after: datetime | None = None
    ingested_before: datetime | None = None
    # Documents never to return (expired ones: see `Retriever`), whatever else lets them.
    excluded_doc_ids: frozenset[str] | None = None

    @property
    def is_empty(self) -> bool:
        """True when the filter lets every chunk through."""
        return (
            self.groups is None
            and self.doc_ids is None
            and self.path_prefix is None
            and self.ingested_after is None
            and self.ingested_before is None
            and not self.excluded_doc_ids
        )

    def document_clause(self, alias: str = "d") -> tuple[str, list[object]]:
        """SQL condition over the documents table (aliased `alias`) and its parameters."""
        clauses: list[str] = []
        params: list[object] = []
        if self.groups is not None:
            clauses.append(
                f"EXISTS (SELECT 1 FROM json_each({alias}.groups) g "
                f"WHERE g.value IN ({','.join('?' * len(self.groups)) or 'NULL'}))"
            )
            params.extend(sorted(self.groups))
        if self.doc_ids is not None:
            clauses.append(f"{alias}.doc_id IN ({','.join('?' * len(self.doc_ids)) or 'NULL'})")
            params.extend(sorted(self.doc_ids))
        if self.path_prefix is not None:
            clauses.append(f"substr({alias}.source_path, 1, ?) = ?")
            params.extend([len(self.path_prefix), self.path_prefix])
        if self.ingested_after is not None:
            clauses.append(f"{alias}.ingested_at >= ?")
            params.append(_utc_text(self.ingested_after))
        if self.ingested_before is not None:
            clauses.append(f"{alias}.ingested_at <= ?")
            params.append(_utc_text(self.ingested_before))
        if self.excluded_doc_ids:
            marks = ",".join("?" * len(self.excluded_doc_ids))
            clauses.append(f"{alias}.doc_id NOT IN ({marks})")
            params.extend(sorted(self.excluded_doc_ids))
        return (" AND ".join(clauses) or "1"), params


def _utc_text(moment: datetime) -> str:
    """The form ingestion times are stored in (UTC, seconds), so text order is time order."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="seconds")
