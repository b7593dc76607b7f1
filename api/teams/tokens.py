"""The tokens Teams sends the bot, checked here rather than by the SDK.

The SDK's validator fetches its keys from URLs it has built in; a bank's network decides
where the bot may connect, so the key set is a setting (the Bot Framework's https URL by
default, or a JWKS file), and so are the issuers. A token passes when it is signed (RS256)
by a key of that set, for the bot's app id, by an accepted issuer, and not expired (with a
little leeway for clocks); then the activity must match it: its channel among those the
signing key is endorsed for, its serviceUrl the one the token names.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import jwt

from api.errors import AuthError
from indexes.errors import UnavailableError

log = logging.getLogger("coffre.teams")

ALGORITHMS = ("RS256",)  # what the Bot Framework signs with; never "none", never HMAC
LEEWAY_S = 300.0  # clocks drift; the Bot Framework's own validators allow five minutes


class KeySet(Protocol):
    """Signing keys by key id (blocking: may read a file or fetch the set)."""

    def find(self, kid: str) -> Mapping[str, Any] | None:
        """The JWK with this key id, or None when the set has none."""
        ...


def _signing_keys(document: Any, source: str) -> dict[str, Mapping[str, Any]]:
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise UnavailableError(f"{source} is not a JWKS document (an object with 'keys')")
    return {key["kid"]: key for key in document["keys"]
            if isinstance(key, dict) and isinstance(key.get("kid"), str)
            and key.get("use", "sig") == "sig"}


class FileKeySet:
    """A JWKS file, read again when it changes (keys are rolled over by replacing it)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stamp: int | None = None
        self._keys: dict[str, Mapping[str, Any]] = {}
        self._lock = threading.Lock()

    def find(self, kid: str) -> Mapping[str, Any] | None:
        """The key with this id in the file as it is now."""
        with self._lock:
            try:
                stamp = self._path.stat().st_mtime_ns
                if stamp != self._stamp:
                    self._keys = _signing_keys(json.loads(self._path.read_text()), str(self._path))
                    self._stamp = stamp
            except (OSError, ValueError) as exc:
                raise UnavailableError(
                    f"COFFRE_TEAMS_JWKS: cannot read {self._path}: {exc}") from exc
            return self._keys.get(kid)


class UrlKeySet:
    """A JWKS fetched over https, kept a day; a key id it lacks fetches it again (keys roll
    over), at most every `cooldown_s`, so unknown ids cannot make the bot hammer the URL."""

    def __init__(self, url: str, *, lifespan_s: float = 86400.0, cooldown_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._url = url
        self._client = jwt.PyJWKClient(url, cache_jwk_set=False, cache_keys=False, timeout=10)
        self._lifespan_s = lifespan_s
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._fetched_at: float | None = None
        self._keys: dict[str, Mapping[str, Any]] = {}
        self._lock = threading.Lock()

    def find(self, kid: str) -> Mapping[str, Any] | None:
        """The key with this id, fetching the set when it is stale or lacks the id."""
        with self._lock:
            age = None if self._fetched_at is None else self._clock() - self._fetched_at
            if age is None or age > self._lifespan_s or (
                    kid not in self._keys and age > self._cooldown_s):
                self._fetch()
            return self._keys.get(kid)

    def _fetch(self) -> None:
        try:
            document = self._client.fetch_data()
        except jwt.PyJWKClientError as exc:
            raise UnavailableError(
                f"the keys of Teams' tokens could not be fetched from {self._url} ({exc}); "
                "allow outbound https to it, or set COFFRE_TEAMS_JWKS to a JWKS file") from exc
        self._keys = _signing_keys(document, self._url)
        self._fetched_at = self._clock()


def key_set(source: str) -> KeySet:
    """The key set named by COFFRE_TEAMS_JWKS: an https URL or a file."""
    return UrlKeySet(source) if source.startswith("https://") else FileKeySet(Path(source))


@dataclass(frozen=True)
class TokenPolicy:
    """What a token must say: for whom (the bot's app id), by whom (the issuers)."""

    audience: str
    issuers: frozenset[str]
    leeway_s: float = LEEWAY_S


@dataclass(frozen=True)
class VerifiedToken:
    """A token that passed: its claims, the token itself, and the channels its signing key
    is endorsed for (None: the key set does not say)."""

    token: str
    claims: Mapping[str, Any]
    endorsements: frozenset[str] | None


def _refused(reason: str) -> AuthError:
    log.warning("refused a Teams request: %s", reason)
    return AuthError(f"invalid Bot Framework token: {reason}")


def _bearer(authorization: str | None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise _refused("no bearer token (the Bot Framework sends Authorization: Bearer <jwt>)")
    return authorization[7:].strip()


def _signing_key(token: str, keys: KeySet) -> tuple[Any, frozenset[str] | None]:
    header = jwt.get_unverified_header(token)
    if header.get("alg") not in ALGORITHMS:
        raise jwt.InvalidAlgorithmError(f"the algorithm {header.get('alg')!r} is not accepted")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise jwt.InvalidTokenError("the token names no signing key (kid)")
    jwk = keys.find(kid)
    if jwk is None:
        raise jwt.InvalidTokenError(f"unknown signing key {kid!r}")
    endorsed = jwk.get("endorsements")
    endorsements = frozenset(map(str, endorsed)) if isinstance(endorsed, list) else None
    return jwt.PyJWK(dict(jwk), algorithm="RS256").key, endorsements


def verify(authorization: str | None, keys: KeySet, policy: TokenPolicy) -> VerifiedToken:
    """The token of an `Authorization` header once every check passed; AuthError otherwise
    (blocking: the key set may be read or fetched)."""
    token = _bearer(authorization)
    try:
        key, endorsements = _signing_key(token, keys)
        claims = jwt.decode(token, key, algorithms=list(ALGORITHMS), audience=policy.audience,
                            leeway=policy.leeway_s,
                            options={"require": ["exp", "iss", "aud"]})
    except (jwt.InvalidTokenError, jwt.PyJWKError) as exc:
        raise _refused(str(exc)) from exc
    issuer = claims["iss"]
    if not isinstance(issuer, str) or issuer not in policy.issuers:
        raise _refused(f"issuer {issuer!r} is not accepted (COFFRE_TEAMS_ISSUERS)")
    return VerifiedToken(token, claims, endorsements)


def _comparable(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url.strip())
    return parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/")


def check_activity(verified: VerifiedToken, channel_id: str, service_url: str) -> None:
    """AuthError unless the activity is one the token was issued for: a channel its key is
    endorsed for, and the serviceUrl the token names (where the replies will go)."""
    channel = channel_id.split(":", 1)[0]
    if verified.endorsements is not None and channel not in verified.endorsements:
        raise _refused(f"the signing key is not endorsed for the channel {channel!r}")
    claimed = verified.claims.get("serviceurl")
    if isinstance(claimed, str) and _comparable(claimed) != _comparable(service_url):
        raise _refused("the activity's serviceUrl is not the one the token was issued for")
