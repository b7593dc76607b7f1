"""Everything under the data directory is the service user's alone: 0600 files, 0700
folders, whatever the umask the process was started with (indexes/private_files.py)."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import load_settings
from api.wiring import build_services
from tests.unit.fakes import FakeEmbedder, FakeGenerator
from tests.unit.http_kit import LTV_ANSWER, bearer

RECORD = json.dumps({"_id": "fees", "title": "Fees", "text": "The wire fee is ten euros."})


@pytest.fixture
def open_umask() -> Iterator[None]:
    """No umask at all: a file is private only if it was created so."""
    before = os.umask(0)
    try:
        yield
    finally:
        os.umask(before)


def _modes(root: Path) -> dict[str, str]:
    """Every path under `root` (and `root`) with its permission bits, in octal."""
    paths = [root, *root.rglob("*")]
    return {str(p.relative_to(root)): oct(stat.S_IMODE(p.lstat().st_mode)) for p in paths}


def test_every_data_file_is_created_for_the_service_user_only(
    tmp_path: Path, open_umask: None
) -> None:
    data = tmp_path / "data"
    old = data / "left-by-an-older-version"
    old.mkdir(parents=True, mode=0o755)
    (old / "notes.txt").write_text("readable by all")
    (old / "notes.txt").chmod(0o644)
    services = build_services(load_settings(data_dir=data, models_dir=tmp_path / "models"),
                              embedder=FakeEmbedder(), generator=FakeGenerator([LTV_ANSWER]))
    try:
        with TestClient(create_app(services, warm_up=False)) as http:
            owner = bearer(services, "content_owner", ("retail",))
            uploaded = http.post("/v1/documents", headers=owner, data={"groups": "retail"},
                                 files={"file": ("fees.jsonl", RECORD.encode())})
            assert uploaded.status_code == 201, uploaded.text
            assert http.post("/v1/search", json={"query": "wire fee"},
                             headers=owner).status_code == 200
        modes = _modes(data)  # while the databases are open: their -wal and -shm are there
    finally:
        services.close()
    names = {Path(p).name for p in modes}
    assert {"auth.sqlite3", "audit.sqlite3", "store.sqlite3", "store.sqlite3-wal",
            "store.sqlite3-shm", "audit.sqlite3-wal", "vectors.faiss", "vectors.json",
            "fees.jsonl", "fees.jsonl.acl.json"} <= names, names
    readable = {p: m for p, m in modes.items() if int(m, 8) & 0o077}
    assert readable == {}
    assert modes["."] == modes["uploads"] == modes["index"] == oct(0o700)
    assert modes["index/store.sqlite3"] == modes["left-by-an-older-version/notes.txt"] == \
        oct(0o600)


def test_the_coffre_command_runs_with_a_private_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, open_umask: None
) -> None:
    from api.cli import main as entry

    monkeypatch.setenv("COFFRE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr("sys.argv", ["coffre", "keys", "create", "--user", "u", "--groups",
                                     "risk", "--role", "employee", "--quiet"])
    with pytest.raises(SystemExit) as exited:
        entry.main()
    assert exited.value.code == 0
    assert os.umask(0) == 0o077  # what any other file the process writes gets
    assert _modes(tmp_path / "data") == {".": oct(0o700), "auth.sqlite3": oct(0o600)}
