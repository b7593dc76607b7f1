"""Who a Teams user is to Coffre: the file that maps Teams users to Coffre users.

Teams names a user by their tenant and Entra object id (`aadObjectId`); the file
(COFFRE_TEAMS_USERS, TOML or JSON) gives each such user a Coffre user name, groups and
roles. Anyone not in it gets no answer: deny by default, as for API keys. The file is read
again when it changes, so users are added without a restart; a file that no longer reads
refuses everyone until it is fixed, rather than keep serving a list it was meant to change.

    [[users]]
    tenant_id = "8f6a3c1e-..."   # the bank's Entra tenant
    object_id = "5b1d9e42-..."   # the user's Entra object id
    user = "alice"
    groups = ["lending", "staff"]
    roles = ["employee"]         # optional; employee by default; [] suspends the user
"""

from __future__ import annotations

import json
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.auth import Identity
from api.errors import SettingsError
from api.roles import Role

METHOD = "teams"  # Identity.method of Teams users
_FIELDS = frozenset({"tenant_id", "object_id", "user", "groups", "roles"})
_ROLES = frozenset(role.value for role in Role)


@dataclass(frozen=True)
class TeamsUser:
    """A Teams user as an activity names them: tenant id and Entra object id."""

    tenant_id: str
    object_id: str

    def key(self) -> tuple[str, str]:
        """Both ids, compared without regard to case (GUIDs)."""
        return self.tenant_id.strip().lower(), self.object_id.strip().lower()


@dataclass(frozen=True)
class IdentityMap:
    """Coffre identities by Teams user."""

    identities: Mapping[tuple[str, str], Identity]

    def identify(self, who: TeamsUser) -> Identity | None:
        """The Coffre identity of this Teams user; None for anyone not in the file."""
        return self.identities.get(who.key())


def _problem(source: str, where: str, what: str) -> SettingsError:
    return SettingsError(f"COFFRE_TEAMS_USERS: {source}: {where}: {what} (docs/teams.md)")


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)


def _entry(raw: Any, where: str, source: str) -> tuple[tuple[str, str], Identity]:
    if not isinstance(raw, dict):
        raise _problem(source, where, "each user is a table of tenant_id, object_id, user, "
                                      "groups and roles")
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise _problem(source, where, f"unknown field {', '.join(unknown)}")
    for name in ("tenant_id", "object_id", "user"):
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            raise _problem(source, where, f"{name} must be a non-empty string")
    if not _strings(raw.get("groups")):
        raise _problem(source, where, "groups must be a list of group names")
    roles = raw.get("roles", [Role.EMPLOYEE.value])
    if not _strings(roles) or set(roles) - _ROLES:
        raise _problem(source, where, f"roles must be a list of {', '.join(sorted(_ROLES))}")
    identity = Identity(raw["user"].strip(), frozenset(g.strip() for g in raw["groups"]),
                        frozenset(roles), METHOD)
    return TeamsUser(raw["tenant_id"], raw["object_id"]).key(), identity


def parse_identities(document: Any, source: str) -> IdentityMap:
    """The map of a parsed file (`{"users": [...]}`); SettingsError naming the entry wrong."""
    users = document.get("users") if isinstance(document, dict) else None
    if not isinstance(users, list):
        raise _problem(source, "top level", "the file needs a 'users' list ([[users]] in TOML)")
    identities: dict[tuple[str, str], Identity] = {}
    for number, raw in enumerate(users, start=1):
        where = f"user {number}"
        key, identity = _entry(raw, where, source)
        if key in identities:
            raise _problem(source, where, "this Teams user is already listed")
        identities[key] = identity
    return IdentityMap(identities)


def load_identities(path: Path) -> IdentityMap:
    """Read the map file: `.json` as JSON, anything else as TOML."""
    try:
        text = path.read_text(encoding="utf-8")
        document = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        # tomllib.TOMLDecodeError and json.JSONDecodeError are both ValueErrors.
        raise SettingsError(f"COFFRE_TEAMS_USERS: cannot read {path}: {exc}") from exc
    return parse_identities(document, str(path))


class IdentityFile:
    """The map file as it is now: read again whenever its modification time changes."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._stamp = self._modified()
        self._map = load_identities(path)  # a bad file stops the app from starting

    def _modified(self) -> int:
        try:
            return self._path.stat().st_mtime_ns
        except OSError as exc:
            raise SettingsError(f"COFFRE_TEAMS_USERS: cannot read {self._path}: {exc}") from exc

    def identify(self, who: TeamsUser) -> Identity | None:
        """The Coffre identity of `who` (blocking: may read the file); SettingsError while the
        file does not read, so that nobody is answered on a list that was being changed."""
        with self._lock:
            stamp = self._modified()
            if stamp != self._stamp:
                self._map = load_identities(self._path)
                self._stamp = stamp
            return self._map.identify(who)
