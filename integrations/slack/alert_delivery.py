"""Send alert messages to Slack through the delivery ledger, so nothing goes out twice.

``SlackDelivery.send`` claims the keys in the ledger (``tools.alerts_ledger``), opens the DM
(``conversations.open``) or uses the channel, records where the message is going, posts it with
the batch id in the message metadata, then marks the batch sent. ``recover`` handles batches a
crashed sender left pending: it asks Slack (``conversations.history`` with metadata) whether the
message arrived and only re-sends when Slack says it did not. If Slack cannot say (e.g. the app
lacks ``channels:history`` / ``im:history``), the batch is marked ``unknown`` and dropped: at most
once beats twice.

Staff map to Slack users by ``staff_user.slack_user_id`` (the stored mapping), else by
``users.lookupByEmail`` (scope ``users:read.email``), cached for the life of the sender.

Scopes: chat:write, im:write (conversations.open), users:read.email, channels:history and
im:history (recovery), files:write (report charts).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine

from tools import alerts_ledger as ledger

logger = logging.getLogger(__name__)

EVENT_TYPE = "crm_alert_delivery"
HISTORY_PAGES = 5
Render = Callable[[list[str]], tuple[str, list[dict]]]


@dataclass
class Outgoing:
    """One message to send: to a staff user's DM (``slack_user``) or to ``channel``."""

    recipient: str  # ledger recipient: user:<staff id> or channel:<channel>
    keys: list[str]
    render: Render  # claimed keys -> (fallback text, blocks)
    channel: str | None = None
    slack_user: str | None = None
    after_post: Callable[[str, str], None] | None = None  # (channel, ts) -> e.g. upload charts into the thread


@dataclass
class DeliveryStats:
    messages: int = 0
    items: int = 0
    failed: int = 0
    recovered: int = 0
    unknown: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"messages": self.messages, "items": self.items, "failed": self.failed,
                "recovered": self.recovered, "unknown": self.unknown, "errors": self.errors}


class _CannotTell(Exception):
    pass


