"""Bolt listeners: translate each Slack trigger into a ``Turn`` or a button outcome.

The app runs with ``process_before_response=False``: Bolt acks an event as soon as it
arrives and runs the listener on its worker pool, and the command and action
listeners call ``ack()`` first thing, so Slack hears back in milliseconds while the
assistant takes its seconds. The de-duplication middleware runs before any listener.

Before a question reaches the assistant (``admit``) the asker is mapped to staff, the
question is cleaned and held to ``MAX_QUESTION_CHARS``, and the user's rate limit
(CRM_RATE_LIMIT_PER_MINUTE) is checked; each refusal is a polite reply only the asker
sees. A database that is locked or down gets a clear reply too, never silence. Events
missing the fields a listener needs are logged and dropped, not raised into Bolt.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace

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
from storage.models import StaffUser
from storage.retry import as_unavailable

logger = logging.getLogger(__name__)

UNAVAILABLE = {
    "en": "Sorry, the CRM database is not available right now (busy or unreachable). Please try again in a minute.",
    "zh": "抱歉，CRM 数据库暂时不可用（繁忙或无法连接），请过一分钟再试。",
}

# Ordinary messages carry no subtype; edits, joins, bot posts and the like do, and are not questions.
_QUESTION_SUBTYPES = {None, "thread_broadcast"}

HELP = {
    "en": "Ask me about your customers, sales and campaigns, in English or Chinese. For example:\n"
          "• `{command} which VIPs went quiet this month?`\n• `{command} revenue by region last quarter`\n"
          "• `{command} 上个季度各地区的销售额`\nMention me in a channel or send me a direct message; "
          "follow-ups in the same thread keep the conversation.",
}


def register_listeners(app: App, deps: SlackDeps) -> None:
    deps = replace(deps, answer=_database_errors_answered(deps.answer))
    app.use(_dedupe(deps))

    @app.event("app_mention")
    def on_mention(event: dict, client: WebClient, context) -> None:
        channel = _text(event.get("channel"))
        if channel.startswith("D"):
            return  # a mention inside a DM also arrives as a message.im event, answered there
        thread_ts = _text(event.get("thread_ts")) or _text(event.get("ts"))
        if not channel or not thread_ts:
            logger.info("app_mention without a channel or ts; ignored")
            return
        question = _question(event.get("text"), deps=deps, bot_user_id=context.bot_user_id)
        admit(Turn(question=question, user=_text(event.get("user")), channel=channel, thread_ts=thread_ts),
              client=client, deps=deps)

    @app.event("message")
    def on_message(event: dict, client: WebClient, context) -> None:
        if event.get("channel_type") != "im" or event.get("subtype") not in _QUESTION_SUBTYPES or event.get("bot_id"):
            return
        channel, thread_ts = _text(event.get("channel")), _text(event.get("thread_ts")) or _text(event.get("ts"))
        if not channel or not thread_ts:
            logger.info("direct message without a channel or ts; ignored")
            return
        question = _question(event.get("text"), deps=deps, bot_user_id=context.bot_user_id)
        admit(Turn(question=question, user=_text(event.get("user")), channel=channel, thread_ts=thread_ts,
                   direct=True), client=client, deps=deps)

    @app.command(deps.settings.command)
    def on_command(ack, command: dict, client: WebClient, respond, context) -> None:
        question = _question(command.get("text"), deps=deps, bot_user_id=context.bot_user_id)
        if question.lower() in ("", "help", "帮助", "?"):
            ack(text=HELP["en"].format(command=deps.settings.command), response_type="ephemeral")
            return
        ack()
        run_command(question, user=_text(command.get("user_id")), channel=_text(command.get("channel_id")),
                    client=client, respond=respond, deps=deps)

    @app.action(re.compile(rf"^{FOLLOWUP_ACTION}_\d+$"))
    def on_followup(ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        message = body.get("message") or {}
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
        thread_ts = message.get("thread_ts") or message.get("ts") or (body.get("container") or {}).get("message_ts")
        user = _text((body.get("user") or {}).get("id"))
        if not channel or not thread_ts or not user:
            logger.info("follow-up click without a channel, message or user; ignored")
            return
        admit(Turn(question=_text(action.get("value")), user=user, channel=channel, thread_ts=thread_ts,
                   direct=channel.startswith("D"), from_button=True), client=client, deps=deps)

    @app.action(CONFIRM_ACTION)
    def on_confirm(ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        user = _text((body.get("user") or {}).get("id"))
        if user:
            confirm_write(_text(action.get("value")), user=user, client=client, deps=deps,
                          message=body.get("message"), channel=(body.get("channel") or {}).get("id", ""))

    @app.action(CANCEL_ACTION)
    def on_cancel(ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        user = _text((body.get("user") or {}).get("id"))
        if user:
            cancel_write(_text(action.get("value")), user=user, client=client, deps=deps,
                         message=body.get("message"), channel=(body.get("channel") or {}).get("id", ""))

    @app.error
    def on_error(error: Exception, body: dict, request) -> BoltResponse | None:
        if _unverifiable(request):
            # Bolt's signature check raises on a timestamp that is not a number: that is a forged or broken
            # request, refused like any other unsigned one rather than answered with a 500.
            logger.warning("refused a Slack request with an unreadable signature timestamp")
            return BoltResponse(status=401, body="")
        logger.error("Slack listener failed for a %s request: %s", (body or {}).get("type"), error, exc_info=error)
        return None


def admit(turn: Turn, *, client: WebClient, deps: SlackDeps) -> None:
    """Answer ``turn`` unless its asker is over the length or rate limit (a polite private reply instead)."""
    # Imported here, after the ack: loading the assistant takes seconds the first time.
    from assistant import clean_question

    turn = replace(turn, question=clean_question(turn.question))
    lang = language_of(turn.question)
    try:
        staff = deps.identity.staff_for(turn.user, client=client)
        if staff is not None:
            refusal = _refusal(turn.question, staff=staff, deps=deps)
            if refusal:
                _tell(client, turn, refusal)
                return
        answer_turn(turn, client=client, deps=deps, staff=staff)
    except Exception as exc:
        if as_unavailable(exc) is None:
            raise
        logger.warning("database unavailable while answering in %s: %s", turn.channel, as_unavailable(exc).detail)
        _tell(client, turn, UNAVAILABLE[lang])


def run_command(question: str, *, user: str, channel: str, client: WebClient, respond, deps: SlackDeps) -> None:
    """``/crm question``: the question is posted as a message, answered in its thread (so follow-ups work there)."""
    from assistant import clean_question

    question = clean_question(question)
    lang = language_of(question)
    try:
        staff = deps.identity.staff_for(user, client=client)
    except Exception as exc:
        if as_unavailable(exc) is None:
            raise
        respond(text=UNAVAILABLE[lang], response_type="ephemeral")
        return
    if staff is None:
        refuse_via_response_url(respond, lang=lang)
        return
    refusal = _refusal(question, staff=staff, deps=deps)
    if refusal:
        respond(text=refusal, response_type="ephemeral")
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


def _refusal(question: str, *, staff: StaffUser, deps: SlackDeps) -> str | None:
    """Why this mapped user's question is not answered now (too long, too many), or None to answer it."""
    from assistant import MAX_QUESTION_CHARS, check_question, limited_message, too_long_message

    lang = language_of(question)
    if len(question) > MAX_QUESTION_CHARS:
        return too_long_message(lang, length=len(question))
    wait = check_question(user_id=staff.id, database_url=deps.database_url)
    return limited_message(lang, seconds=wait) if wait else None


