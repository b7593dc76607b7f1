"""Every command, run into each domain error it can meet: one red line on standard error
naming the problem, the error's exit code (or the command's documented one), no traceback."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from typer.testing import Result

from api.cli.common import Wiring
from indexes.audit import AuditLog
from indexes.errors import AuditError, EmbedderError
from rag.errors import GenerationError, ModelBusyError
from rag.generation import GenerationConfig
from tests.unit.cli_kit import fake_wiring, records, run, write_corpus
from tests.unit.fakes import FakeEmbedder, FakeGenerator
from tests.unit.http_kit import LTV_QUESTION

Args = Callable[[Path], list[str]]


def _corpus(tmp_path: Path) -> str:
    return str(write_corpus(tmp_path))


def _questions(tmp_path: Path) -> str:
    path = tmp_path / "questions.jsonl"
    path.write_text(json.dumps({"id": "q1", "question": LTV_QUESTION, "expect": "answer",
                                "answer_contains": [["70"]], "gold_file": "policy.jsonl"}) + "\n")
    return str(path)


def _beir(tmp_path: Path) -> str:
    folder = tmp_path / "beir"
    folder.mkdir(exist_ok=True)
    (folder / "corpus.jsonl").write_text('{"_id": "d1", "title": "T", "text": "Loan text."}\n')
    (folder / "queries.jsonl").write_text('{"_id": "q1", "text": "loan"}\n')
    (folder / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    return str(folder)


COMMANDS: dict[str, Args] = {
    "ingest": lambda t: ["ingest", _corpus(t)],
    "search": lambda t: ["search", "loan-to-value"],
    "ask": lambda t: ["ask", LTV_QUESTION],
    "serve": lambda t: ["serve"],
    "demo": lambda t: ["demo", "--no-serve", "--corpus", _corpus(t)],
    "eval retrieval": lambda t: ["eval", "retrieval", _beir(t)],
    "eval answers": lambda t: ["eval", "answers", _questions(t), "--corpus", _corpus(t)],
    "models list": lambda t: ["models", "list"],
    "models install": lambda t: ["models", "install", "no-such-model"],
    "models use": lambda t: ["models", "use", "no-such-model"],
    "keys create": lambda t: ["keys", "create", "--user", "u", "--role", "employee"],
    "keys list": lambda t: ["keys", "list"],
    "keys revoke": lambda t: ["keys", "revoke", "nokey"],
    "audit verify": lambda t: ["audit", "verify"],
    "audit export": lambda t: ["audit", "export"],
}


def _one_red_line(result: Result, code: int, expected: str) -> None:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    # The command ended by exiting with its code, not by an exception escaping it.
    assert result.exception is None or isinstance(result.exception, SystemExit)
    last = result.stderr.rstrip("\n").splitlines()[-1]
    assert expected in last, result.stderr
    assert result.stderr.count(expected) == 1  # the message is printed once, on one line


@pytest.fixture(autouse=True)
def _no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_wrong_setting_stops_every_command(tmp_path: Path, command: str) -> None:
    result = run(fake_wiring(tmp_path), *COMMANDS[command](tmp_path), env={"COFFRE_TOP_K": "0"})
    _one_red_line(result, 2, "invalid settings: COFFRE_TOP_K: Input should be greater than")


SERVICE_COMMANDS = ["ingest", "search", "ask", "serve", "demo", "eval answers"]


@pytest.mark.parametrize("command", SERVICE_COMMANDS)
def test_an_index_of_another_embedding_model(tmp_path: Path, command: str) -> None:
    run(fake_wiring(tmp_path), "ingest", _corpus(tmp_path))
    other = fake_wiring(tmp_path, FakeEmbedder(model_id="another-model"))
    result = run(other, *COMMANDS[command](tmp_path))
    _one_red_line(result, 3, "index built with embedding model 'fake-hash-64' but "
                             "'another-model' is configured")


class _BrokenEmbedder(FakeEmbedder):
    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        raise EmbedderError("the embedding model cannot be loaded from /models/x")

    def embed_query(self, text: str) -> np.ndarray:
        raise EmbedderError("the embedding model cannot be loaded from /models/x")


@pytest.mark.parametrize("command", ["ingest", "search", "ask", "demo", "eval answers"])
def test_an_embedding_model_that_cannot_load(tmp_path: Path, command: str) -> None:
    result = run(fake_wiring(tmp_path, _BrokenEmbedder()), *COMMANDS[command](tmp_path))
    _one_red_line(result, 3, "the embedding model cannot be loaded from /models/x")


class _FailingModel(FakeGenerator):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def stream(self, messages: list[dict[str, str]], config: GenerationConfig) -> Iterator[str]:
        raise self.error
        yield ""  # pragma: no cover


@pytest.mark.parametrize("command", ["ask", "demo", "eval answers"])
@pytest.mark.parametrize("error", [GenerationError("the answer model failed: out of memory"),
                                   ModelBusyError(2)])
def test_an_answer_model_that_fails(tmp_path: Path, command: str, error: Exception) -> None:
    wiring = fake_wiring(tmp_path, generator=_FailingModel(error))
    run(wiring, "ingest", _corpus(tmp_path))
    result = run(wiring, *COMMANDS[command](tmp_path))
    _one_red_line(result, 4, str(error))


@pytest.mark.parametrize("command", ["ask", "serve", "demo", "eval answers"])
def test_no_answer_model_installed(tmp_path: Path, command: str) -> None:
    wiring = fake_wiring(tmp_path, real_generator=True)
    run(wiring, "ingest", _corpus(tmp_path))
    result = run(wiring, *COMMANDS[command](tmp_path))
    _one_red_line(result, 3, "is not installed in")


def test_a_named_evaluation_model_that_is_not_installed(tmp_path: Path) -> None:
    result = run(fake_wiring(tmp_path), *COMMANDS["eval answers"](tmp_path), "--models",
                 "qwen2.5-coder-0.5b")
    _one_red_line(result, 2, "model qwen2.5-coder-0.5b is not installed")


@pytest.mark.parametrize("command", ["search", "ask"])
def test_an_audit_trail_that_cannot_be_written(
    tmp_path: Path, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    wiring = fake_wiring(tmp_path, generator=FakeGenerator(["It is 70 percent [1]."]))
    run(wiring, "ingest", _corpus(tmp_path))

    def refuse(*_: object, **__: object) -> None:
        raise AuditError("audit record not written: disk full")

    monkeypatch.setattr(AuditLog, "append", refuse)
    _one_red_line(run(wiring, *COMMANDS[command](tmp_path)), 3,
                  "audit record not written: disk full")


@pytest.mark.parametrize(("args", "code", "expected"), [
    (["models", "install", "no-such-model"], 1, "unknown model"),
    (["models", "use", "no-such-model"], 2, "unknown model"),
    (["keys", "create", "--user", "u", "--role", "boss"], 2, "unknown role 'boss'"),
    (["keys", "create", "--user", " ", "--role", "employee"], 2, "a key needs a user"),
    (["keys", "revoke", "nokey"], 1, "no active key nokey"),
])
def test_catalogue_and_key_errors(
    tmp_path: Path, args: list[str], code: int, expected: str
) -> None:
    _one_red_line(run(fake_wiring(tmp_path), *args), code, expected)


@pytest.mark.parametrize(("args", "expected"), [
    (lambda t: ["eval", "retrieval", str(t / "nowhere")], "missing corpus.jsonl"),
    (lambda t: ["eval", "answers", str(t / "none.jsonl")], "no such question file"),
])
def test_a_missing_evaluation_set(tmp_path: Path, args: Args, expected: str) -> None:
    _one_red_line(run(fake_wiring(tmp_path), *args(tmp_path)), 2, expected)


def test_a_corpus_that_fails_to_ingest_exits_1(tmp_path: Path) -> None:
    beir = Path(_beir(tmp_path))
    (beir / "corpus.jsonl").write_text("{broken\n")
    _one_red_line(run(fake_wiring(tmp_path), "eval", "retrieval", str(beir)), 1, "corpus.jsonl")


def test_main_maps_an_error_to_its_line_and_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.cli import main as entry

    monkeypatch.setenv("COFFRE_TOP_K", "0")
    monkeypatch.setattr("sys.argv", ["coffre", "keys", "list"])
    with pytest.raises(SystemExit) as exited:
        entry.main()
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.strip().startswith("invalid settings: COFFRE_TOP_K")
    assert "Traceback" not in captured.err


def test_wiring_defaults_to_the_real_settings(tmp_path: Path) -> None:
    assert Wiring().settings.__name__ == "load_settings"


@pytest.mark.parametrize(("question", "expected"), [
    ("   ", "QUESTION: the question is empty"),
    ("x" * 4001, "QUESTION: the question is 4,001 characters, over the limit of 4,000"),
])
def test_a_blank_or_huge_question_is_refused_before_anything_loads(
    tmp_path: Path, question: str, expected: str
) -> None:
    _one_red_line(run(fake_wiring(tmp_path), "ask", question), 2, expected)
    assert not [r for r in records(tmp_path) if r["kind"] == "ask"]
