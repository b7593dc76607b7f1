"""A streaming client that drops its answer: how soon does the next question get the model?

Ingests the demo corpus into a throwaway data directory, serves the real app on loopback with
the configured answer model (the default one unless COFFRE_LLM / COFFRE_LLM_MODEL say
otherwise), and measures over HTTP, in one run:

- the normal time to first draft token of a streamed question (median of `--runs`, after a warm-up);
- a client that reads the first token of a long answer and closes its socket, then, at once,
  the same streamed question from another client: its time to first token;
- how long after the client closed its socket the dropped answer's stream was closed (its
  audit record, written then, carries the time).

Prints both times and their ratio (goal: the question after a drop within 2x its normal time).

    .venv/bin/python bench/disconnect.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from demo_kit import demo_services, serve

DROPPED = "Summarise the retail credit policy: every limit, ratio and exception it sets."
NEXT = "How long is a property valuation report valid for?"


def first_token(url: str, key: str, question: str, *, drop: bool = False) -> float:
    """Seconds to the first token event; with `drop`, close the socket right after it."""
    started = time.perf_counter()
    with httpx.Client(timeout=600, headers={"authorization": f"Bearer {key}"}) as http, \
            http.stream("POST", f"{url}/v1/ask",
                        json={"question": question, "stream": True}) as response:
        seconds = None
        for line in response.iter_lines():
            if line.startswith("event: draft") and seconds is None:
                seconds = time.perf_counter() - started
                if drop:
                    return seconds
    if seconds is None:
        raise RuntimeError(f"no token for {question!r}")
    return seconds


def main() -> None:
    """Run the measurement and print the result lines."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        services = demo_services(Path(tmp))
        key, _ = services.keys.create("bench", ["staff"], "employee")
        server, url = serve(services)
        first_token(url, key, NEXT)  # warm-up
        normal = statistics.median(first_token(url, key, NEXT) for _ in range(args.runs))
        first_token(url, key, DROPPED, drop=True)
        dropped_at = datetime.now(UTC)
        after = first_token(url, key, NEXT)
        interrupted = services.audit.search(None, None, None, DROPPED, None, 1)
        # When the dropped answer's stream was closed (its record is written then).
        stopped = ((datetime.fromisoformat(interrupted[0].at) - dropped_at).total_seconds()
                   if interrupted else float("nan"))
        server.should_exit = True
        model = services.generator.model_id
        services.close()
    print(f"model {model}; normal time to first token {normal:.3f} s (median of {args.runs})")
    print(f"after a client dropped a long streamed answer: {after:.3f} s, "
          f"ratio {after / normal:.2f} (goal <= 2)")
    print(f"interrupted answer audited: {bool(interrupted)}, {stopped:.2f} s after the client "
          "closed its socket")


if __name__ == "__main__":
    main()
