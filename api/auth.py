"""Caller identities: API keys and OpenID Connect JWTs; deny by default."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from api.errors import AuthError, ForbiddenError
from api.keys import KeyStore
from indexes.filters import SearchFilter

log = logging.getLogger("coffre.auth")


@dataclass(frozen=True)
class Identity:
    """Who is calling: user id, access groups and roles."""

    user: str
    groups: frozenset[str]
    roles: frozenset[str]
    method: str

    @property
    def is_admin(self) -> bool:
        """Administrators see every document."""
        return "admin" in self.roles

    def search_filter(self) -> SearchFilter:
        """Documents this caller may read: those sharing a group, or all for admins."""
        return SearchFilter() if self.is_admin else SearchFilter(groups=self.groups)

    def require(self, *roles: str) -> None:
        """Raise ForbiddenError unless the caller has one of `roles` (admins have all)."""
        if self.is_admin or self.roles & set(roles):
            return
        log.warning("forbidden: user %s (%s) needs one of %s", self.user,
                    ",".join(sorted(self.roles)), ",".join(roles))
        raise ForbiddenError(f"this needs the role {' or '.join(roles)}")


@dataclass(frozen=True)
class JwtConfig:
    """How corporate identity-provider tokens are checked and read."""

    jwks_file: Path
    issuer: str
    audience: str
    user_claim: str = "sub"
    groups_claim: str = "groups"
    roles_claim: str = "roles"
    default_role: str = "employee"


class Authenticator:
    """Turns an Authorization header into an Identity, or refuses it."""

    def __init__(self, keys: KeyStore, jwt_config: JwtConfig | None = None) -> None:
        self.keys = keys
        self.jwt_config = jwt_config
        self._jwks: dict[str, Any] | None = None

    def identify(self, authorization: str | None) -> Identity:
        """The caller behind a `Bearer ...` header; AuthError when there is none or it fails."""
        if not authorization or not authorization.lower().startswith("bearer "):
            log.warning("unauthenticated request (no bearer credentials)")
            raise AuthError("missing credentials: send Authorization: Bearer <API key or token>")
        token = authorization[7:].strip()
        if token.startswith("cof_"):
            key = self.keys.lookup(token)
            if key is None:
                log.warning("rejected API key %s", token.split("_")[1] if "_" in token else "?")
                raise AuthError("invalid or revoked API key")
            return Identity(key.user, frozenset(key.groups), frozenset({key.role}), "api_key")
        return self._from_jwt(token)

    def _keyset(self) -> dict[str, Any]:
        assert self.jwt_config is not None
        if self._jwks is None:
            self._jwks = json.loads(self.jwt_config.jwks_file.read_text())
        return self._jwks

    def _from_jwt(self, token: str) -> Identity:
        config = self.jwt_config
        if config is None:
            log.warning("rejected token: no identity provider configured")
            raise AuthError("invalid API key (no identity provider is configured for tokens)")
        try:
            header = jwt.get_unverified_header(token)
            keys = {k.get("kid"): k for k in self._keyset().get("keys", [])}
            jwk = keys.get(header.get("kid")) or (next(iter(keys.values())) if len(keys) == 1
                                                   else None)
            if jwk is None:
                raise jwt.InvalidTokenError("unknown signing key")
            signing_key = jwt.PyJWK(jwk).key
            claims = jwt.decode(
                token, signing_key, algorithms=["RS256", "ES256", "PS256"],
                audience=config.audience, issuer=config.issuer,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.InvalidTokenError as exc:
            log.warning("rejected token: %s", exc)
            raise AuthError(f"invalid token: {exc}") from exc
        user = claims.get(config.user_claim)
        groups = claims.get(config.groups_claim)
        if not isinstance(user, str) or not isinstance(groups, list):
            log.warning("rejected token: missing %s or %s claim", config.user_claim,
                        config.groups_claim)
            raise AuthError(f"token lacks the {config.user_claim!r} or "
                            f"{config.groups_claim!r} claim")
        roles = claims.get(config.roles_claim) or [config.default_role]
        roles = roles if isinstance(roles, list) else [roles]
        return Identity(user, frozenset(map(str, groups)), frozenset(map(str, roles)), "jwt")
