"""Answer evaluation: a question set asked through the normal answering path, and scored.

Every model answers from the same retrieved passages (retrieval runs once per question), so
the table compares the models, not the retrieval.
"""

from __future__ import annotations

import json
import resource
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.answering import Answerer
from rag.answers import Answer, Query
from rag.evaluation.errors import EvalError
from rag.generation import Generator
from rag.search import Retrieval


@dataclass(frozen=True)
class Question:
    """One evaluation question, as in bench/demo/questions.jsonl."""

    id: str
    question: str
    expect: str  # "answer" or "refuse"
    answer_contains: list[list[str]]
    gold_file: str | None
    gold_page: int | None


def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:.1f}% ({n}/{d})" if d else "-"


def _median(values: list[float], digits: int) -> str:
    return f"{statistics.median(values):.{digits}f}" if values else "-"


@dataclass
class ModelScore:
    """What one model achieved over the question set (a tally, filled answer by answer)."""

    model: str
    answerable: int = 0
    unanswerable: int = 0
    facts: int = 0  # answers containing every expected fact
    cited: int = 0  # answers citing the gold document (and page, when given)
    correct: int = 0  # both of the above
    refused_ok: int = 0
    refused_wrongly: int = 0
    first_token_s: list[float] = field(default_factory=list)
    total_s: list[float] = field(default_factory=list)
    tokens_per_s: list[float] = field(default_factory=list)
    peak_rss_mb: float = 0.0  # of the whole process, after this model's answers

    def row(self) -> dict[str, object]:
        """Summary figures for the table."""
        return {
            "model": self.model,
            "correct+cited": _pct(self.correct, self.answerable),
            "facts": _pct(self.facts, self.answerable),
            "gold cited": _pct(self.cited, self.answerable),
            "refused (unanswerable)": _pct(self.refused_ok, self.unanswerable),
            "wrong refusals": _pct(self.refused_wrongly, self.answerable),
            "median TTFT s": _median(self.first_token_s, 2),
            "median total s": _median(self.total_s, 2),
            "tokens/s": _median(self.tokens_per_s, 1),
            "peak RSS MB": f"{self.peak_rss_mb:.0f}",
        }


def _question(data: Any) -> Question:
    """One line's question (JSON as parsed: a missing field raises KeyError)."""
    return Question(
        str(data["id"]), str(data["question"]), str(data["expect"]),
        [list(group) for group in data.get("answer_contains") or []],
        data.get("gold_file"), data.get("gold_page"),
    )


def load_questions(path: Path) -> list[Question]:
    """Questions from a JSON Lines file; a bad line raises EvalError naming it."""
    if not path.is_file():
        raise EvalError(f"{path}: no such question file")
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            questions.append(_question(json.loads(line)))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise EvalError(f"{path}: line {number}: {exc}") from exc
    return questions


def _normalise(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").replace("\u202f", " ").replace(
        "\u00a0", " ").split())


def contains_facts(answer: str, groups: list[list[str]]) -> bool:
    """Every group has at least one alternative in the answer (case-insensitive)."""
    text = _normalise(answer)
    return all(any(_normalise(alt) in text for alt in group) for group in groups)


def cites_gold(answer: Answer, question: Question) -> bool:
    """A citation points to the gold file (and gold page when the question gives one)."""
    return any(
        question.gold_file and Path(c.source_path).name == question.gold_file
        and (question.gold_page is None or c.page == question.gold_page)
        for c in answer.citations
    )


def _time(score: ModelScore, answer: Answer) -> None:
    timings = answer.timings
    score.first_token_s.append(timings.first_token_s or 0.0)
    score.total_s.append(timings.total_s)
    if timings.answer_tokens >= 2 and timings.decode_s:
        score.tokens_per_s.append((timings.answer_tokens - 1) / timings.decode_s)


def score_answer(score: ModelScore, question: Question, answer: Answer) -> None:
    """Add one answer to a model's tally."""
    _time(score, answer)
    if question.expect == "refuse":
        score.unanswerable += 1
        score.refused_ok += answer.refused
        return
    score.answerable += 1
    if answer.refused:
        score.refused_wrongly += 1
        return
    facts = contains_facts(answer.text, question.answer_contains)
    cited = cites_gold(answer, question)
    score.facts += facts
    score.cited += cited
    score.correct += facts and cited


OnAnswer = Callable[[str, Question, Answer], None]


def evaluate_models(
    answerer: Answerer,
    questions: list[Question],
    generators: dict[str, Generator],
    on_answer: OnAnswer | None = None,
) -> list[ModelScore]:
    """Answer every question with every model over the same retrieval results."""
    # Retrieval runs once, foreign questions translated by the first model: loading the
    # default model as well would distort the memory figures.
    first = answerer.using(next(iter(generators.values())))
    top_k = first.config.top_k
    found: dict[str, Retrieval] = {
        q.id: first.searcher.search(q.question, top_k) for q in questions
    }
    scores = []
    for name, generator in generators.items():
        model = answerer.using(generator)
        score = ModelScore(name)
        for question in questions:
            answer = model.ask(Query(question.question), retrieval=found[question.id])
            score_answer(score, question, answer)
            if on_answer:
                on_answer(name, question, answer)
        # The high-water mark of the process: run one model per process to read it per model.
        score.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        scores.append(score)
    return scores
