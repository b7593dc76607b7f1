"""Property: no route ever returns or cites a chunk outside the caller's groups.

Random documents with random groups, random callers; the real FastAPI app (in-process over
httpx's ASGI transport), real SQLite and FAISS, fake models for speed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from api.settings import load_settings
from api.wiring import Services, build_services
from tests.unit.fakes import FakeEmbedder, FakeGenerator, make_item

GROUPS = ["risk", "retail", "hr"]
WORDS = ["loan", "card", "salary", "fee", "branch", "limit", "merger", "audit"]

documents = st.lists(
    st.tuples(st.lists(st.sampled_from(GROUPS), max_size=2, unique=True),
              st.lists(st.sampled_from(WORDS), min_size=3, max_size=8)),
    min_size=1, max_size=6,
)
callers = st.lists(st.lists(st.sampled_from(GROUPS), max_size=2, unique=True),
                   min_size=1, max_size=3)


def _services(folder: Path) -> Services:
    settings = load_settings(data_dir=folder, top_k=4, min_relevance=-1.0,
                             verification_threshold=0.0)
    generator = FakeGenerator(["The loan fee applies [1]. ", "Cards carry a limit [2]."])
    return build_services(settings, embedder=FakeEmbedder(), generator=generator)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=documents, users=callers, query=st.lists(st.sampled_from(WORDS), min_size=1,
                                                     max_size=3))
def test_no_route_leaks_a_chunk_outside_the_callers_groups(
    docs: list[tuple[list[str], list[str]]], users: list[list[str]], query: list[str]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        services = _services(Path(tmp))
        embedder = services.embedder
        items = [make_item(embedder, f"doc{i}", [" ".join(words)], groups=groups)  # type: ignore[arg-type]
                 for i, (groups, words) in enumerate(docs)]
        services.index.add(items)
        groups_of = {item.chunks[0].chunk_id: set(item.document.groups) for item in items}
        doc_groups = {item.document.doc_id: set(item.document.groups) for item in items}
        with TestClient(create_app(services, warm_up=False)) as http:
            for user_groups in users:
                key, _ = services.keys.create("u", user_groups, "employee")
                headers = {"authorization": f"Bearer {key}"}
                mine = set(user_groups)
                text = " ".join(query)
                found = http.post("/v1/search", json={"query": text, "top_k": 10},
                                  headers=headers).json()["results"]
                assert all(groups_of[r["chunk_id"]] & mine for r in found)
                answer = http.post("/v1/ask", json={"question": text}, headers=headers).json()
                assert all(groups_of[c["chunk_id"]] & mine for c in answer["citations"])
                assert all(groups_of[s["chunk_id"]] & mine for s in answer["sources"])
                listed = http.get("/v1/documents", headers=headers).json()
                assert {d["doc_id"] for d in listed} == {
                    d for d, g in doc_groups.items() if g & mine}
                absent = http.get("/v1/chunks/0000", headers=headers)
                for chunk_id, groups in groups_of.items():
                    response = http.get(f"/v1/chunks/{chunk_id}", headers=headers)
                    if groups & mine:
                        assert response.status_code == 200
                    else:
                        assert response.status_code == absent.status_code == 404
                        assert response.json()["detail"].replace(chunk_id, "") == \
                            absent.json()["detail"].replace("0000", "")
        services.close()
