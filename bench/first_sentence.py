"""Time to the first verified sentence against time to first token, on demo questions.

A channel that cannot take text back (Teams, OpenAI chat front ends) shows nothing before
the first checked sentence: that is the wait its users see. Ingests the demo corpus into a
throwaway data directory and answers `--questions` answerable demo questions with the
configured answer model (the default one unless COFFRE_LLM / COFFRE_LLM_MODEL say
otherwise), in process, measuring for each:

- time to first token (the model's first draft piece),
- time to the first verified sentence (its first CheckedSentence event),
- total time (the Finished answer): what such a channel waited before sentences were
  checked as they came, when they were all sent after the whole answer was checked.

Prints one line per question and the medians with their ratios.

    .venv/bin/python bench/first_sentence.py [--questions 8]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from demo_kit import demo_questions, demo_services

from rag.answering import Answerer
from rag.answers import CheckedSentence, DraftText, Finished, Query
from rag.generation import closing_stream


@dataclass(frozen=True)
class Timing:
    """One answer's times, in seconds from the question."""

    first_token: float
    first_sentence: float | None
    total: float
    sentences: int


def timed(answerer: Answerer, question: str) -> Timing:
    """Answer `question` streaming and time its first draft piece, first checked sentence
    and end."""
    started = time.perf_counter()
    first_token = first_sentence = None
    sentences = 0
    with closing_stream(answerer.stream(Query(question))) as events:
        for event in events:
            now = time.perf_counter() - started
            if isinstance(event, DraftText) and first_token is None:
                first_token = now
            elif isinstance(event, CheckedSentence):
                sentences += 1
                first_sentence = first_sentence if first_sentence is not None else now
            elif isinstance(event, Finished):
                return Timing(first_token or now, first_sentence, now, sentences)
    raise RuntimeError(f"no answer for {question!r}")


def main() -> None:
    """Run the measurement and print the result lines."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=8)
    args = parser.parse_args()
    questions = demo_questions()[:args.questions]
    with tempfile.TemporaryDirectory() as tmp:
        services = demo_services(Path(tmp))
        print(f"model: {services.generator.model_id}")
        timed(services.answerer, "warm up: what is the card fee?")
        timings = []
        for question in questions:
            timing = timed(services.answerer, question)
            timings.append(timing)
            sentence = (f"{timing.first_sentence:6.1f}" if timing.first_sentence is not None
                        else "  none")
            print(f"TTFT {timing.first_token:6.1f} s  first verified sentence {sentence} s  "
                  f"total {timing.total:6.1f} s  sentences {timing.sentences}  {question}")
        services.close()
    sent = [t for t in timings if t.first_sentence is not None]
    if not sent:
        raise SystemExit("no answer had a verified sentence")
    ttft = statistics.median(t.first_token for t in sent)
    ttfvs = statistics.median(t.first_sentence for t in sent if t.first_sentence is not None)
    total = statistics.median(t.total for t in sent)
    print(f"answered with sentences: {len(sent)} of {len(timings)}")
    print(f"median TTFT {ttft:.1f} s, first verified sentence {ttfvs:.1f} s, total {total:.1f} s")
    print(f"first verified sentence / TTFT: {ttfvs / ttft:.2f}; "
          f"first verified sentence / total (the wait before): {ttfvs / total:.2f}")


if __name__ == "__main__":
    main()
