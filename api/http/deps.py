"""What routes depend on: the services the app was built over, and the caller's identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from api.auth import Identity
from api.wiring import Services


def services(request: Request) -> Services:
    """The services the app was created over (`create_app`)."""
    found: Services = request.app.state.services
    return found


def caller(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Identity:
    """The authenticated caller of a request (every route but /healthz needs one).

    A plain function on purpose: FastAPI runs it in the threadpool, so the key lookup
    (SQLite) never blocks the event loop.
    """
    return services(request).authenticator.identify(authorization)


Caller = Annotated[Identity, Depends(caller)]
ServicesDep = Annotated[Services, Depends(services)]
