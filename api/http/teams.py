"""`POST /api/messages`: the Microsoft Teams bot's endpoint, there only when it is configured
(COFFRE_TEAMS_APP_ID); see docs/teams.md.

Every request is checked before the SDK sees it: the Bot Framework token (401 otherwise,
nothing answered or audited), then the activity (400 when it is not one), then that the
token was issued for it and that its serviceUrl is a Bot Connector's. The SDK then gets the
verified claims (`request.state.claims_identity`, where its FastAPI adapter reads them) and
acknowledges at once (202); the bot answers in the background.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import APIRouter, FastAPI, Request, Response
from microsoft_agents.activity import Activity
from microsoft_agents.hosting.core import ClaimsIdentity, OutboundHostValidator
from microsoft_agents.hosting.fastapi import CloudAdapter
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.errors import ActivityError, AuthError, TooLargeError
from api.teams.bot import TeamsBot
from api.teams.config import TeamsConfig, teams_config
from api.teams.connector import build_adapter, host_validator
from api.teams.identities import IdentityFile
from api.teams.tokens import KeySet, TokenPolicy, check_activity, key_set, verify
from api.wiring import Services

PATH = "/api/messages"
MAX_BODY_BYTES = 1024 * 1024  # Teams' activities are a few kilobytes


@dataclass(frozen=True)
class Teams:
    """The bot and what its endpoint checks requests with."""

    bot: TeamsBot
    adapter: CloudAdapter
    keys: KeySet
    policy: TokenPolicy
    service_urls: OutboundHostValidator


def build_teams(services: Services, config: TeamsConfig) -> Teams:
    """The bot over `services`; SettingsError when its users file does not read."""
    bot = TeamsBot(services, config, IdentityFile(config.users_file))
    return Teams(bot, build_adapter(config), key_set(config.key_set),
                 TokenPolicy(config.app_id, config.issuers), host_validator(config))


async def read_activity(request: Request) -> Activity:
    """The request's activity; ActivityError (400) when the body is not one."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise TooLargeError(f"an activity is at most {MAX_BODY_BYTES:,} bytes")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise TooLargeError(f"an activity is at most {MAX_BODY_BYTES:,} bytes")
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise ActivityError(f"the body is not JSON ({exc}): Teams posts activities as JSON") \
            from exc
    if not isinstance(document, dict):
        raise ActivityError("the body is not a JSON object, so not a Bot Framework activity")
    try:
        activity = Activity.model_validate(document)
    except ValidationError as exc:
        problem = exc.errors()[0]
        place = ".".join(str(p) for p in problem["loc"]) or "activity"
        raise ActivityError(f"not a Bot Framework activity: {place}: {problem['msg']}") from exc
    if not activity.type or not activity.conversation or not activity.conversation.id:
        raise ActivityError("an activity needs a type and a conversation.id")
    if not activity.service_url:
        raise ActivityError("an activity needs a serviceUrl, where its replies go")
    return activity


async def _checked(teams: Teams, request: Request) -> ClaimsIdentity:
    """The claims of a request whose token and activity passed every check."""
    verified = await run_in_threadpool(verify, request.headers.get("authorization"),
                                       teams.keys, teams.policy)
    activity = await read_activity(request)
    check_activity(verified, str(activity.channel_id or ""), activity.service_url)
    if not teams.service_urls.is_allowed(activity.service_url):
        raise AuthError(f"the serviceUrl {activity.service_url} is not a Bot Connector's "
                        "(COFFRE_TEAMS_SERVICE_HOSTS, COFFRE_TEAMS_SERVICE_URL_CHECK)")
    return ClaimsIdentity(dict(verified.claims), authentication_type="Bearer",
                          security_token=verified.token)


def teams_router(teams: Teams) -> APIRouter:
    """The endpoint over a built bot; replies still running stop when the app does."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await teams.bot.replies.close()

    router = APIRouter(lifespan=lifespan)

    @router.post(PATH, status_code=202, summary="Microsoft Teams: the Bot Framework's activities",
                 responses={401: {"description": "no valid Bot Framework token"},
                            400: {"description": "not a Bot Framework activity"}})
    async def messages(request: Request) -> Response:
        """Take an activity from Teams: acknowledged at once, a message answered after."""
        request.state.claims_identity = await _checked(teams, request)
        response = await teams.adapter.process(request, teams.bot)
        return response if response is not None else Response(status_code=202)

    return router


def router_for(services: Services) -> APIRouter | None:
    """The Teams endpoint over `services`, or None when the bot is off."""
    config = teams_config(services.settings)
    return None if config is None else teams_router(build_teams(services, config))
