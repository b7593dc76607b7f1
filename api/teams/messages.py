"""What the bot reads from a Teams message, and what it says besides answers.

Teams users see every one of these, so each says what happened and what to do: the bot
never stays silent on a message it will not answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from microsoft_agents.activity import Activity

from api.teams.identities import TeamsUser
from indexes.errors import CoffreError
from rag.answers import MAX_QUESTION_CHARS

WELCOME = ("Hello, I am Coffre. I answer questions from the bank's own documents, citing "
           "the document, page and passage of each claim. Ask me a question, for example: "
           "What is the maximum loan-to-value for a buy-to-let mortgage?")
EMPTY = ("Please ask your question as text, for example: What is the maximum loan-to-value "
         "for a buy-to-let mortgage?")


@dataclass(frozen=True)
class Question:
    """A message Coffre can answer: its text, the bot's @mention taken out."""

    text: str


@dataclass(frozen=True)
class Unanswerable:
    """A message Coffre will not answer, and what to tell its sender."""

    reply: str


def read_question(activity: Activity) -> Question | Unanswerable:
    """The question of a message; an empty or too long one gets a reply saying so."""
    # In group chats and channels the text starts with "<at>Coffre</at>"; the SDK takes it
    # out of the activity it is given, so of a copy.
    try:
        text = (activity.model_copy().remove_recipient_mention() or "").strip()
    except ValueError:  # a mention entity that does not read: the text as it came
        text = (activity.text or "").strip()
    if not text:
        return Unanswerable(EMPTY)
    if len(text) > MAX_QUESTION_CHARS:
        return Unanswerable(
            f"Your message has {len(text):,} characters; please ask in at most "
            f"{MAX_QUESTION_CHARS:,}, one question at a time.")
    return Question(text)


def teams_user(activity: Activity) -> TeamsUser | None:
    """The sender as Teams names them: tenant (of the conversation, else of the channel
    data) and Entra object id; None when the activity lacks either."""
    sender = activity.from_property
    object_id = sender.aad_object_id if sender is not None else None
    tenant = activity.conversation.tenant_id if activity.conversation is not None else None
    if not tenant and isinstance(activity.channel_data, dict):
        data_tenant = activity.channel_data.get("tenant")
        tenant = data_tenant.get("id") if isinstance(data_tenant, dict) else None
    if not isinstance(tenant, str) or not tenant or not object_id:
        return None
    return TeamsUser(tenant, object_id)


def unregistered(contact: str) -> str:
    """To a Teams user who is not in COFFRE_TEAMS_USERS."""
    return (f"You are not registered to use Coffre, so I cannot answer. To get access, "
            f"ask {contact}.")


def not_allowed(contact: str) -> str:
    """To a registered user whose role does not let them ask."""
    return f"Your Coffre role does not let you ask questions. To change it, ask {contact}."


def cannot_identify(contact: str) -> str:
    """While the list of users cannot be read (it is being changed, or broken)."""
    return (f"Coffre cannot check who you are right now, so I cannot answer. Please tell "
            f"{contact}.")


def failed(error: CoffreError) -> str:
    """An answer that failed (the model busy or broken, the audit trail unwritable)."""
    return f"Coffre could not answer this time: {error}"
