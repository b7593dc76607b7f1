"""The Teams settings: off by default, and a bot that cannot work refused at start-up, the
message naming the variable to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.errors import SettingsError
from api.settings import load_settings
from api.teams.config import teams_config
from tests.unit.test_teams_kit import APP_ID, PUBLIC_URL, SigningKey, users_file, write_jwks


def _problem(**values: object) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(**values)
    return str(caught.value)


def test_the_bot_is_off_by_default() -> None:
    settings = load_settings()
    assert settings.teams_app_id == "" and teams_config(settings) is None
    assert settings.teams_quotes is True and settings.teams_service_url_check is True
    assert settings.teams_loopback_connector is False


def test_a_bot_needs_its_secret_tenant_and_users(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COFFRE_TEAMS_APP_ID", APP_ID)
    message = _problem()
    for variable in ("COFFRE_TEAMS_APP_PASSWORD", "COFFRE_TEAMS_TENANT_ID",
                     "COFFRE_TEAMS_USERS"):
        assert f"{variable}: Value error, needed when COFFRE_TEAMS_APP_ID is set" in message


def test_a_missing_users_file_is_named(tmp_path: Path) -> None:
    message = _problem(teams_users=tmp_path / "nowhere.toml")
    assert message.startswith("invalid settings: COFFRE_TEAMS_USERS: ")
    assert "nowhere.toml does not exist" in message


@pytest.mark.parametrize("value", ["http://login.botframework.com/keys", "/no/such/jwks.json"])
def test_keys_come_from_https_or_an_existing_file(value: str) -> None:
    assert _problem(teams_jwks=value).startswith("invalid settings: COFFRE_TEAMS_JWKS: ")


def test_a_bot_needs_an_issuer(tmp_path: Path) -> None:
    message = _problem(teams_app_id=APP_ID, teams_loopback_connector=True, teams_issuers=" , ",
                       teams_users=users_file(tmp_path / "users.toml"))
    assert "COFFRE_TEAMS_ISSUERS: Value error, needs at least one issuer" in message


def test_a_configured_bot_reads_every_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jwks = write_jwks(tmp_path / "jwks.json", SigningKey.new())
    for name, value in {
        "COFFRE_TEAMS_APP_ID": f" {APP_ID} ", "COFFRE_TEAMS_APP_PASSWORD": "s3cret",
        "COFFRE_TEAMS_TENANT_ID": "8f6a3c1e-2b4d-4e6f-8a1b-3c5d7e9f1a2b",
        "COFFRE_TEAMS_JWKS": str(jwks), "COFFRE_TEAMS_USERS": str(users_file(
            tmp_path / "users.toml")),
        "COFFRE_TEAMS_ISSUERS": "https://api.botframework.com, https://sts.windows.net/t/",
        "COFFRE_TEAMS_QUOTES": "false", "COFFRE_TEAMS_CONTACT": "it-coffre@bank.example",
        "COFFRE_TEAMS_SERVICE_HOSTS": "botconnector.bank.example",
        "COFFRE_PUBLIC_URL": PUBLIC_URL,
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert "s3cret" not in repr(settings)  # a secret is never printed
    config = teams_config(settings)
    assert config is not None
    assert (config.app_id, config.app_password, config.quotes) == (APP_ID, "s3cret", False)
    assert config.issuers == frozenset({"https://api.botframework.com",
                                        "https://sts.windows.net/t/"})
    assert config.service_hosts == ("botconnector.bank.example",)
    assert (config.contact, config.base_url, config.key_set) == (
        "it-coffre@bank.example", PUBLIC_URL, str(jwks))
    assert config.service_url_check and not config.loopback_connector


def test_a_test_connector_needs_no_secret(tmp_path: Path) -> None:
    settings = load_settings(teams_app_id=APP_ID, teams_loopback_connector=True,
                             teams_users=users_file(tmp_path / "users.toml"))
    config = teams_config(settings)
    assert config is not None and config.app_password is None
