"""Identities: API keys and JWTs signed by keys generated here."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from api.auth import Authenticator, AuthError, ForbiddenError, JwtConfig
from api.keys import KeyStore, KeyStoreError

ISSUER = "https://idp.bank.example"
AUDIENCE = "coffre"


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def auth(tmp_path: Path, signing_key: rsa.RSAPrivateKey) -> Authenticator:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key()))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}))
    return Authenticator(KeyStore(tmp_path / "auth.sqlite3"), JwtConfig(jwks, ISSUER, AUDIENCE))


def _token(key: rsa.RSAPrivateKey, **overrides: object) -> str:
    claims: dict[str, object] = {"sub": "bob", "groups": ["risk", "staff"], "iss": ISSUER,
                                 "aud": AUDIENCE, "exp": int(time.time()) + 600}
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


def test_valid_token_gives_user_groups_and_default_role(
    auth: Authenticator, signing_key: rsa.RSAPrivateKey
) -> None:
    identity = auth.identify(f"Bearer {_token(signing_key)}")
    assert identity.user == "bob"
    assert identity.groups == {"risk", "staff"}
    assert identity.roles == {"employee"}
    assert identity.search_filter().groups == {"risk", "staff"}


@pytest.mark.parametrize(("change", "message"), [
    ({"exp": int(time.time()) - 10}, "expired"),
    ({"iss": "https://evil.example"}, "issuer"),
    ({"aud": "other-app"}, "(?i)audience"),
    ({"groups": None}, "groups"),
])
def test_bad_tokens_are_refused(
    auth: Authenticator, signing_key: rsa.RSAPrivateKey, change: dict[str, object], message: str
) -> None:
    with pytest.raises(AuthError, match=message):
        auth.identify(f"Bearer {_token(signing_key, **change)}")


def test_a_token_signed_by_another_key_is_refused(auth: Authenticator) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(AuthError, match="ignature"):
        auth.identify(f"Bearer {_token(other)}")


def test_api_keys_are_stored_hashed_and_revocable(auth: Authenticator, tmp_path: Path) -> None:
    secret, record = auth.keys.create("carol", ["risk"], "compliance")
    assert secret.encode() not in (tmp_path / "auth.sqlite3").read_bytes()
    identity = auth.identify(f"Bearer {secret}")
    assert (identity.user, identity.roles, identity.groups) == ("carol", {"compliance"}, {"risk"})
    with pytest.raises(AuthError):
        auth.identify(f"Bearer {secret}x")
    auth.keys.revoke(record.key_id)
    with pytest.raises(AuthError, match="revoked"):
        auth.identify(f"Bearer {secret}")
    with pytest.raises(KeyStoreError):
        auth.keys.create("dan", [], "superuser")


def test_missing_credentials_and_roles(auth: Authenticator) -> None:
    with pytest.raises(AuthError, match="missing"):
        auth.identify(None)
    secret, _ = auth.keys.create("erin", ["staff"], "employee")
    identity = auth.identify(f"Bearer {secret}")
    identity.require("employee")
    with pytest.raises(ForbiddenError):
        identity.require("compliance")
    admin = auth.identify(f"Bearer {auth.keys.create('root', [], 'admin')[0]}")
    admin.require("compliance")
    assert admin.search_filter().groups is None
