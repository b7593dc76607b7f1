"""What the Teams tests share (no tests of its own): a signing key and its JWKS file, Bot
Framework tokens and activities as Teams sends them, a users file, and a fake Bot Connector.

The fake connector is a real HTTP server on loopback implementing the two routes a bot
posts to, `POST /v3/conversations/{id}/activities[/{activityId}]`; it records every body.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings, load_settings
from api.wiring import Services, build_services
from tests.unit.fakes import FakeEmbedder, FakeGenerator
from tests.unit.http_kit import Library, library

APP_ID = "3f2b8c1d-7a4e-4b6f-9c2d-1e5f6a7b8c9d"  # the bot's app id: every token's audience
ISSUER = "https://api.botframework.com"
TENANT = "8f6a3c1e-2b4d-4e6f-8a1b-3c5d7e9f1a2b"
ALICE = "5b1d9e42-0c3a-4f7e-9b2d-6a8c0e2f4b6d"  # lending, staff
BOB = "7c3e1f64-2e5c-4a9f-8d4f-8c0e2a4b6d8f"  # retail
SUSPENDED = "9e5a3b86-4a7e-4c1b-8f6b-0e2c4a6d8f0b"  # listed without a role
STRANGER = "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d"  # not listed
CONTACT = "the Coffre administrators (it-coffre@bank.example)"
PUBLIC_URL = "https://coffre.bank.example"


@dataclass(frozen=True)
class SigningKey:
    """An RSA key signing tokens as the Bot Framework does, with its key id."""

    private: rsa.RSAPrivateKey
    kid: str

    @classmethod
    def new(cls, kid: str = "bf-key-1") -> SigningKey:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048), kid)

    def jwk(self, endorsements: Sequence[str] = ("msteams",)) -> dict[str, Any]:
        """The public key as the Bot Framework publishes it (with its endorsements)."""
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "use": "sig", "endorsements": list(endorsements)}


def write_jwks(path: Path, *keys: SigningKey) -> Path:
    """A JWKS file of these keys' public halves."""
    path.write_text(json.dumps({"keys": [key.jwk() for key in keys]}))
    return path


def token(key: SigningKey, *, audience: str = APP_ID, issuer: str = ISSUER,
          expires_in: float = 3600, service_url: str | None = None, kid: str | None = None,
          algorithm: str = "RS256") -> str:
    """A Bot Framework token signed by `key` (claims as the Bot Connector sends them)."""
    now = int(time.time())
    claims: dict[str, Any] = {"iss": issuer, "aud": audience, "nbf": now - 60,
                              "exp": int(now + expires_in)}
    if service_url is not None:
        claims["serviceurl"] = service_url
    return jwt.encode(claims, key.private, algorithm=algorithm,
                      headers={"kid": kid or key.kid})


def unsigned_token(*, audience: str = APP_ID, kid: str = "bf-key-1") -> str:
    """A token with `alg: none` and no signature."""
    now = int(time.time())
    return jwt.encode({"iss": ISSUER, "aud": audience, "nbf": now, "exp": now + 3600},
                      key=None, algorithm="none", headers={"kid": kid})


def bearer(value: str) -> dict[str, str]:
    return {"authorization": f"Bearer {value}"}


def message(text: str | None, service_url: str, *, user: str = ALICE, tenant: str = TENANT,
            conversation: str = "a:1-personal-chat", activity_id: str | None = None,
            **extra: Any) -> dict[str, Any]:
    """A Teams message activity from `user`, as the Bot Connector posts it to the bot."""
    body: dict[str, Any] = {
        "type": "message", "id": activity_id or f"1710{uuid.uuid4().int % 10**9}",
        "timestamp": "2025-03-10T09:15:00.000Z", "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {"id": f"29:{user}", "name": "Teams user", "aadObjectId": user},
        "conversation": {"id": conversation, "conversationType": "personal", "tenantId": tenant},
        "recipient": {"id": f"28:{APP_ID}", "name": "Coffre"},
        "channelData": {"tenant": {"id": tenant}}, "locale": "en-GB",
    }
    if text is not None:
        body["text"] = text
    return {**body, **extra}


def users_file(path: Path) -> Path:
    """The users file of the tests: Alice (lending, staff), Bob (retail), a suspended user."""
    path.write_text(f"""
[[users]]
tenant_id = "{TENANT}"
object_id = "{ALICE}"
user = "alice"
groups = ["lending", "staff"]

[[users]]
tenant_id = "{TENANT.upper()}"
object_id = "{BOB.upper()}"
user = "bob"
groups = ["retail"]
roles = ["employee"]

[[users]]
tenant_id = "{TENANT}"
object_id = "{SUSPENDED}"
user = "carol"
groups = ["lending"]
roles = []
""")
    return path


