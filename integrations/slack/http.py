"""HTTP mode: Slack's Events API, slash command and interactivity at ``POST /slack/events``.

``mount_slack`` is called by the web server's ``create_app``. It uses Bolt's FastAPI
(Starlette) adapter to translate requests, but runs ``App.dispatch`` in the thread pool:
the adapter's own ``handle`` calls the synchronous dispatch on the event loop, which
would stall every other request of the web server (streamed answers included) while
Bolt verifies, de-duplicates and waits for the ack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from integrations.slack.settings import SlackSettings, get_settings

if TYPE_CHECKING:
    from fastapi import FastAPI

EVENTS_PATH = "/slack/events"


def mount_slack(app: FastAPI, *, settings: SlackSettings | None = None, **factory_kwargs: Any) -> bool:
    """Mount ``/slack/events`` when SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are set; False (nothing mounted) if not.

    ``factory_kwargs`` go to ``create_slack_app`` (``database_url``, ``answer``, ``clock``, ``state_path``).
    Placeholder or malformed tokens raise ``SlackConfigError``, so the server refuses to start with them.
    """
    settings = settings or get_settings()
    if not settings.http_ready:
        return False
    from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import PlainTextResponse

    from integrations.slack.app import create_slack_app

    bolt_app = create_slack_app(settings=settings, **factory_kwargs)

    async def slack_events(request):  # a plain Starlette route: Slack's body is Bolt's to parse, not FastAPI's
        body = await request.body()
        try:
            bolt_request = to_bolt_request(request, body)
        except Exception:  # noqa: BLE001 - Bolt parses the body before checking the signature: junk is a 400
            return PlainTextResponse("invalid request body", status_code=400)
        response = await run_in_threadpool(bolt_app.dispatch, bolt_request)
        return to_starlette_response(response)

    app.router.add_route(EVENTS_PATH, slack_events, methods=["POST"], name="slack_events", include_in_schema=False)
    app.state.slack_app = bolt_app
    return True
