"""Writes the assistant proposed, done only when the person who asked presses Confirm; Undo for assignments.

Slack turns run with ``ToolContext.confirm_writes``, so a write tool the assistant calls
only previews (the registry forces ``dry_run``). Each successful write call becomes a
pending write in the store and a Confirm / Cancel pair under the answer, described by
the tool's own preview. Confirm runs the same tool through the registry with
``dry_run=false``, as the person who clicked, who must be the person who asked. The
state moves pending -> running -> done|failed by compare-and-set, so a double click or
a second delivery of the click writes once.

A done assignment gets an Undo button: its reversal (the result's ``undo`` arguments,
carrying ``undo_of``) is stored as one more pending write, and Undo confirms it through
the same path, so it too runs once, as the clicker with their current scope, audited.
The tool refuses it if the customer's owner changed since or it was already undone. An
undo does not expire; the ``undo_of`` check decides whether it is still safe.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from integrations.slack.blocks import context, replace_write_blocks, undo_blocks
from integrations.slack.store import PendingWrite, SlackStore, WriteState
from storage.models import StaffUser
from tools.context import ToolContext
from tools.errors import ToolError
from tools.registry import TOOLS
from tools.results import ToolResult

if TYPE_CHECKING:
    from assistant import Reply
    from integrations.slack.turns import SlackDeps

logger = logging.getLogger(__name__)

_OUTCOME = {
    "done": {"en": ":white_check_mark: Done (confirmed by <@{user}>): {summary}",
             "zh": ":white_check_mark: 已完成（<@{user}> 确认）：{summary}"},
    "undone": {"en": ":leftwards_arrow_with_hook: Undone (by <@{user}>): {summary}",
               "zh": ":leftwards_arrow_with_hook: 已撤销（<@{user}>）：{summary}"},
    "failed": {"en": ":x: Not done: {summary}", "zh": ":x: 未完成：{summary}"},
    "undo_failed": {"en": ":x: Not undone: {summary}", "zh": ":x: 未撤销：{summary}"},
    "cancelled": {"en": ":heavy_multiplication_x: Cancelled by <@{user}>; nothing was written.",
                  "zh": ":heavy_multiplication_x: <@{user}> 已取消，未写入任何内容。"},
    "expired": {"en": ":hourglass: This proposal expired; ask again to get a fresh one.",
                "zh": ":hourglass: 此提议已过期，请重新提问。"},
}
_NOTICE = {
    "not_yours": {"en": "Only <@{owner}> can confirm, cancel or undo this.",
                  "zh": "只有 <@{owner}> 可以确认、取消或撤销此操作。"},
    "handled": {"en": "This was already handled.", "zh": "此操作已处理。"},
    "unknown": {"en": "I no longer know this proposal; please ask again.", "zh": "找不到此提议，请重新提问。"},
}


def describe(tool: str, args: dict[str, Any], *, lang: str = "en") -> str:
    customer = args.get("customer")
    if tool == "log_interaction":
        body = str(args.get("body") or "")
        body = body if len(body) <= 200 else body[:199] + "…"
        if lang == "zh":
            return f"为 {customer} 记录一条{args.get('kind', 'note')}：“{body}”"
        return f"log a {args.get('kind', 'note')} with {customer}: “{body}”"
    if tool == "assign_customer":
        action = args.get("action")
        if lang == "zh":
            return {"claim": f"从公海认领 {customer}", "release": f"把 {customer} 释放到公海"}.get(
                action, f"把 {customer} 分配给 {args.get('to')}")
        return {"claim": f"claim {customer} from the public pool", "release": f"release {customer} to the public pool"}.get(
            action, f"assign {customer} to {args.get('to')}")
    return f"{tool} {args}"


def propose_writes(reply: Reply, *, ctx: ToolContext, staff: StaffUser, user: str, channel: str, thread_ts: str,
                   store: SlackStore) -> list[tuple[PendingWrite, str]]:
    """Pending writes for this reply's write calls, each with the tool's own preview of what it will do.

    ``ctx`` is the turn's context (``confirm_writes`` set), so the preview call writes nothing.
    """
    from assistant.proposals import previewed_writes

    proposals = []
    for w in previewed_writes(reply, ctx=ctx):
        write = store.add_write(tool=w.tool, args=w.arguments, staff_id=staff.id, slack_user=user, channel=channel,
                                thread_ts=thread_ts, lang=reply.language)
        summary = w.preview.summary_for(reply.language) or describe(w.tool, w.arguments, lang=reply.language)
        proposals.append((write, summary))
    return proposals


def confirm_write(write_id: str, *, user: str, client: WebClient, deps: SlackDeps, message: dict | None,
                  channel: str) -> str:
    """Run a pending write (or an Undo) for the user who clicked. Returns the state it ended in (for logs and tests)."""
    found = _clicked(write_id, user=user, client=client, deps=deps, message=message, channel=channel)
    if isinstance(found, str):
        return found
    write, staff = found
    undoing = is_undo(write)
    if write.expired and not undoing:
        if deps.store.move_write(write.id, from_state="pending", to_state="cancelled"):
            _show_outcome(client, write, message, _OUTCOME["expired"][write.lang].format())
        return "expired"
    if not _claim(write, deps=deps, client=client, channel=channel, user=user, to_state="running"):
        return "handled"
    state, summary, result = _execute(write, staff=staff, deps=deps)
    deps.store.move_write(write.id, from_state="running", to_state=state, result=summary)
    key = ("undone" if state == "done" else "undo_failed") if undoing else state
    extra = _offer_undo(write, result, deps=deps) if state == "done" and not undoing else []
    _show_outcome(client, write, message, _OUTCOME[key][write.lang].format(user=user, summary=summary), extra=extra)
    return "undone" if undoing and state == "done" else state


def cancel_write(write_id: str, *, user: str, client: WebClient, deps: SlackDeps, message: dict | None,
                 channel: str) -> str:
    found = _clicked(write_id, user=user, client=client, deps=deps, message=message, channel=channel)
    if isinstance(found, str):
        return found
    write, _ = found
    if not _claim(write, deps=deps, client=client, channel=channel, user=user, to_state="cancelled"):
        return "handled"
    _show_outcome(client, write, message, _OUTCOME["cancelled"][write.lang].format(user=user))
    return "cancelled"


def is_undo(write: PendingWrite) -> bool:
    return write.tool == "assign_customer" and write.args.get("undo_of") is not None


def _clicked(write_id: str, *, user: str, client: WebClient, deps: SlackDeps, message: dict | None,
             channel: str) -> tuple[PendingWrite, StaffUser] | str:
    """The clicked write and the clicker's staff record, or the reason (already told to the clicker) why not."""
    write = deps.store.get_write(write_id)
    if write is None:
        _notice(client, channel=channel, user=user, thread_ts=_thread_of(message), key="unknown")
        return "unknown"
    staff = deps.identity.staff_for(user, client=client) if write.slack_user == user else None
    if staff is None or staff.id != write.staff_id:
        _notice(client, channel=channel, user=user, thread_ts=write.thread_ts, key="not_yours", lang=write.lang,
                owner=write.slack_user)
        return "not_yours"
    return write, staff


