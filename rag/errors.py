"""The answering layer's errors (a branch of the tree drawn in `indexes.errors`)."""

from __future__ import annotations

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


class RerankerError(UnavailableError):
    """The cross-encoder could not be loaded or scored the passages wrongly."""


class CatalogueError(UnavailableError):
    """A catalogue model is unknown, not installed, or failed its hash check."""
