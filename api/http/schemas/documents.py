"""Bodies of the document routes: an upload's outcome and a change of groups."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class GroupsUpdate(BaseModel):
    """New access groups for a document."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"groups": ["risk"]}]}
    )

    groups: list[str] = Field(..., description="Groups allowed to read the document.")


class IngestOut(BaseModel):
    """What became of an uploaded document."""

    file: str
    status: str = Field(..., description="ok, or unchanged when the same content was there.")
    chunks: int
    groups: list[str]
