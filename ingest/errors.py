"""The ingestion layer's errors (a branch of the tree drawn in `indexes.errors`)."""

from __future__ import annotations

from indexes.errors import InputError


class ParseError(InputError):
    """A file could not be turned into text; the message says why, naming the file."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")

    def __reduce__(self) -> tuple[type[ParseError], tuple[str, str]]:
        # Parsing runs in worker processes: the error crosses back pickled, type and all.
        return type(self), (self.path, self.reason)


class UnsupportedFileError(ParseError):
    """The file type is not one Coffre ingests."""

    http_status = 415
