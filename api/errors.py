"""The edge's errors (a branch of the tree drawn in `indexes.errors`): settings, callers and
requests. (An evaluation set's EvalError is the evaluation's own: `rag.evaluation.errors`.)"""

from __future__ import annotations

from indexes.errors import CoffreError, InputError, UnavailableError


class ConfigError(CoffreError):
    """A setting has a wrong value; the message names the environment variable."""

    exit_code = 2


class SettingsError(ConfigError):
    """A setting has a wrong value; the message names the environment variable."""


class AuthError(CoffreError):
    """No credentials, or credentials that are not valid."""

    http_status = 401
    exit_code = 2

    @property
    def headers(self) -> dict[str, str]:
        """Tell the client which scheme to use."""
        return {"WWW-Authenticate": "Bearer"}


class ForbiddenError(CoffreError):
    """The caller is authenticated but their role or groups do not allow this."""

    http_status = 403
    exit_code = 2


class NotFoundError(CoffreError):
    """No such document, chunk or key (or the caller may not know it exists)."""

    http_status = 404
    exit_code = 2


class TooLargeError(InputError):
    """A request body or an uploaded file over its size limit."""

    http_status = 413


class KeyStoreError(InputError):
    """An API key request is wrong: unknown role, no user, no such active key."""


class ActivityError(InputError):
    """A Bot Framework activity (Teams) that cannot be read: not JSON, or not an activity."""

    http_status = 400


class TooBusyError(CoffreError):
    """Every answer slot is taken and the queue is full: come back in N seconds (429)."""

    http_status = 429
    exit_code = 3

    def __init__(self, retry_after_s: int, in_progress: int, queued: int,
                 would_wait_s: float | None = None) -> None:
        why = ("as many as it takes at once" if would_wait_s is None else
               f"this question would wait about {would_wait_s:.0f} s, past COFFRE_QUEUE_WAIT_S")
        super().__init__(
            f"Coffre is answering {in_progress} question(s) with {queued} waiting, {why}; ask "
            f"again in {retry_after_s} s (the bounds are COFFRE_MAX_ANSWERS, "
            "COFFRE_ANSWER_QUEUE and COFFRE_QUEUE_WAIT_S)")
        self.retry_after_s = retry_after_s
        self.would_wait_s = would_wait_s

    @property
    def headers(self) -> dict[str, str]:
        """When to come back: from the measured time answers take."""
        return {"Retry-After": str(self.retry_after_s)}


class QueueTimeoutError(UnavailableError):
    """A question waited in the answer queue past its deadline (503)."""

    def __init__(self, waited_s: float, retry_after_s: int) -> None:
        super().__init__(
            f"this question waited {waited_s:g} s for the answer model without its turn "
            f"coming; ask again in {retry_after_s} s (the wait limit is COFFRE_QUEUE_WAIT_S)")
        self.retry_after_s = retry_after_s

    @property
    def headers(self) -> dict[str, str]:
        """When to come back."""
        return {"Retry-After": str(self.retry_after_s)}