def _tell(client: WebClient, turn: Turn, message: str) -> None:
    """A reply only the asker sees: in a DM a normal threaded message, in a channel an ephemeral one."""
    try:
        if turn.direct:
            client.chat_postMessage(channel=turn.channel, thread_ts=turn.thread_ts, text=message)
        else:
            client.chat_postEphemeral(channel=turn.channel, user=turn.user, thread_ts=turn.thread_ts, text=message)
    except SlackApiError as exc:
        logger.warning("could not tell %s: %s", turn.user, exc.response.get("error"))


def _database_errors_answered(answer):
    """``answer`` whose locked-or-down database becomes a clear Reply instead of the generic apology."""

    def guarded(question: str, *, context, thread_id: str):
        try:
            return answer(question, context=context, thread_id=thread_id)
        except Exception as exc:
            unavailable = as_unavailable(exc)
            if unavailable is None:
                raise
            from assistant import Reply, ReplyError

            logger.warning("database unavailable while answering: %s", unavailable.detail)
            lang = language_of(question)
            return Reply(answer=UNAVAILABLE[lang], language=lang, thread_id=thread_id, model="none", latency_ms=0.0,
                         error=ReplyError(code="database_unavailable", message=str(unavailable)))

    return guarded


def _unverifiable(request) -> bool:
    if request is None or getattr(request, "mode", "http") != "http":
        return False  # Socket Mode requests arrive over an authenticated websocket, unsigned
    stamp = (request.headers.get("x-slack-request-timestamp") or [""])[0]
    return not stamp.isdigit()


def _text(value) -> str:
    # Slack payloads are JSON from outside: a field may be missing, null or of another type.
    return value if isinstance(value, str) else ""


def _question(raw, *, deps: SlackDeps, bot_user_id: str | None) -> str:
    # Control characters are dropped later (``admit``, ``run_command``): /crm must ack before the assistant loads.
    raw = _text(raw)
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

