"""What the CLI tests share: the `coffre` app run in-process over the fake models."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from typer.testing import CliRunner, Result

from api.cli.common import Wiring
from api.cli.main import app
from api.settings import Settings, load_settings
from api.wiring import Services, build_services
from indexes.embedder import Embedder
from rag.generation import Generator
from tests.unit.fakes import FakeEmbedder, FakeGenerator


def fake_wiring(
    folder: Path, embedder: Embedder | None = None, generator: Generator | None = None,
    *, real_generator: bool = False,
) -> Wiring:
    """Settings over `folder` (data, and an empty models folder; COFFRE_* variables still
    apply), services through the real wiring with the fake models, or with the real (lazy)
    answer model when `real_generator`."""
    model = None if real_generator else (generator or FakeGenerator())
    chosen = embedder or FakeEmbedder()

    def services(settings: Settings) -> Services:
        return build_services(settings, embedder=chosen, generator=model)

    return Wiring(settings=partial(load_settings, data_dir=folder / "data",
                                   models_dir=folder / "models"), services=services)


def run(wiring: Wiring, *args: str, env: dict[str, str] | None = None) -> Result:
    """`coffre ARGS` in-process; its exit code, standard output and standard error."""
    return CliRunner().invoke(app, list(args), obj=wiring, env=env)


def records(folder: Path) -> list[dict[str, object]]:
    """The bodies on the audit trail of the data folder under `folder`."""
    from indexes.audit import AuditLog

    log = AuditLog(folder / "data" / "audit.sqlite3")
    bodies = [r.body for r in log.records()]
    log.close()
    return bodies


def write_corpus(folder: Path) -> Path:
    """A folder with two JSON Lines documents (read without a document parser) and an
    access file granting them to group `lending`."""
    corpus = folder / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / "policy.jsonl").write_text(
        '{"_id": "ltv", "title": "Retail Credit Policy", "text": "The maximum loan-to-value '
        'for a buy-to-let mortgage is 70 percent of the valuation."}\n', encoding="utf-8")
    (corpus / "cards.jsonl").write_text(
        '{"_id": "fee", "title": "Card tariffs", "text": "The card fee is five euros per '
        'month for a classic debit card."}\n', encoding="utf-8")
    (corpus / "_acl.json").write_text('{"groups": ["lending"]}', encoding="utf-8")
    return corpus
