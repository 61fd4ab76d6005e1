"""One question asked in Slack, answered in its thread.

Every trigger (a mention, a DM, ``/crm``, a follow-up button) becomes a ``Turn`` and
goes through :func:`answer_turn`: map the Slack user to a staff user (or refuse),
show the indicator, call ``assistant.respond`` with the thread's conversation id,
post the Block Kit answer, then upload its charts into the same thread. The
conversation id is ``slack:{channel}:{thread_ts}``, so every follow-up in a thread
continues the same assistant memory.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from integrations.slack.blocks import clip, escape, reply_blocks, section
from integrations.slack.followups import followups_for
from integrations.slack.identity import SlackIdentity
from integrations.slack.settings import SlackSettings
from integrations.slack.status import AssistantStatusSupport, Status
from integrations.slack.store import SlackStore
from integrations.slack.writes import propose_writes
from storage.models import StaffUser
from tools.context import ToolContext

if TYPE_CHECKING:
    from assistant import Reply

logger = logging.getLogger(__name__)

Answerer = Callable[..., "Reply"]  # (question, *, context: ToolContext, thread_id: str) -> Reply

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<(?:mailto:)?([^>|]+)(?:\|([^>]*))?>")

REFUSAL = {
    "en": "Sorry, I can't help you yet: your Slack account is not linked to a CRM staff account. "
          "Please ask a CRM admin to add your Slack user ID or your email address to your staff record.",
    "zh": "抱歉，暂时无法为你服务：你的 Slack 账号还没有关联 CRM 员工账号。请联系 CRM 管理员，在你的员工记录中添加 Slack 用户 ID 或邮箱。",
}
SORRY = {
    "en": "Sorry, something went wrong while answering. Please try again in a moment.",
    "zh": "抱歉，回答时出了点问题，请稍后再试。",
}


@dataclass
class SlackDeps:
    """What every listener needs; built once per app by ``create_slack_app``."""

    settings: SlackSettings
    store: SlackStore
    identity: SlackIdentity
    answer: Answerer
    clock: Callable[[], datetime] | None = None
    database_url: str | None = None
    assistant_status: AssistantStatusSupport = field(default_factory=AssistantStatusSupport)

    def context_for(self, staff: StaffUser, *, confirm_writes: bool = False) -> ToolContext:
        """The caller's context; ``confirm_writes`` makes write tools preview only, for the Confirm button."""
        now = self.clock() if self.clock else None
        ctx = ToolContext.for_user(staff, channel="slack", now=now, database_url=self.database_url)
        return ctx.model_copy(update={"confirm_writes": True}) if confirm_writes else ctx


@dataclass(frozen=True)
class Turn:
    question: str
    user: str
    channel: str
    thread_ts: str
    direct: bool = False
    from_button: bool = False


def thread_id_for(channel: str, thread_ts: str) -> str:
    return f"slack:{channel}:{thread_ts}"


def language_of(text: str) -> str:
    return "zh" if _CJK.search(text or "") else "en"


def clean_text(raw: str, *, bot_user_id: str | None = None, names: dict[str, str] | None = None) -> str:
    """A message's text as the person meant it: no mention of the bot, colleagues by name, links as plain text."""
    names = names or {}

    def person(match: re.Match) -> str:
        user = match.group(1)
        return "" if user == bot_user_id else names.get(user, match.group(0))

    def link(match: re.Match) -> str:
        target, label = match.group(1), match.group(2)
        return match.group(0) if target.startswith("@") else (label or target)

    plain = _LINK.sub(link, _MENTION.sub(person, raw or ""))
    plain = plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(plain.split())


def mentioned_users(raw: str) -> list[str]:
    return _MENTION.findall(raw or "")


def answer_turn(turn: Turn, *, client: WebClient, deps: SlackDeps, staff: StaffUser | None = None) -> None:
    lang = language_of(turn.question)
    staff = staff or deps.identity.staff_for(turn.user, client=client)
    if staff is None:
        refuse(client, channel=turn.channel, user=turn.user, thread_ts=turn.thread_ts, direct=turn.direct, lang=lang)
        return
    status = Status(client, channel=turn.channel, thread_ts=turn.thread_ts, lang=lang, support=deps.assistant_status)
    status.start(direct=turn.direct)
    ctx = deps.context_for(staff, confirm_writes=True)
    try:
        reply = deps.answer(turn.question, context=ctx, thread_id=thread_id_for(turn.channel, turn.thread_ts))
    except Exception:  # noqa: BLE001 - the person in Slack gets an apology; the log keeps the traceback
        logger.exception("answering %r in %s failed", turn.question[:80], turn.channel)
        status.finish(fallback=SORRY[lang], blocks=[section(f":warning: {SORRY[lang]}")])
        return
    proposals = propose_writes(reply, ctx=ctx, staff=staff, user=turn.user, channel=turn.channel,
                               thread_ts=turn.thread_ts, store=deps.store)
    blocks = reply_blocks(reply, followups=followups_for(reply), proposals=proposals,
                          public_url=deps.settings.public_url,
                          asked_by=(turn.user, turn.question) if turn.from_button else None)
    status.finish(fallback=clip(escape(reply.answer)), blocks=blocks)
    upload_charts(client, reply, channel=turn.channel, thread_ts=turn.thread_ts)


def refuse(client: WebClient, *, channel: str, user: str, thread_ts: str | None, direct: bool, lang: str) -> None:
    """The polite no: in a DM a normal reply, in a channel one only the asker sees. It names no data."""
    try:
        if direct:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=REFUSAL[lang])
        else:
            client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=REFUSAL[lang])
    except SlackApiError as exc:
        logger.warning("could not deliver the refusal to %s: %s", user, exc.response.get("error"))


def upload_charts(client: WebClient, reply: Reply, *, channel: str, thread_ts: str) -> list[str]:
    """Upload each chart PNG into the thread (files upload v2); returns the Slack file ids."""
    titles = [s.title for s in reply.chart_specs] if len(reply.chart_specs) == len(reply.charts) else []
    uploaded = []
    for i, path in enumerate(reply.charts):
        file = Path(path)
        if not file.is_file():
            continue
        title = titles[i] if titles else file.stem
        try:
            response: Any = client.files_upload_v2(channel=channel, thread_ts=thread_ts, file=str(file),
                                                   filename=file.name, title=title, alt_txt=title)
            uploaded.append((response.get("file") or {}).get("id"))
        except SlackApiError as exc:
            # A missing files:write scope must not hide the answer that is already posted.
            logger.warning("chart upload failed: %s", exc.response.get("error"))
    return uploaded


def default_answerer() -> Answerer:
    def answer(question: str, *, context: ToolContext, thread_id: str) -> Reply:
        from assistant import respond

        return respond(question, context=context, thread_id=thread_id)

    return answer