def _claim(write: PendingWrite, *, deps: SlackDeps, client: WebClient, channel: str, user: str,
           to_state: WriteState) -> bool:
    """pending -> ``to_state`` by compare-and-set; the loser of a double click is told it was handled."""
    if deps.store.move_write(write.id, from_state="pending", to_state=to_state):
        return True
    _notice(client, channel=channel, user=user, thread_ts=write.thread_ts, key="handled", lang=write.lang)
    return False


def _execute(write: PendingWrite, *, staff: StaffUser, deps: SlackDeps) -> tuple[str, str, ToolResult | None]:
    spec = TOOLS.get(write.tool)
    if spec is None or spec.kind != "write":
        return "failed", f"{write.tool} is not a write tool", None
    try:
        result = spec({**write.args, "dry_run": False}, ctx=deps.context_for(staff))
    except ToolError as err:
        return "failed", str(err), None
    except Exception:  # noqa: BLE001 - the clicker gets a clear "not done"; the log keeps the traceback
        logger.exception("confirmed write %s (%s) failed", write.id, write.tool)
        return "failed", "an internal error stopped the write; nothing was changed", None
    return "done", result.summary_for(write.lang), result


def _offer_undo(write: PendingWrite, result: ToolResult | None, *, deps: SlackDeps) -> list[dict]:
    """Store the reversal of a done assignment as a pending write and return its Undo button."""
    reversal = getattr(result, "undo", None)
    if write.tool != "assign_customer" or not reversal or reversal.get("undo_of") is None:
        return []
    try:
        undo = deps.store.add_write(tool=write.tool, args=reversal, staff_id=write.staff_id,
                                    slack_user=write.slack_user, channel=write.channel, thread_ts=write.thread_ts,
                                    lang=write.lang)
    except Exception:  # noqa: BLE001 - the write is done; a missing Undo button must not hide its outcome
        logger.exception("could not store the undo of write %s", write.id)
        return []
    return [context(result.undo_summary(write.lang)), *undo_blocks(undo, lang=write.lang)]


def _show_outcome(client: WebClient, write: PendingWrite, message: dict | None, outcome: str,
                  extra: list[dict] = ()) -> None:
    """Swap the buttons for the outcome in the answer; if that message is out of reach, say it in the thread."""
    if message and message.get("ts") and message.get("blocks"):
        try:
            client.chat_update(channel=write.channel, ts=message["ts"], text=message.get("text") or outcome,
                               blocks=replace_write_blocks(message["blocks"], write.id, outcome, extra=extra))
            return
        except SlackApiError as exc:
            logger.warning("could not update the proposal message: %s", exc.response.get("error"))
    client.chat_postMessage(channel=write.channel, thread_ts=write.thread_ts, text=outcome,
                            blocks=[context(outcome), *extra] if extra else None)


def _notice(client: WebClient, *, channel: str, user: str, thread_ts: str | None, key: str, lang: str = "en",
            **values) -> None:
    try:
        client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts,
                                  text=_NOTICE[key][lang].format(**values))
    except SlackApiError as exc:
        logger.warning("could not post a notice to %s: %s", user, exc.response.get("error"))


def _thread_of(message: dict | None) -> str | None:
    if not message:
        return None
    return message.get("thread_ts") or message.get("ts")
