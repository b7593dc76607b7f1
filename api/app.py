"""The FastAPI application (kept here for `from api.app import create_app`; see api/http/)."""

from api.http.app import create_app

__all__ = ["create_app"]
