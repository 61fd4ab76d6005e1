"""The Slack app: mentions, DMs and ``/crm`` answered in threads by ``assistant.respond``.

Two ways in: HTTP (``mount_slack`` adds ``/slack/events`` to the web server) and Socket
Mode (``crm slack``). Importing this package loads neither Bolt nor the assistant.
"""

from __future__ import annotations

from integrations.slack.errors import SlackConfigError, SlackError
from integrations.slack.http import EVENTS_PATH, mount_slack
from integrations.slack.settings import SlackSettings, get_settings

__all__ = ["EVENTS_PATH", "SlackConfigError", "SlackError", "SlackSettings", "get_settings", "mount_slack"]
