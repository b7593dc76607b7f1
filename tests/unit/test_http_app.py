"""The app itself: health and console need no credentials, the error mapping, start-up."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from api.wiring import Services, build_services
from indexes.errors import CoffreError, InputError, UnavailableError
from rag.errors import ModelBusyError
from tests.unit.fakes import FakeEmbedder, FakeGenerator
from tests.unit.http_kit import LTV_QUESTION, bearer, library

ROUTES = {
    ("GET", "/healthz"), ("GET", "/console"), ("POST", "/v1/ask"), ("POST", "/v1/search"),
    ("GET", "/v1/documents"), ("POST", "/v1/documents"), ("DELETE", "/v1/documents/{doc_id}"),
    ("PATCH", "/v1/documents/{doc_id}"), ("GET", "/v1/chunks/{chunk_id}"), ("GET", "/v1/audit"),
    ("POST", "/v1/chat/completions"), ("GET", "/v1/models"),
    ("POST", "/v1/ingest/jobs"), ("GET", "/v1/ingest/jobs"), ("GET", "/v1/ingest/jobs/{job_id}"),
    ("DELETE", "/v1/ingest/jobs/{job_id}"), ("GET", "/v1/documents/{doc_id}/versions"),
}


def test_health_and_console_answer_without_credentials(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    console = client.get("/console")
    assert console.status_code == 200 and console.headers["content-type"].startswith("text/html")
    assert "/v1/audit" in console.text


def test_every_route_is_there(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    found = {(method.upper(), path) for path, item in schema["paths"].items() for method in item}
    assert found == ROUTES - {("GET", "/console")}  # the console page is not an API route
    assert client.get("/console").status_code == 200


def test_every_coffre_error_maps_to_its_status_headers_and_message(services: Services) -> None:
    app = create_app(services, warm_up=False)
    errors: dict[str, CoffreError] = {
        "input": InputError("field x: wrong"), "busy": ModelBusyError(3),
        "down": UnavailableError("the store is unreadable"), "root": CoffreError("oops"),
    }
    def raising(error: CoffreError) -> Callable[[], None]:
        def fail() -> None:
            raise error
        return fail

    for name, error in errors.items():
        app.add_api_route(f"/fail/{name}", raising(error))
    with TestClient(app, raise_server_exceptions=False) as http:
        for name, error in errors.items():
            response = http.get(f"/fail/{name}")
            assert response.status_code == error.http_status
            assert response.json() == {"detail": str(error)}
            for header, value in error.headers.items():
                assert response.headers[header] == value


class _FileModel(FakeGenerator):
    """A model with a file: loads and fingerprints, counting when."""

    def __init__(self) -> None:
        super().__init__(["The maximum loan-to-value is 70 percent [1]."])
        self.loads = 0
        self.hashed = 0

    def load(self) -> None:
        self.loads += 1

    @property
    def sha256(self) -> str:
        self.hashed += 1
        return "ab" * 32


def test_start_up_loads_and_fingerprints_the_model_before_any_request(tmp_path: Path) -> None:
    from api.settings import load_settings

    model = _FileModel()
    services = build_services(load_settings(data_dir=tmp_path), embedder=FakeEmbedder(),
                              generator=model)
    library(services)
    headers = bearer(services, "employee", ("lending",))
    with TestClient(create_app(services)) as http:
        assert (model.loads, model.hashed) == (1, 1)
        http.post("/v1/ask", json={"question": LTV_QUESTION}, headers=headers)
    [record] = [r.body for r in services.audit.records()]
    assert record["model_sha256"] == "ab" * 32
    services.close()
