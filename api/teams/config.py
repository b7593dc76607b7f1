"""The Teams bot's settings, as one typed value read from `Settings` when the app is built."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from api.settings import Settings


@dataclass(frozen=True)
class TeamsConfig:
    """How the bot checks what Teams sends, whom it answers, and how it replies."""

    app_id: str
    app_password: str | None  # None: only a loopback test connector can be replied to
    tenant_id: str
    key_set: str  # an https URL or a JWKS file
    issuers: frozenset[str]
    users_file: Path
    quotes: bool
    contact: str
    base_url: str  # where the cards' passage links point
    service_url_check: bool
    service_hosts: tuple[str, ...]
    loopback_connector: bool


def _listed(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def teams_config(settings: Settings) -> TeamsConfig | None:
    """The bot's configuration, or None when it is off (no COFFRE_TEAMS_APP_ID).

    The settings already refused a bot without its password, tenant or users file.
    """
    if not settings.teams_app_id.strip() or settings.teams_users is None:
        return None
    password = settings.teams_app_password
    return TeamsConfig(
        app_id=settings.teams_app_id.strip(),
        app_password=password.get_secret_value() if password is not None else None,
        tenant_id=settings.teams_tenant_id.strip(),
        key_set=settings.teams_jwks,
        issuers=frozenset(_listed(settings.teams_issuers)),
        users_file=settings.teams_users,
        quotes=settings.teams_quotes,
        contact=settings.teams_contact,
        base_url=settings.base_url,
        service_url_check=settings.teams_service_url_check,
        service_hosts=_listed(settings.teams_service_hosts),
        loopback_connector=settings.teams_loopback_connector,
    )
