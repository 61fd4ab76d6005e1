"""Root of the `crm` command.

Heavy libraries (pandas, torch, chromadb) are imported inside commands, not here,
so `crm --help` and quick commands start fast.
"""

from __future__ import annotations

import typer

from integrations.cli import (
    alerts_command,
    analytics_commands,
    ask_command,
    audit_command,
    db_commands,
    demo_command,
    gdpr_command,
    import_commands,
    index_commands,
    serve_command,
    slack_command,
    tool_command,
    undo_command,
    users_command,
)
from integrations.cli.errors import run_cli

app = typer.Typer(
    name="crm",
    help="Chat-driven CRM assistant: data, analytics tools, search and chat from the terminal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (db_commands, demo_command, import_commands, tool_command, analytics_commands, index_commands,
               ask_command, serve_command, users_command, slack_command, audit_command):
    module.register(app)
undo_command.register(app)  # helper "writes" (issue 7)
gdpr_command.register(app)  # helper "gdpr" (issue 7)
alerts_command.register(app)  # helper "alerts" (issue 7)


def main() -> None:
    run_cli(app)
