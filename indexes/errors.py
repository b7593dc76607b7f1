"""Coffre's one error tree: its root, and the storage and search layer's errors.

Every error Coffre raises on purpose is a `CoffreError`; each class knows the HTTP status and
the CLI exit code it maps to, so each edge has one mapping (the HTTP exception handler, the
CLI's `main`) and no traceback reaches a user. Messages say what to do. The root lives here
because `indexes` is the package every other one imports; each package defines its own
branch in its `errors` module::

    CoffreError                      500, exit 1
    ├── ConfigError                  500, exit 2  api.errors: a setting has a wrong value
    │   └── SettingsError                         api.settings
    ├── InputError                   422, exit 2  the request or file is wrong
    │   ├── ParseError                             ingest.errors: a file cannot be read
    │   │   └── UnsupportedFileError  415
    │   ├── EvalError                              rag.evaluation.errors: a bad evaluation set
    │   ├── KeyStoreError                          api.errors: unknown role, no user, no key
    │   ├── TooLargeError            413           api.errors: an upload over the limit
    │   └── ActivityError            400           api.errors: a Teams activity unreadable
    ├── AuthError                    401, exit 2  api.errors: no or bad credentials
    ├── ForbiddenError               403, exit 2  api.errors: the role or groups do not allow it
    ├── NotFoundError                404, exit 2  api.errors: no such document, chunk or key
    ├── TooBusyError                 429, exit 3  api.errors: answer slots and queue full
    └── UnavailableError             503, exit 3  a model, store or trail cannot serve now
        ├── IndexStoreError                        here: the index or store
        │   ├── ModelMismatchError                 index built with another embedding model
        │   ├── EmbedderError                      the embedding model cannot be loaded
        │   └── StoreError                         the store is unreadable or inconsistent
        ├── AuditError                             here: no audit record, so no answer
        │   └── AuditKeyError        exit 2        the trail's key missing or not its own
        ├── QueueTimeoutError        Retry-After   api.errors: queued past COFFRE_QUEUE_WAIT_S
        ├── GenerationError          exit 4        rag.errors: the answer model failed
        │   ├── ModelBusyError       Retry-After   the model stayed busy past the wait limit
        │   ├── EndpointError                      a generation server failed (its URL, why)
        │   │   ├── EndpointDownError              unreachable or server error: out of the pool
        │   │   └── AnswerCutShortError            its stream stopped before the end
        │   └── NoEndpointError      Retry-After   no generation server could take the request
        ├── RerankerError                          rag.errors: the cross-encoder failed
        └── CatalogueError                         rag.errors: a catalogue model is missing
"""

from __future__ import annotations

from typing import ClassVar


class CoffreError(Exception):
    """Root of every error Coffre raises on purpose."""

    http_status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1

    @property
    def headers(self) -> dict[str, str]:
        """Extra HTTP headers for this error's response (Retry-After, WWW-Authenticate)."""
        return {}


class InputError(CoffreError):
    """What the caller sent (a request field, a file) is wrong; the message names it."""

    http_status = 422
    exit_code = 2


class UnavailableError(CoffreError):
    """A model, the store or the audit trail cannot serve right now."""

    http_status = 503
    exit_code = 3


class IndexStoreError(UnavailableError):
    """Base class for index and store errors."""


class ModelMismatchError(IndexStoreError):
    """The index on disk was built with another embedding model than the one configured."""

    def __init__(self, stored: str, configured: str) -> None:
        self.stored = stored
        self.configured = configured
        super().__init__(
            f"index built with embedding model {stored!r} but {configured!r} is configured; "
            f"re-ingest into a fresh data directory or set COFFRE_EMBEDDING_MODEL back to the "
            f"folder of {stored!r}"
        )


class EmbedderError(IndexStoreError):
    """The embedding model could not be loaded."""


class StoreError(IndexStoreError):
    """The chunk store is unreadable or inconsistent."""


class AuditError(UnavailableError):
    """The audit record could not be written (and the answer must not be given)."""


class AuditKeyError(AuditError):
    """The audit key file is missing, unreadable, malformed, or not the trail's key.

    A configuration problem (exit 2), not a full disk: the message names the file and says
    what to restore or change.
    """

    exit_code: ClassVar[int] = 2