class SlackDelivery:
    def __init__(self, client: WebClient, engine: Engine, *, clock: Callable[[], datetime],
                 stale_after: timedelta = timedelta(minutes=10)) -> None:
        self.client = client
        self.engine = engine
        self.clock = clock
        self.stale_after = stale_after
        self.stats = DeliveryStats()
        self._users: dict[str, str | None] = {}

    # -- who ----------------------------------------------------------------------------------

    def slack_user_for(self, *, slack_user_id: str | None, email: str | None) -> str | None:
        """The staff member's Slack user id: the stored mapping, else a lookup by email; None when unknown."""
        if slack_user_id:
            return slack_user_id
        if not email:
            return None
        key = email.strip().lower()
        if key not in self._users:
            try:
                user = self.client.users_lookupByEmail(email=key).get("user") or {}
                self._users[key] = None if user.get("deleted") or user.get("is_bot") else user.get("id")
            except SlackApiError as exc:
                # users_not_found: not in the workspace. Anything else (missing scope) is worth a log line.
                if exc.response.get("error") != "users_not_found":
                    logger.warning("users.lookupByEmail failed: %s", exc.response.get("error"))
                self._users[key] = None
        return self._users[key]

    # -- send ---------------------------------------------------------------------------------

    def send(self, out: Outgoing) -> bool:
        """Deliver the keys ``out.recipient`` has not had yet, as one message. False when nothing went out."""
        claim = ledger.claim(self.engine, recipient=out.recipient, keys=out.keys, now=self.clock(),
                             slack_channel=out.channel)
        if claim is None:
            return False
        return self._deliver(claim, out)

    def _deliver(self, claim: ledger.Claim, out: Outgoing) -> bool:
        try:
            channel = out.channel or self._open_dm(out.slack_user)
        except SlackApiError as exc:
            return self._failed(claim, exc.response.get("error") or "conversations.open failed")
        ledger.set_channel(self.engine, batch_id=claim.batch_id, channel=channel)
        text, blocks = out.render(claim.keys)
        try:
            response = self.client.chat_postMessage(
                channel=channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False,
                metadata={"event_type": EVENT_TYPE, "event_payload": {"batch": claim.batch_id}},
            )
        except SlackApiError as exc:
            return self._failed(claim, exc.response.get("error") or "chat.postMessage failed")
        # Anything else (a timeout, a crash) leaves the batch pending: recover() asks Slack later.
        posted_channel, ts = response.get("channel") or channel, response.get("ts")
        ledger.mark_sent(self.engine, batch_id=claim.batch_id, channel=posted_channel, ts=ts, now=self.clock())
        self.stats.messages += 1
        self.stats.items += len(claim.keys)
        if out.after_post is not None:
            try:
                out.after_post(posted_channel, ts)
            except SlackApiError as exc:  # the message is out; a missing chart must not resend it
                logger.warning("after-post step failed: %s", exc.response.get("error"))
        return True

    def _failed(self, claim: ledger.Claim, error: str) -> bool:
        logger.warning("delivery to %s failed: %s", claim.recipient, error)
        ledger.mark_failed(self.engine, batch_id=claim.batch_id, error=error)
        self.stats.failed += 1
        self.stats.errors.append(f"{claim.recipient}: {error}")
        return False

    def _open_dm(self, slack_user: str | None) -> str:
        if not slack_user:
            raise SlackApiError("no Slack user", {"ok": False, "error": "no_slack_user"})
        return self.client.conversations_open(users=slack_user)["channel"]["id"]

    # -- recover ------------------------------------------------------------------------------

    def recover(self, rebuild: Callable[[ledger.Claim], Outgoing | None]) -> int:
        """Settle batches left pending by a crashed sender; returns how many were settled."""
        settled = 0
        now = self.clock()
        for stale in ledger.stale_claims(self.engine, before=now - self.stale_after):
            if not ledger.retake(self.engine, stale, now=now):
                continue  # another process is on it
            settled += 1
            try:
                found = self._find(stale) if stale.slack_channel else None
            except _CannotTell as exc:
                logger.warning("cannot tell whether batch %s reached Slack (%s); not re-sending", stale.batch_id, exc)
                ledger.mark_unknown(self.engine, batch_id=stale.batch_id, error=f"unverifiable: {exc}")
                self.stats.unknown += 1
                continue
            if found is not None:
                ledger.mark_sent(self.engine, batch_id=stale.batch_id, channel=found[0], ts=found[1], now=now)
                self.stats.recovered += 1
                continue
            out = rebuild(stale)
            if out is None:
                ledger.mark_unknown(self.engine, batch_id=stale.batch_id, error="cannot rebuild the message")
                self.stats.unknown += 1
                continue
            if stale.slack_channel and not out.channel:
                out.channel = stale.slack_channel
            if self._deliver(stale, out):
                self.stats.recovered += 1
        return settled

    def _find(self, stale: ledger.Claim) -> tuple[str, str] | None:
        """(channel, ts) of the message carrying this batch id, or None when Slack has no such message."""
        oldest = stale.claimed_at.replace(tzinfo=UTC).timestamp() - 300
        cursor = None
        for _ in range(HISTORY_PAGES):
            try:
                page = self.client.conversations_history(channel=stale.slack_channel, oldest=f"{oldest:.6f}",
                                                         include_all_metadata=True, limit=200, cursor=cursor)
            except SlackApiError as exc:
                raise _CannotTell(exc.response.get("error") or "conversations.history failed") from None
            for message in page.get("messages") or []:
                payload = (message.get("metadata") or {}).get("event_payload") or {}
                if payload.get("batch") == stale.batch_id:
                    return stale.slack_channel, message.get("ts")
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not page.get("has_more") or not cursor:
                return None
        raise _CannotTell("history too long to search")
