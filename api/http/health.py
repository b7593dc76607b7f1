"""`GET /healthz`: liveness, without credentials."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()


@router.get("/healthz", summary="Liveness: answers even while an answer is being generated")
async def healthz() -> dict[str, object]:
    """Always ok while the process serves requests."""
    return {"status": "ok"}
