"""The edge's errors (a branch of the tree drawn in `indexes.errors`): settings, callers and
requests. (An evaluation set's EvalError is the evaluation's own: `rag.evaluation.errors`.)"""

from __future__ import annotations

from indexes.errors import CoffreError, InputError


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
    """An upload over the size limit."""

    http_status = 413


class KeyStoreError(InputError):
    """An API key request is wrong: unknown role, no user, no such active key."""


class ActivityError(InputError):
    """A Bot Framework activity (Teams) that cannot be read: not JSON, or not an activity."""

    http_status = 400
