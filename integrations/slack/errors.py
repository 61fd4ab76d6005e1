"""Errors of the Slack edge.

Exception tree::

    SlackError                 root; its message is safe to show to whoever runs the app
    └── SlackConfigError       missing or placeholder tokens, refused at start

Errors met while handling a Slack request never escape to Slack: the user gets a
polite message in the thread and the log keeps the traceback.
"""

from __future__ import annotations


class SlackError(Exception):
    """Root of the Slack edge's errors."""


class SlackConfigError(SlackError):
    """The Slack app cannot start with these settings."""
