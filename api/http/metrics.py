"""`GET /metrics`: Coffre's Prometheus metrics, without credentials (COFFRE_METRICS=false:
the route does not exist).

Why no key: Prometheus scrapers usually send none, and what is exported holds nothing to
protect. Every label comes from a fixed set (route templates, methods, statuses, channels,
refusal reasons): no question, answer, user, group or document appears in it. A bank keeps
the port on loopback or behind its proxy, as it does /healthz; turn it off where even
request counts must not be seen.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.metrics import CONTENT_TYPE
from api.wiring import Services

router = APIRouter()


# Not in the OpenAPI schema: it is read by a scraper, not by an API client.
@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """The metrics now, in the Prometheus text format.

    Written in the event loop on purpose: it only reads counters in memory, so it never
    waits for a worker thread (those may all be busy with answers), the model or SQLite.
    The services are read off the app, not through a dependency, for the same reason.
    """
    services: Services = request.app.state.services
    return Response(services.metrics.exposition(), media_type=CONTENT_TYPE)
