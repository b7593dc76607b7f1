"""The evaluation's error (a branch of the tree drawn in `indexes.errors`)."""

from __future__ import annotations

from indexes.errors import InputError


class EvalError(InputError):
    """An evaluation set (BEIR folder, question file) is missing or malformed."""
