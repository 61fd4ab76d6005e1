"""The "working on it" indicator, and delivering the answer where it was promised.

In a direct message the app first tries Slack's assistant status
(``assistant.threads.setStatus``, shown as "is thinking…" under the thread; Slack clears
it when the app replies). Where that is not available (a channel thread, an app without
the Agents feature) it posts a "Thinking…" message in the thread and later turns that
very message into the answer with ``chat.update``, so the thread never holds a stale
placeholder.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from integrations.slack.blocks import text, thinking_blocks

logger = logging.getLogger(__name__)


class AssistantStatusSupport:
    """Remembers that this workspace refused ``assistant.threads.setStatus``, so later DMs skip the attempt."""

    def __init__(self) -> None:
        self.available = True


class Status:
    def __init__(self, client: WebClient, *, channel: str, thread_ts: str, lang: str = "en",
                 support: AssistantStatusSupport | None = None) -> None:
        self.client = client
        self.channel = channel
        self.thread_ts = thread_ts
        self.lang = lang
        self.placeholder_ts: str | None = None
        self.support = support or AssistantStatusSupport()

    def start(self, *, direct: bool) -> None:
        if direct and self.support.available and self._set_assistant_status():
            return
        try:
            posted = self.client.chat_postMessage(channel=self.channel, thread_ts=self.thread_ts,
                                                  text=text("thinking", self.lang), blocks=thinking_blocks(self.lang))
            self.placeholder_ts = posted.get("ts")
        except SlackApiError as exc:
            # No indicator is better than no answer; finish() posts a fresh message.
            logger.warning("could not post the thinking message: %s", exc.response.get("error"))

    def finish(self, *, fallback: str, blocks: list[dict]) -> str | None:
        """Show the answer: replace the placeholder, or post in the thread. Returns the message ts."""
        if self.placeholder_ts:
            try:
                self.client.chat_update(channel=self.channel, ts=self.placeholder_ts, text=fallback, blocks=blocks)
                return self.placeholder_ts
            except SlackApiError as exc:
                logger.warning("chat.update of the placeholder failed (%s); posting instead", exc.response.get("error"))
        posted = self.client.chat_postMessage(channel=self.channel, thread_ts=self.thread_ts, text=fallback,
                                              blocks=blocks)
        return posted.get("ts")

    def _set_assistant_status(self) -> bool:
        try:
            self.client.assistant_threads_setStatus(channel_id=self.channel, thread_ts=self.thread_ts,
                                                    status="is thinking…" if self.lang == "en" else "正在思考…")
            return True
        except SlackApiError as exc:
            # Without the Agents feature (scope assistant:write) every DM would fail the same way.
            logger.info("assistant.threads.setStatus unavailable (%s); using a Thinking… message",
                        exc.response.get("error"))
            self.support.available = False
            return False
