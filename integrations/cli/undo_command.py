"""`crm undo [ID | --last]`: reverse an ownership change (claim, assign or release).

ID is the change's pool history id: `crm ask`, `crm chat` and `crm tool assign_customer`
print "Undo with: crm undo ID" after each executed assignment. `--last` takes the caller's
own latest change (needs `--as EMAIL`). The undo is an `assign_customer` call with
`undo_of=ID`, so it runs as the caller with their current role and scope, is previewed and
confirmed like every write (y/N prompt, `--yes`, exit 3 without a terminal), writes its own
pool history and audit rows, and is refused with a clear message when the customer's owner
changed since the change, or the change was already undone.
"""

from __future__ import annotations

import typer

from integrations.cli.output import fail, print_json


def register(app: typer.Typer) -> None:
    app.command("undo")(undo)


def undo(
    history_id: int | None = typer.Argument(None, min=1, help="The change's pool history id ('crm undo ID' as printed)."),
    last: bool = typer.Option(False, "--last", help="Undo your own latest ownership change (with --as)."),
    as_user: str | None = typer.Option(None, "--as", help="Undo as this staff user (email). Default: the system admin."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do it without asking."),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON."),
    now: str | None = typer.Option(None, "--now", help="Pretend now is this date (YYYY-MM-DD), as for the change."),
) -> None:
    """Undo an ownership change (claim, assign or release): previewed, confirmed, audited."""
    from integrations.cli import confirm
    from integrations.cli.tool_command import _context, parse_now
    from tools import ToolError, get_tool
    from tools.assign_undo import undo_arguments_for

    if (history_id is None) == (not last):
        fail("give the pool history id of the change (crm undo ID) or --last, not both")
    ctx = _context(as_user, parse_now(now))
    try:
        arguments = undo_arguments_for(ctx, history_id=history_id, last=last)
        preview = get_tool("assign_customer")({**arguments, "dry_run": True}, ctx=ctx)
    except ToolError as exc:
        if as_json:
            print_json(exc.to_dict())
            raise typer.Exit(1) from None
        fail(f"cannot undo: {exc}")
    write = confirm.ProposedWrite(tool="assign_customer", arguments=arguments, preview=preview.summary)
    confirm.settle([write], ctx=ctx, yes=yes, may_prompt=confirm.stdin_is_tty(), quiet=as_json)
    if as_json:
        print_json(write.model_dump(mode="json"))
    code = confirm.exit_code([write])
    if code:
        raise typer.Exit(code)
