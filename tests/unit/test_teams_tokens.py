"""Bot Framework tokens: every way a token can be wrong is refused, a good one passes, and
the activity must be one the token was issued for."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest

from api.errors import AuthError
from api.teams.tokens import (
    FileKeySet,
    TokenPolicy,
    UrlKeySet,
    VerifiedToken,
    check_activity,
    key_set,
    verify,
)
from indexes.errors import UnavailableError
from tests.unit.test_teams_kit import (
    APP_ID,
    ISSUER,
    SigningKey,
    bearer,
    token,
    unsigned_token,
    write_jwks,
)

POLICY = TokenPolicy(APP_ID, frozenset({ISSUER}))
SERVICE = "https://smba.trafficmanager.net/emea/"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.new()


@pytest.fixture
def keys(tmp_path: Path, key: SigningKey) -> FileKeySet:
    return FileKeySet(write_jwks(tmp_path / "jwks.json", key))


def _refusal(header: str | None, keys: FileKeySet) -> str:
    with pytest.raises(AuthError) as caught:
        verify(header, keys, POLICY)
    assert caught.value.http_status == 401
    return str(caught.value)


def test_a_good_token_passes_with_its_claims_and_endorsements(
    key: SigningKey, keys: FileKeySet
) -> None:
    verified = verify(bearer(token(key, service_url=SERVICE))["authorization"], keys, POLICY)
    assert verified.claims["aud"] == APP_ID and verified.claims["serviceurl"] == SERVICE
    assert verified.endorsements == frozenset({"msteams"})


@pytest.mark.parametrize("header", [None, "", "Basic dXNlcjpwYXNz", "Bearer"])
def test_no_bearer_token_is_refused(header: str | None, keys: FileKeySet) -> None:
    assert "no bearer token" in _refusal(header, keys)


def test_an_unsigned_token_is_refused(keys: FileKeySet) -> None:
    assert "algorithm 'none' is not accepted" in _refusal(
        bearer(unsigned_token())["authorization"], keys)


def test_a_token_signed_with_a_shared_secret_is_refused(
    key: SigningKey, keys: FileKeySet
) -> None:
    secret = "a shared secret anyone could have guessed, 32+ bytes"
    forged = jwt.encode({"iss": ISSUER, "aud": APP_ID, "exp": 4102444800}, secret,
                        algorithm="HS256", headers={"kid": key.kid})
    assert "algorithm 'HS256' is not accepted" in _refusal(bearer(forged)["authorization"], keys)


def test_a_token_signed_by_another_key_under_the_same_id_is_refused(keys: FileKeySet) -> None:
    impostor = SigningKey.new()  # same kid, other key
    assert "Signature verification failed" in _refusal(
        bearer(token(impostor))["authorization"], keys)


def test_a_token_for_another_bot_is_refused(key: SigningKey, keys: FileKeySet) -> None:
    assert "Audience doesn't match" in _refusal(
        bearer(token(key, audience="another-bot"))["authorization"], keys)


def test_a_token_of_an_issuer_not_listed_is_refused(key: SigningKey, keys: FileKeySet) -> None:
    message = _refusal(bearer(token(key, issuer="https://sts.windows.net/evil/"))[
        "authorization"], keys)
    assert "issuer 'https://sts.windows.net/evil/' is not accepted" in message


def test_an_expired_token_is_refused_past_the_leeway_only(
    key: SigningKey, keys: FileKeySet
) -> None:
    assert "expired" in _refusal(bearer(token(key, expires_in=-400))["authorization"], keys)
    # Expired 100 s ago: within the five minutes allowed for clocks that drift.
    assert verify(bearer(token(key, expires_in=-100))["authorization"], keys, POLICY)


def test_a_token_of_an_unknown_key_is_refused(key: SigningKey, keys: FileKeySet) -> None:
    assert "unknown signing key 'rolled-over'" in _refusal(
        bearer(token(key, kid="rolled-over"))["authorization"], keys)


def test_a_token_without_expiry_is_refused(key: SigningKey, keys: FileKeySet) -> None:
    eternal = jwt.encode({"iss": ISSUER, "aud": APP_ID}, key.private, algorithm="RS256",
                         headers={"kid": key.kid})
    assert 'Token is missing the "exp" claim' in _refusal(
        bearer(eternal)["authorization"], keys)


def test_garbage_is_refused(keys: FileKeySet) -> None:
    assert "invalid Bot Framework token" in _refusal("Bearer not.a.jwt", keys)


def test_a_key_file_replaced_is_read_again(tmp_path: Path, key: SigningKey) -> None:
    path = write_jwks(tmp_path / "jwks.json", key)
    keys = FileKeySet(path)
    rolled = SigningKey.new("bf-key-2")
    assert keys.find(rolled.kid) is None
    write_jwks(path, key, rolled)
    stamp = path.stat().st_mtime_ns + 1_000_000
    os.utime(path, ns=(stamp, stamp))
    assert verify(bearer(token(rolled))["authorization"], keys, POLICY)


def test_an_unreadable_key_file_is_unavailable_not_a_bad_token(tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text("{not json")
    with pytest.raises(UnavailableError, match="COFFRE_TEAMS_JWKS"):
        FileKeySet(path).find("any")


def _verified(endorsements: frozenset[str] | None, claims: dict[str, Any]) -> VerifiedToken:
    return VerifiedToken("token", claims, endorsements)


def test_the_activity_must_come_from_a_channel_the_key_is_endorsed_for() -> None:
    teams_only = _verified(frozenset({"msteams"}), {})
    check_activity(teams_only, "msteams", SERVICE)
    check_activity(_verified(None, {}), "webchat", SERVICE)  # no endorsements: not checked
    with pytest.raises(AuthError, match="not endorsed for the channel 'webchat'"):
        check_activity(teams_only, "webchat", SERVICE)


def test_the_activity_must_reply_to_the_service_url_the_token_names() -> None:
    named = _verified(None, {"serviceurl": SERVICE})
    check_activity(named, "msteams", "https://SMBA.trafficmanager.net/emea")
    with pytest.raises(AuthError, match="serviceUrl is not the one the token was issued for"):
        check_activity(named, "msteams", "https://attacker.example/emea/")


class _Keys:
    """A JWKS endpoint on loopback counting its fetches."""

    def __init__(self, *keys: SigningKey) -> None:
        self.document = {"keys": [k.jwk() for k in keys]}
        self.fetches = 0


@pytest.fixture
def endpoint(key: SigningKey) -> Iterator[tuple[str, _Keys]]:
    served = _Keys(key)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served.fetches += 1
            body = json.dumps(served.document).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/keys", served
    server.shutdown()
    server.server_close()


def test_fetched_keys_are_kept_and_an_unknown_id_fetches_them_again_not_too_often(
    endpoint: tuple[str, _Keys], key: SigningKey
) -> None:
    url, served = endpoint
    now = [1000.0]
    keys = UrlKeySet(url, lifespan_s=3600, cooldown_s=300, clock=lambda: now[0])
    assert keys.find(key.kid) is not None and keys.find(key.kid) is not None
    assert served.fetches == 1
    assert keys.find("unknown") is None  # within the cooldown: not fetched again
    assert served.fetches == 1
    rolled = SigningKey.new("bf-key-2")
    served.document["keys"].append(rolled.jwk())
    now[0] += 301
    assert keys.find(rolled.kid) is not None  # after it: fetched, and found
    assert served.fetches == 2
    now[0] += 3601
    keys.find(key.kid)  # stale: fetched again
    assert served.fetches == 3


def test_keys_that_cannot_be_fetched_make_the_bot_unavailable() -> None:
    keys = UrlKeySet("http://127.0.0.1:9/keys")
    with pytest.raises(UnavailableError, match="COFFRE_TEAMS_JWKS"):
        keys.find("any")


def test_the_setting_names_a_url_or_a_file(tmp_path: Path, key: SigningKey) -> None:
    assert isinstance(key_set("https://login.botframework.com/v1/.well-known/keys"), UrlKeySet)
    assert isinstance(key_set(str(write_jwks(tmp_path / "k.json", key))), FileKeySet)
