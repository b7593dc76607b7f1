"""The Microsoft Teams bot: Coffre's answers in Teams chats, on Microsoft's 365 Agents SDK.

`config` (the settings it runs on), `tokens` (the Bot Framework's tokens checked against a
configured key set), `identities` (Teams users mapped to Coffre users by a file), `cards`
(the Adaptive Card and the AI-generated label), `messages` (what the bot says besides
answers), `memory` (a conversation's recent turns), `records` (audit records of refused
users), `connector` (the SDK adapter and the replies' route to the Bot Connector), `bot`
(the turns). `api/http/teams.py` serves it at `POST /api/messages` when it is configured.
"""
