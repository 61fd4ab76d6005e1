"""Who is asking: a Slack user mapped to an active staff user.

First by ``staff_user.slack_user_id``; failing that, by the email Slack holds for the
user (``users.info``, needs the ``users:read.email`` scope). Anyone else is unmapped and
gets a polite refusal with no data. Emails from Slack are cached briefly so a busy
thread does not call ``users.info`` on every message; staff rows are always read fresh,
so deactivating someone takes effect at once.
"""

from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import func
from sqlmodel import Session, select

from storage.db import engine_for, get_engine
from storage.models import StaffUser

logger = logging.getLogger(__name__)

EMAIL_CACHE_SECONDS = 600


class SlackIdentity:
    def __init__(self, *, database_url: str | None = None) -> None:
        self.database_url = database_url
        self._emails: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def staff_for(self, slack_user_id: str, *, client: WebClient) -> StaffUser | None:
        """The active staff user behind a Slack user id, or None when there is none."""
        if not slack_user_id:
            return None
        with Session(self._engine()) as session:
            staff = session.exec(select(StaffUser).where(StaffUser.slack_user_id == slack_user_id)).first()
            if staff is None:
                email = self._email_of(slack_user_id, client=client)
                if email:
                    staff = session.exec(select(StaffUser).where(func.lower(StaffUser.email) == email)).first()
            if staff is None or not staff.is_active:
                return None
            session.expunge(staff)
            return staff

    def _engine(self):
        return engine_for(self.database_url) if self.database_url else get_engine()

    def _email_of(self, slack_user_id: str, *, client: WebClient) -> str | None:
        now = time.monotonic()
        with self._lock:
            cached = self._emails.get(slack_user_id)
        if cached and now - cached[0] < EMAIL_CACHE_SECONDS:
            return cached[1]
        try:
            user = client.users_info(user=slack_user_id).get("user") or {}
        except SlackApiError as exc:
            # user_not_found, missing_scope…: the user simply stays unmapped; a broken token shows elsewhere.
            logger.warning("users.info for %s failed: %s", slack_user_id, exc.response.get("error"))
            return None
        email = None
        if not user.get("is_bot") and not user.get("deleted"):
            email = ((user.get("profile") or {}).get("email") or "").strip().lower() or None
        with self._lock:
            self._emails[slack_user_id] = (now, email)
        return email

    def names_for(self, slack_user_ids: list[str]) -> dict[str, str]:
        """Staff names for Slack user ids mentioned in a message, so "assign X to @Sam" reads as a name."""
        if not slack_user_ids:
            return {}
        with Session(self._engine()) as session:
            rows = session.exec(select(StaffUser.slack_user_id, StaffUser.name)
                                .where(StaffUser.slack_user_id.in_(slack_user_ids))).all()
        return {sid: name for sid, name in rows if sid}
