"""The replies' route: without a token only to a loopback test connector, and only with the
test setting; the SDK's host check as production runs it."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from microsoft_agents.authentication.msal import MsalAuth
from microsoft_agents.hosting.core import ClaimsIdentity

from api.errors import ConfigError
from api.settings import load_settings
from api.teams.config import TeamsConfig, teams_config
from api.teams.connector import ConnectorFactory, host_validator, is_loopback
from tests.unit.test_teams_kit import APP_ID, TENANT, users_file

CLAIMS = ClaimsIdentity({"aud": APP_ID, "iss": "https://api.botframework.com"})


@pytest.fixture
def config(tmp_path: Path) -> TeamsConfig:
    built = teams_config(load_settings(teams_app_id=APP_ID, teams_loopback_connector=True,
                                       teams_users=users_file(tmp_path / "users.toml")))
    assert built is not None
    return built


@pytest.mark.parametrize(("url", "loopback"), [
    ("http://127.0.0.1:8080/", True), ("http://localhost/", True), ("http://[::1]:9/", True),
    ("http://127.8.9.10/", True), ("https://smba.trafficmanager.net/emea/", False),
    ("http://10.0.0.5/", False), ("not a url", False),
])
def test_loopback_is_this_machine_only(url: str, loopback: bool) -> None:
    assert is_loopback(url) is loopback


def _client_headers(config: TeamsConfig, url: str) -> dict[str, str]:
    async def make() -> dict[str, str]:
        client = await ConnectorFactory(config).create_connector_client(
            None, CLAIMS, url, "https://api.botframework.com")
        try:
            return dict(client.client.headers)  # type: ignore[attr-defined]
        finally:
            await client.close()
    return asyncio.run(make())


def test_a_loopback_test_connector_is_called_without_a_token(config: TeamsConfig) -> None:
    assert "Authorization" not in _client_headers(config, "http://127.0.0.1:3978/")


def test_without_a_secret_nothing_else_can_be_replied_to(config: TeamsConfig) -> None:
    with pytest.raises(ConfigError, match="COFFRE_TEAMS_APP_PASSWORD is not set"):
        _client_headers(config, "https://smba.trafficmanager.net/emea/")
    # Nor loopback itself once the test setting is off.
    with pytest.raises(ConfigError, match="COFFRE_TEAMS_APP_PASSWORD is not set"):
        _client_headers(replace(config, loopback_connector=False), "http://127.0.0.1:3978/")


def test_the_production_host_check_takes_microsofts_hosts_and_the_configured_ones(
    config: TeamsConfig
) -> None:
    check = host_validator(replace(config, service_url_check=True,
                                   service_hosts=("botconnector.bank.example",)))
    assert check.enabled
    assert check.is_allowed("https://smba.trafficmanager.net/emea/")
    assert check.is_allowed("https://europe.webchat.botframework.com/")
    assert check.is_allowed("https://eu.botconnector.bank.example/")
    for refused in ("http://smba.trafficmanager.net/emea/", "https://127.0.0.1/",
                    "https://attacker.example/", "https://botframework.com.attacker.example/"):
        assert not check.is_allowed(refused), refused
    assert host_validator(config).enabled  # on by default
    off = host_validator(replace(config, service_url_check=False))  # as the other tests run
    assert not off.enabled and off.is_allowed("http://127.0.0.1:3978/")


def test_with_its_secret_the_bot_asks_entra_for_a_bot_connector_token(
    config: TeamsConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[str, list[str]]] = []

    async def get_access_token(self: MsalAuth, resource_url: str, scopes: list[str],
                               force_refresh: bool = False) -> str:
        assert self.configuration.CLIENT_ID == APP_ID
        assert self.configuration.CLIENT_SECRET == "s3cret"
        assert self.configuration.TENANT_ID == TENANT
        asked.append((resource_url, scopes))
        return "entra-token"

    monkeypatch.setattr(MsalAuth, "get_access_token", get_access_token)
    production = replace(config, app_password="s3cret", tenant_id=TENANT,
                         loopback_connector=False)
    headers = _client_headers(production, "https://smba.trafficmanager.net/emea/")
    assert headers["Authorization"] == "Bearer entra-token"
    assert asked == [("https://api.botframework.com", ["https://api.botframework.com/.default"])]
    # Loopback is no exception once the test setting is off: it gets the token too.
    assert _client_headers(production, "http://127.0.0.1:3978/")["Authorization"] == (
        "Bearer entra-token")
