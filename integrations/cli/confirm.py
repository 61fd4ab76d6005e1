"""Confirmed writes in the terminal: show what a write will do, then do it only when told to.

`crm ask`, `crm chat`, `crm tool` and `crm undo` run writes through here. The turn (or the
tool call) runs with ``ToolContext.confirm_writes``, so write tools only preview (dry run).
Then, per proposed write:

- ``--yes``: it runs at once;
- a terminal on stdin: the preview is printed and "Do it? [y/N]" asked (anything but y/yes is no);
- no terminal and no ``--yes`` (scripts, pipes, cron): nothing is written, a hint says how to
  confirm, and the command exits with ``EXIT_NEEDS_CONFIRMATION`` (3) so a script can tell;
- ``--batch`` never prompts: without ``--yes`` its writes stay previews (exit 0; each JSON line
  says so).

A confirmed write runs as the same user with ``dry_run`` off, through the registry; its own
transaction writes the change and the audit row together. An executed assignment prints the
command that undoes it (``crm undo ID``, ID being its pool history id).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Literal

import typer
from pydantic import BaseModel, Field

from integrations.cli.output import console, err_console

if TYPE_CHECKING:
    from rich.console import Console

    from assistant import Reply
    from tools import ToolContext, ToolResult

EXIT_NEEDS_CONFIRMATION = 3

WriteStatus = Literal["proposed", "done", "failed", "declined", "needs_confirmation"]


class ProposedWrite(BaseModel):
    """One write a reply proposed, and what became of it (the `writes` list of `crm ask --json`)."""

    tool: str
    arguments: dict[str, Any]
    preview: str = Field(description="The write's own dry-run summary: what it will change")
    status: WriteStatus = "proposed"
    ran: bool = Field(default=False, description="True once the write was executed")
    outcome: str | None = Field(default=None, description="The executed write's summary, or why it failed")
    undo: str | None = Field(default=None, description="The command that undoes an executed assignment")
    result: dict[str, Any] | None = Field(default=None, description="The executed write's result as JSON")


def stdin_is_tty() -> bool:
    """Whether a person can answer a prompt (tests replace this)."""
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):  # closed or replaced stdin
        return False


def proposals_for(reply: Reply, *, ctx: ToolContext) -> list[ProposedWrite]:
    """A proposal for each write call of the turn that still previews cleanly (a fresh dry run, as the user)."""
    from assistant.proposals import previewed_writes

    return [ProposedWrite(tool=w.tool, arguments=w.arguments, preview=w.preview.summary_for(reply.language))
            for w in previewed_writes(reply, ctx=ctx)]


NO_TERMINAL = "no terminal to confirm on"


def settle(writes: list[ProposedWrite], *, ctx: ToolContext, yes: bool, may_prompt: bool, lang: str = "en",
           quiet: bool = False, why_not: str = NO_TERMINAL, show_preview: bool = True) -> list[ProposedWrite]:
    """Run, decline or hold each proposal as the flags and the terminal allow; prints as it goes.

    ``quiet`` (JSON output) sends every human line to stderr so stdout stays one JSON document;
    ``show_preview=False`` when the caller already printed the preview in full.
    """
    out: Console = err_console if quiet else console
    for write in writes:
        if show_preview:
            out.print(f"[bold yellow]Proposed change:[/] {write.preview}", highlight=False)
        if yes or (may_prompt and ask_yes_no(err=quiet)):
            run(write, ctx=ctx, lang=lang, out=out)
        elif may_prompt:
            write.status = "declined"
            out.print("Not done; nothing was written.")
        else:
            write.status = "needs_confirmation"
            # "error:" like every other line that explains a non-zero exit (3 here), except under --batch (exit 0).
            label = "[bold red]error:[/] not done" if why_not == NO_TERMINAL else "[yellow]Not done[/]"
            err_console.print(f"{label}: {why_not}, so nothing was written. Run again with --yes to do it.",
                              highlight=False)
    return writes


def ask_yes_no(*, err: bool = False) -> bool:
    try:
        return typer.confirm("Do it?", default=False, err=err)
    except (typer.Abort, EOFError):  # Ctrl-D / Ctrl-C at the prompt means no
        return False


def run(write: ProposedWrite, *, ctx: ToolContext, lang: str = "en", out: Console = console) -> ProposedWrite:
    from tools import ToolError, get_tool

    live = ctx.model_copy(update={"confirm_writes": False})
    try:
        result = get_tool(write.tool)({**write.arguments, "dry_run": False}, ctx=live)
    except ToolError as exc:
        write.status, write.outcome = "failed", str(exc)
        err_console.print(f"[bold red]Not done:[/] {exc}", highlight=False)
        return write
    write.status, write.ran, write.outcome = "done", True, result.summary_for(lang)
    write.result = result.to_json()
    write.undo = undo_command(result, arguments=write.arguments)
    out.print(f"[bold green]Done:[/] {write.outcome}", highlight=False)
    if write.undo:
        out.print(f"[dim]Undo with:[/] {write.undo}", highlight=False)
    return write


def undo_command(result: ToolResult, *, arguments: dict[str, Any]) -> str | None:
    """`crm undo ID` for an executed assignment that is not itself an undo (undoing that would be a redo)."""
    history_id = getattr(result, "pool_history_id", None)
    if history_id is None or arguments.get("undo_of") is not None:
        return None
    return f"crm undo {history_id}"


def exit_code(writes: list[ProposedWrite]) -> int:
    """0 when every proposal was settled by the user, 1 when one failed, 3 when one awaits confirmation."""
    if any(w.status == "failed" for w in writes):
        return 1
    if any(w.status == "needs_confirmation" for w in writes):
        return EXIT_NEEDS_CONFIRMATION
    return 0
