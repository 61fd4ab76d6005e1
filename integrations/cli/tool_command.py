"""`crm tool NAME --arg value … [--json] [--as EMAIL] [--now DATE] [--chart PATH]` and `crm refresh`.

`crm tool` is generic over the registry: `--key value` pairs become the tool's params
(`--period.start 2026-01-01` for nested fields; a repeated key makes a list; a value
starting with `[` or `{` is read as JSON). Tool errors print as one clean line.

Write tools (log_interaction, assign_customer) first run as a dry run and print what they
would change; they write only with `--yes` or a "y" at the "Do it? [y/N]" prompt. Without a
terminal and without `--yes` nothing is written and the exit code is 3. `--dry_run` only
previews. `--json` prints the executed result, or the preview when nothing ran.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, time
from pathlib import Path
from typing import Any

import typer

from integrations.cli.output import console, err_console, fail, print_json

_OWN_OPTIONS = {"--json", "--as", "--now", "--chart", "--lang", "--list", "--help", "-h", "--yes", "-y"}
_FLAGS = ("--json", "--list", "--help", "-h", "--yes", "-y")


def parse_tool_args(tokens: list[str]) -> dict[str, Any]:
    """['--customer', 'Chen Jing', '--period.start', '2026-01-01', '--share'] -> nested dict."""
    out: dict[str, Any] = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not token.startswith("--") or token == "--":
            raise typer.BadParameter(f"expected --name value, got {token!r}")
        key, eq, value = token[2:].partition("=")
        if not eq:
            if i + 1 < len(tokens) and not tokens[i + 1].startswith("--"):
                value = tokens[i + 1]
                i += 1
            else:
                value = "true"  # a bare flag
        _put(out, key.replace("-", "_").split("."), _value(value))
        i += 1
    return out


def _value(text: str) -> Any:
    if text[:1] in "[{":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    return text


def _put(target: dict, path: list[str], value: Any) -> None:
    for part in path[:-1]:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise typer.BadParameter(f"--{'.'.join(path)} conflicts with an earlier value")
    last = path[-1]
    if last in target:
        prev = target[last]
        target[last] = [*prev, value] if isinstance(prev, list) else [prev, value]
    else:
        target[last] = value


def parse_now(text: str | None) -> datetime | None:
    """A date means the end of that day (everything recorded that day is visible)."""
    if not text:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(datetime.strptime(text, "%Y-%m-%d").date(), time(23, 59, 59))
        return datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        fail(f"--now must be YYYY-MM-DD or an ISO datetime, got {text!r}")


def _split_own(tokens: list[str]) -> tuple[dict[str, str | bool], list[str]]:
    own: dict[str, str | bool] = {}
    rest: list[str] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        key = t.split("=", 1)[0]
        if key in _OWN_OPTIONS:
            if key in _FLAGS:
                own[key] = True
            elif "=" in t:
                own[key] = t.split("=", 1)[1]
            elif i + 1 < len(tokens):
                own[key] = tokens[i + 1]
                i += 1
            else:
                fail(f"{key} needs a value")
        else:
            rest.append(t)
        i += 1
    return own, rest


def _list_tools() -> None:
    from rich.table import Table

    from tools.registry import TOOLS

    table = Table(title="Registered tools")
    table.add_column("tool")
    table.add_column("kind")
    table.add_column("what it answers")
    for name, spec in TOOLS.items():
        try:
            first = (spec.description.splitlines() or ["(no docstring)"])[0]
        except Exception as exc:  # noqa: BLE001 - a tool still being written must not hide the others
            first = f"(unavailable: {type(exc).__name__})"
        table.add_row(name, spec.kind, first)
    console.print(table)


def _describe(name: str) -> None:
    from pydantic import BaseModel

    from tools.registry import get_tool

    spec = get_tool(name)
    console.print(f"[bold]{name}[/] ({spec.kind})\n", highlight=False)
    typer.echo(spec.description)
    console.print("\n[bold]Arguments[/] (--name value; nested as --period.start):")

    def walk(model: type[BaseModel], prefix: str) -> None:
        for field_name, info in model.model_fields.items():
            ann = info.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann, f"{prefix}{field_name}.")
                continue
            type_name = getattr(ann, "__name__", None) or str(ann).replace("typing.", "")
            default = "required" if info.is_required() else f"default {info.get_default(call_default_factory=True)!r}"
            typer.echo(f"  --{prefix}{field_name}  ({type_name}; {default})  {info.description or ''}")

    walk(spec.params_model, "")
    console.print("\nCommon options: --json, --as EMAIL, --now YYYY-MM-DD, --chart PATH, --lang en|zh")
    if spec.kind == "write":
        console.print("A write previews first and runs after 'Do it? [y/N]' or with --yes (exit 3 when it waits).")


def _context(as_email: str | None, now: datetime | None):
    from tools.context import ToolContext

    if not as_email:
        return ToolContext.system(now=now)
    try:
        return ToolContext.for_email(as_email, now=now)
    except LookupError as exc:
        fail(str(exc))


def _print_error(exc, as_json: bool) -> None:
    from tools.errors import Ambiguous

    if as_json:
        print_json(exc.to_dict())
        raise typer.Exit(1)
    err_console.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)  # user text is not markup
    if isinstance(exc, Ambiguous):
        for c in exc.candidates:
            err_console.print(f"  - {c.id}: {c.label}" + (f" ({c.detail})" if c.detail else ""), markup=False, highlight=False)
    raise typer.Exit(1)


def tool(ctx: typer.Context, name: str | None = typer.Argument(None, help="Tool name; `crm tool --list` lists them.")) -> None:
    """Run one registered tool with --name value arguments (see `crm tool NAME --help`)."""
    tokens = list(ctx.args)
    if name is not None and name.startswith("-"):
        # ignore_unknown_options lets "--list" land in NAME; put it back among the options.
        tokens, name = [name, *tokens], None
    own, rest = _split_own(tokens)
    if own.get("--list") or (name is None and not own.get("--help")):
        _list_tools()
        return
    if name is None:
        console.print(ctx.get_help())
        return
    from tools.errors import ToolError
    from tools.registry import get_tool

    as_json = bool(own.get("--json"))
    try:
        if own.get("--help") or own.get("-h"):
            _describe(name)
            return
        spec = get_tool(name)
        arguments = parse_tool_args(rest)
        tool_ctx = _context(own.get("--as"), parse_now(own.get("--now")))  # type: ignore[arg-type]
        if spec.kind == "write" and not _truthy(arguments.get("dry_run")):
            _confirmed_write(spec, arguments, ctx=tool_ctx, own=own)
            return
        result = spec(arguments, ctx=tool_ctx)
    except ToolError as exc:
        _print_error(exc, as_json)
        return
    except typer.BadParameter as exc:
        fail(str(exc))
    except ImportError as exc:  # a tool whose module is not written yet
        fail(f"tool {name!r} is not available yet ({exc})")
    if own.get("--chart"):
        _write_chart(result, Path(str(own["--chart"])))
    if as_json:
        print_json(result.to_json())
    else:
        # Plain echo, not rich: tables must not be re-wrapped to the terminal width.
        typer.echo(result.to_text(lang=str(own.get("--lang") or "en")))


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes", "y", "on")


def _confirmed_write(spec, arguments: dict[str, Any], *, ctx, own: dict[str, str | bool]) -> None:
    """Preview the write, then run it only once confirmed (see the module docstring for the rules)."""
    from integrations.cli import confirm

    as_json, lang = bool(own.get("--json")), str(own.get("--lang") or "en")
    preview = spec({**arguments, "dry_run": True}, ctx=ctx)
    if not as_json:
        typer.echo(preview.to_text(lang=lang))
    write = confirm.ProposedWrite(tool=spec.name, arguments={k: v for k, v in arguments.items() if k != "dry_run"},
                                  preview=preview.summary_for(lang))
    confirm.settle([write], ctx=ctx, yes=bool(own.get("--yes") or own.get("-y")), may_prompt=confirm.stdin_is_tty(),
                   lang=lang, quiet=as_json, show_preview=as_json)
    if as_json:
        print_json(write.result if write.ran else preview.to_json())
    code = confirm.exit_code([write])
    if code:
        raise typer.Exit(code)


def _write_chart(result, path: Path) -> None:
    import tempfile

    from tools.charts import render_chart

    if result.chart is None:
        err_console.print("[yellow]this result has no chart[/]")
        return
    with tempfile.TemporaryDirectory() as tmp:
        drawn = render_chart(result.chart, Path(tmp))
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(drawn, path)
    err_console.print(f"chart written to {path}", highlight=False)


def refresh(
    now: str | None = typer.Option(None, "--now", help="Compute as of this date (YYYY-MM-DD = end of that day)."),
    full: bool = typer.Option(False, "--full", help="Recompute everything even if only new orders arrived."),
    partial: bool = typer.Option(False, "--partial", help="Leave columns of missing analytics modules empty instead of failing."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Compute the per-customer feature snapshot (RFM, tier, segment, cluster, cadence, churn, CLV)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from storage.migrate import upgrade
    from storage.settings import get_settings
    from tools.errors import ToolError
    from tools.refresh import PHASES, refresh_features

    url = get_settings().url
    upgrade(url)
    when = parse_now(now)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[note]}"), TimeElapsedColumn(),
                  console=err_console, transient=as_json) as bar:
        task = bar.add_task("refresh", total=len(PHASES), note="")
        done: set[str] = set()

        def tell(phase: str, message: str) -> None:
            if phase not in done:
                done.add(phase)
                bar.advance(task)
            bar.update(task, description=f"refresh: {phase}", note=message)

        try:
            report = refresh_features(url=url, now=when, full=full, allow_partial=partial, progress=tell)
        except ToolError as exc:
            bar.stop()
            fail(str(exc))
        bar.update(task, completed=len(PHASES))
    if as_json:
        print_json(report.model_dump(mode="json"))
        return
    phases = ", ".join(f"{k} {v:.2f}s" if isinstance(v, float) else f"{k} {v}" for k, v in report.phases.items())
    console.print(
        f"snapshot {report.mode}: {report.customers:,} customers, {report.changed_customers:,} changed, "
        f"as of {report.as_of:%Y-%m-%d %H:%M}, in {report.seconds:.2f}s ({phases})",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command(
        "tool",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
    )(tool)
    app.command("refresh")(refresh)
