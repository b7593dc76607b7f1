"""The API explorer: Swagger UI at `/docs`, over the schema at `/openapi.json`, with its
script, style sheet and icon served from here (`/docs-assets`, the files of the
fastapi-offline package): the browser fetches nothing from any other host, so the page
works offline and makes no outbound request.

Public on purpose, like the pages of api/http/pages.py: the page, its files and the schema
describe the API and hold no bank data; what the explorer fetches from the API itself
needs a key, as every other client does. ReDoc is not served.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs-assets"
ASSETS_PACKAGE = ("fastapi_offline", "static")  # swagger-ui-bundle.js, swagger-ui.css, ...

# Swagger UI's page has an inline start-up script; everything else comes from this server,
# and the browser is told to load or send nothing elsewhere.
EXPLORER_POLICY = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self' 'unsafe-inline'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

router = APIRouter()


def install(app: FastAPI) -> None:
    """Serve the explorer and its files on `app` (built with docs_url and redoc_url None)."""
    app.mount(ASSETS_PATH, StaticFiles(packages=[ASSETS_PACKAGE]), name="docs-assets")
    app.include_router(router)


@router.get(DOCS_PATH, response_class=HTMLResponse, include_in_schema=False)
async def docs(request: Request) -> HTMLResponse:
    """Swagger UI over this app's schema, from this app's own copy of its files."""
    root = request.scope.get("root_path", "")
    page = get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} API",
        swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
        # No online validator: Swagger UI would otherwise send the schema's address to one.
        swagger_ui_parameters={"validatorUrl": None},
    )
    page.headers.update(EXPLORER_POLICY)
    return page