@dataclass(frozen=True)
class Posted:
    """One activity the bot sent the connector."""

    conversation_id: str
    reply_to: str | None  # the activity id in the path: a reply to it
    body: dict[str, Any]
    authorization: str | None


@dataclass
class FakeConnector:
    """The Bot Connector's two posting routes on loopback, recording what arrives."""

    url: str
    posted: list[Posted] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, posted: Posted) -> None:
        with self.lock:
            self.posted.append(posted)

    def sent(self, kind: str | None = None) -> list[Posted]:
        with self.lock:
            return [p for p in self.posted if kind is None or p.body.get("type") == kind]

    def wait_for(self, count: int, kind: str = "message", timeout: float = 30) -> list[Posted]:
        """The first `count` activities of this type, waiting until they have arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.sent(kind)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"{count} {kind} activities expected, got {self.sent()}")


def _handler(connector: FakeConnector) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            parts = [unquote(p) for p in self.path.split("?")[0].strip("/").split("/")]
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if parts[:2] != ["v3", "conversations"] or len(parts) not in (4, 5) \
                    or parts[3] != "activities":
                self.send_error(404)
                return
            connector.record(Posted(parts[2], parts[4] if len(parts) == 5 else None, body,
                                    self.headers.get("authorization")))
            reply = json.dumps({"id": f"reply-{uuid.uuid4().hex[:8]}"}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *_: Any) -> None:
            pass

    return Handler


@contextmanager
def fake_connector() -> Iterator[FakeConnector]:
    """A fake Bot Connector served on a loopback port while the block runs."""
    connector = FakeConnector("")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(connector))
    connector.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield connector
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def card_of(posted: Posted) -> dict[str, Any]:
    """The Adaptive Card an answer was sent in."""
    (attachment,) = posted.body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    content: dict[str, Any] = attachment["content"]
    return content


def card_texts(card: dict[str, Any]) -> list[str]:
    """Every TextBlock's text in a card, in order, containers included."""
    texts: list[str] = []
    for element in card.get("body", card.get("items", [])):
        if element["type"] == "TextBlock":
            texts.append(element["text"])
        elif element["type"] == "Container":
            texts.extend(card_texts(element))
    return texts


def teams_settings(tmp_path: Path, key: SigningKey, **extra: Any) -> Settings:
    """Settings of a bot replying to a loopback connector, its users in a file."""
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data", "models_dir": tmp_path / "models",
        "public_url": PUBLIC_URL, "teams_app_id": APP_ID, "teams_loopback_connector": True,
        "teams_service_url_check": False,
        "teams_jwks": str(write_jwks(tmp_path / "jwks.json", key)),
        "teams_users": users_file(tmp_path / "users.toml"), "teams_contact": CONTACT}
    return load_settings(**{**values, **extra})


@dataclass(frozen=True)
class Bot:
    """The app with its Teams bot, in process, over services with the test library."""

    http: TestClient
    services: Services
    library: Library
    key: SigningKey
    connector: FakeConnector

    def post(self, body: Any, token_text: str | None = None) -> Any:
        """POST an activity with a good token (or `token_text`)."""
        return self.http.post("/api/messages", json=body,
                              headers=bearer(token_text or token(self.key)))

    def ask(self, text: str | None, **extra: Any) -> Posted:
        """Post a message, expect the 202, and return the message that answers it."""
        before = len(self.connector.sent("message"))
        body = message(text, self.connector.url, **extra)
        response = self.post(body)
        assert response.status_code == 202, response.text
        reply = self.connector.wait_for(before + 1)[before]
        assert reply.reply_to == body["id"]  # threaded under the question
        assert reply.conversation_id == body["conversation"]["id"]
        return reply

    def records(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The audit trail's bodies, of one kind or all (but the records of refused HTTP
        requests, which every route gets: test_http_trail.py)."""
        bodies = [r.body for r in self.services.audit.records()]
        if kind is not None:
            return [body for body in bodies if body["kind"] == kind]
        return [body for body in bodies if body["kind"] not in ("denied", "denied_repeats")]


@contextmanager
def running_bot(tmp_path: Path, key: SigningKey, connector: FakeConnector,
                generator: FakeGenerator, **settings: Any) -> Iterator[Bot]:
    """The app over the fake models and the test library, the bot on, while the block runs."""
    embedder = FakeEmbedder()
    services = build_services(teams_settings(tmp_path, key, **settings), embedder=embedder,
                              generator=generator)
    try:
        docs = library(services)
        with TestClient(create_app(services, warm_up=False)) as http:
            yield Bot(http, services, docs, key, connector)
    finally:
        services.close()
