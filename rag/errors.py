"""The answering layer's errors (a branch of the tree drawn in `indexes.errors`)."""

from __future__ import annotations

from collections.abc import Sequence

from indexes.errors import UnavailableError


class GenerationError(UnavailableError):
    """The language model could not be loaded or failed while generating."""

    exit_code = 4


class ModelBusyError(GenerationError):
    """The model stayed busy with other answers for longer than a request may wait."""

    def __init__(self, waited_s: float) -> None:
        super().__init__(
            f"the answer model stayed busy with other questions for {waited_s:g} s; ask again "
            "in a moment (the wait limit is COFFRE_GENERATION_WAIT_S)"
        )
        self.waited_s = waited_s

    @property
    def headers(self) -> dict[str, str]:
        """Ask the client to come back later rather than fail outright."""
        return {"Retry-After": "30"}


class EndpointError(GenerationError):
    """A generation endpoint (COFFRE_GENERATOR_URLS) failed; `endpoint` is its base URL and
    `reason` what went wrong, for the pool's own message when every endpoint failed."""

    def __init__(self, endpoint: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.reason = reason


class EndpointDownError(EndpointError):
    """An endpoint cannot be reached or answers with a server error: it is taken out of the
    pool until a health check finds it well again."""

    def __init__(self, endpoint: str, reason: str) -> None:
        super().__init__(endpoint, reason, (
            f"generation endpoint {endpoint} failed ({reason}); check that its server runs and "
            "is reachable from here (COFFRE_GENERATOR_URLS)"))


class AnswerCutShortError(EndpointError):
    """An endpoint's answer stopped before its end: its stream ended without a finish_reason,
    or the connection broke once text had come (text already shown cannot be replayed)."""

    def __init__(self, endpoint: str, reason: str) -> None:
        super().__init__(endpoint, reason, (
            f"generation endpoint {endpoint} cut the answer short ({reason}); ask again (a "
            "llama_cpp.server endpoint must run with --interrupt_requests False)"))


class NoEndpointError(GenerationError):
    """No generation endpoint could take the request: all are down, or each one tried failed
    before its first token."""

    def __init__(self, failures: Sequence[str], retry_after_s: int) -> None:
        super().__init__(
            f"no generation endpoint answered ({'; '.join(failures) or 'none configured'}); "
            "check COFFRE_GENERATOR_URLS and that the servers run"
        )
        self.failures = tuple(failures)
        self.retry_after_s = retry_after_s

    @property
    def headers(self) -> dict[str, str]:
        """An endpoint comes back at the next health check: ask the client to retry then."""
        return {"Retry-After": str(self.retry_after_s)}


class RerankerError(UnavailableError):
    """The cross-encoder could not be loaded or scored the passages wrongly."""


class CatalogueError(UnavailableError):
    """A catalogue model is unknown, not installed, or failed its hash check."""
