"""Bolt listeners: translate each Slack trigger into a ``Turn`` or a button outcome.

The app runs with ``process_before_response=False``: Bolt acks an event as soon as it
arrives and runs the listener on its worker pool, and the command and action
listeners call ``ack()`` first thing, so Slack hears back in milliseconds while the
assistant takes its seconds. The de-duplication middleware runs before any listener.
"""

from __future__ import annotations

import logging
import re

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from integrations.slack.blocks import (
    CANCEL_ACTION,
    CONFIRM_ACTION,
    FOLLOWUP_ACTION,
    escape,
    reply_blocks,
    section,
    text,
)
from integrations.slack.turns import (
    REFUSAL,
    SORRY,
    SlackDeps,
    Turn,
    answer_turn,
    clean_text,
    language_of,
    mentioned_users,
    thread_id_for,
)
from integrations.slack.writes import cancel_write, confirm_write

logger = logging.getLogger(__name__)

# Ordinary messages carry no subtype; edits, joins, bot posts and the like do, and are not questions.
_QUESTION_SUBTYPES = {None, "thread_broadcast"}

HELP = {
    "en": "Ask me about your customers, sales and campaigns, in English or Chinese. For example:\n"
          "• `{command} which VIPs went quiet this month?`\n• `{command} revenue by region last quarter`\n"
          "• `{command} 上个季度各地区的销售额`\nMention me in a channel or send me a direct message; "
          "follow-ups in the same thread keep the conversation.",
}


def register_listeners(app: App, deps: SlackDeps) -> None:
    app.use(_dedupe(deps))

    @app.event("app_mention")
    def on_mention(event: dict, client: WebClient, context) -> None:
        channel = event.get("channel", "")
        if channel.startswith("D"):
            return  # a mention inside a DM also arrives as a message.im event, answered there
        question = _question(event.get("text", ""), deps=deps, bot_user_id=context.bot_user_id)
        thread_ts = event.get("thread_ts") or event["ts"]
        answer_turn(Turn(question=question, user=event.get("user", ""), channel=channel, thread_ts=thread_ts),
                    client=client, deps=deps)

    @app.event("message")
    def on_message(event: dict, client: WebClient, context) -> None:
        if event.get("channel_type") != "im" or event.get("subtype") not in _QUESTION_SUBTYPES or event.get("bot_id"):
            return
        question = _question(event.get("text", ""), deps=deps, bot_user_id=context.bot_user_id)
        thread_ts = event.get("thread_ts") or event["ts"]
        answer_turn(Turn(question=question, user=event.get("user", ""), channel=event["channel"], thread_ts=thread_ts,
                         direct=True), client=client, deps=deps)

    @app.command(deps.settings.command)
    def on_command(ack, command: dict, client: WebClient, respond, context) -> None:
        question = _question(command.get("text", ""), deps=deps, bot_user_id=context.bot_user_id)
        if question.lower() in ("", "help", "帮助", "?"):
            ack(text=HELP["en"].format(command=deps.settings.command), response_type="ephemeral")
            return
        ack()
        run_command(question, user=command.get("user_id", ""), channel=command.get("channel_id", ""),
                    client=client, respond=respond, deps=deps)

    @app.action(re.compile(rf"^{FOLLOWUP_ACTION}_\d+$"))
    def on_followup(ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        message = body.get("message") or {}
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
        thread_ts = message.get("thread_ts") or message.get("ts") or (body.get("container") or {}).get("message_ts")
        answer_turn(Turn(question=action.get("value", ""), user=body["user"]["id"], channel=channel, thread_ts=thread_ts,
                         direct=channel.startswith("D"), from_button=True), client=client, deps=deps)

    @app.action(CONFIRM_ACTION)
    def on_confirm(ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        confirm_write(action.get("value", ""), user=body["user"]["id"], client=client, deps=deps,
                      message=body.get("message"), channel=(body.get("channel") or {}).get("id", ""))

    @app.action(CANCEL_ACTION)
    def on_cancel(ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        cancel_write(action.get("value", ""), user=body["user"]["id"], client=client, deps=deps,
                     message=body.get("message"), channel=(body.get("channel") or {}).get("id", ""))

    @app.error
    def on_error(error: Exception, body: dict) -> None:
        logger.error("Slack listener failed for a %s request: %s", body.get("type"), error, exc_info=error)


def run_command(question: str, *, user: str, channel: str, client: WebClient, respond, deps: SlackDeps) -> None:
    """``/crm question``: the question is posted as a message, answered in its thread (so follow-ups work there)."""
    lang = language_of(question)
    staff = deps.identity.staff_for(user, client=client)
    if staff is None:
        refuse_via_response_url(respond, lang=lang)
        return
    try:
        parent = client.chat_postMessage(channel=channel, text=text("asked", lang, user=user, question=escape(question)),
                                         blocks=[section(text("asked", lang, user=user, question=escape(question)))])
    except SlackApiError as exc:
        # The app is not in this channel (or it is someone else's DM): answer privately instead.
        logger.info("cannot post in %s (%s); answering through response_url", channel, exc.response.get("error"))
        answer_privately(question, staff=staff, user=user, channel=channel, respond=respond, deps=deps)
        return
    answer_turn(Turn(question=question, user=user, channel=channel, thread_ts=parent["ts"],
                     direct=channel.startswith("D")), client=client, deps=deps, staff=staff)


def answer_privately(question: str, *, staff, user: str, channel: str, respond, deps: SlackDeps) -> None:
    lang = language_of(question)
    try:
        # Writes stay previews here: an ephemeral answer has no message to hang Confirm buttons on.
        reply = deps.answer(question, context=deps.context_for(staff, confirm_writes=True),
                            thread_id=thread_id_for(channel, f"cmd-{user}"))
    except Exception:  # noqa: BLE001 - an apology, not a stack trace, reaches Slack
        logger.exception("answering a private /crm question failed")
        respond(text=SORRY[lang], response_type="ephemeral")
        return
    # No thread and no file upload here; the answer is ephemeral and text-only.
    respond(text=reply.answer[:3000], blocks=reply_blocks(reply), response_type="ephemeral")


def refuse_via_response_url(respond, *, lang: str) -> None:
    respond(text=REFUSAL[lang], response_type="ephemeral")


def _question(raw: str, *, deps: SlackDeps, bot_user_id: str | None) -> str:
    names = deps.identity.names_for([u for u in mentioned_users(raw) if u != bot_user_id])
    return clean_text(raw, bot_user_id=bot_user_id, names=names)


def _dedupe(deps: SlackDeps):
    def middleware(body: dict, next, logger) -> BoltResponse | None:  # noqa: A002 - Bolt injects by name
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not deps.store.claim_event(event_id):
            logger.info("event %s already handled; acknowledging the redelivery without a second reply", event_id)
            return BoltResponse(status=200, body="", headers={"X-Slack-No-Retry": "1"})
        return next()

    return middleware

