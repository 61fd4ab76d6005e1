"""Root of the `crm` command.

Heavy libraries (pandas, torch, chromadb) are imported inside commands, not here,
so `crm --help` and quick commands start fast.
"""

from __future__ import annotations

import typer

from integrations.cli import (
    analytics_commands,
    ask_command,
    db_commands,
    demo_command,
    import_commands,
    index_commands,
    serve_command,
    slack_command,
    tool_command,
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
               ask_command, serve_command, users_command, slack_command):
    module.register(app)


def main() -> None:
    run_cli(app)
