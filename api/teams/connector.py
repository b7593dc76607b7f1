"""The SDK's adapter, set up for Coffre: which service URLs it accepts, how its replies reach
the Bot Connector, and what a turn that fails tells the user.

Replies go to the activity's serviceUrl with a token the bot gets from Entra (MSAL, the app
id, secret and tenant). The SDK's outbound host check accepts only https Microsoft hosts
(and COFFRE_TEAMS_SERVICE_HOSTS), never a loopback or private address, so tests against a
connector on loopback turn it off, and only there (COFFRE_TEAMS_LOOPBACK_CONNECTOR) send
replies without a token.
"""

from __future__ import annotations

import ipaddress
import logging
from urllib.parse import urlsplit

from microsoft_agents.authentication.msal import MsalConnectionManager
from microsoft_agents.hosting.core import (
    AgentAuthConfiguration,
    ClaimsIdentity,
    OutboundHostValidator,
    RestChannelServiceClientFactory,
    TurnContext,
)
from microsoft_agents.hosting.core.connector import ConnectorClientBase
from microsoft_agents.hosting.core.connector.client import UserTokenClient
from microsoft_agents.hosting.fastapi import CloudAdapter

from api.errors import ConfigError
from api.teams.cards import notice_activity
from api.teams.config import TeamsConfig

log = logging.getLogger("coffre.teams")

TURN_FAILED = "Coffre could not handle this message. Please ask again in a moment."


def is_loopback(url: str) -> bool:
    """Whether a URL's host is this machine (localhost, 127.0.0.0/8, ::1)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ConnectorFactory(RestChannelServiceClientFactory):
    """The SDK's clients for the Bot Connector, with the bot's token, or with none for a test
    connector on loopback when that is allowed; the SDK's own anonymous flag is not followed
    (it would send any reply without a token to an identity with no claims)."""

    def __init__(self, config: TeamsConfig) -> None:
        auth = AgentAuthConfiguration(client_id=config.app_id,
                                      tenant_id=config.tenant_id or None,
                                      client_secret=config.app_password)
        super().__init__(MsalConnectionManager(
            connections_configurations={"SERVICE_CONNECTION": auth}))
        self._loopback = config.loopback_connector
        self._credentials = config.app_password is not None

    async def create_connector_client(
        self, context: TurnContext | None, claims_identity: ClaimsIdentity, service_url: str,
        audience: str, scopes: list[str] | None = None, use_anonymous: bool = False,
    ) -> ConnectorClientBase:
        """A client for `service_url`: tokenless only to loopback with the test setting on."""
        anonymous = self._loopback and is_loopback(service_url)
        if not anonymous and not self._credentials:
            raise ConfigError("COFFRE_TEAMS_APP_PASSWORD is not set, so replies can only go "
                              f"to a loopback test connector, not to {service_url}")
        return await super().create_connector_client(context, claims_identity, service_url,
                                                     audience, scopes, use_anonymous=anonymous)

    async def create_user_token_client(
        self, context: TurnContext, claims_identity: ClaimsIdentity, use_anonymous: bool = False,
    ) -> UserTokenClient:
        """The SDK makes one for every turn; Coffre signs nobody in through the Bot
        Framework's token service, so it gets no token (and costs no call to Entra)."""
        return await super().create_user_token_client(context, claims_identity,
                                                      use_anonymous=True)


def host_validator(config: TeamsConfig) -> OutboundHostValidator:
    """The SDK's check of activities' service URLs: https, Microsoft's hosts and the extra
    ones configured, no private or loopback address; off only when the setting is."""
    return OutboundHostValidator(list(config.service_hosts), enabled=config.service_url_check)


async def on_turn_error(context: TurnContext, error: Exception) -> None:
    """A turn that failed: logged in full here, and a plain message to the user (the SDK's
    default would send them the exception's text)."""
    log.error("a Teams turn failed: %s", error, exc_info=error)
    try:
        await context.send_activity(notice_activity(TURN_FAILED))
    except Exception as exc:  # the connector itself may be what failed
        log.error("could not tell the Teams user that their turn failed: %s", exc)


def build_adapter(config: TeamsConfig) -> CloudAdapter:
    """The FastAPI adapter over Coffre's connector factory and host check."""
    adapter = CloudAdapter(channel_service_client_factory=ConnectorFactory(config),
                           host_validator=host_validator(config))
    adapter.on_turn_error = on_turn_error
    return adapter
