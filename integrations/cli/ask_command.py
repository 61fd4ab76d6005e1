"""`crm ask`, `crm chat` and `crm eval`: the assistant from the terminal.

Each command builds the caller's ToolContext (``--as EMAIL``, else the demo admin,
else the system context) and calls ``assistant.respond``; nothing here knows about
models or tools. Turns run with ``confirm_writes``: a write the assistant proposes is
previewed and runs only after "Do it? [y/N]" or ``--yes`` (see ``integrations.cli.confirm``
for the rules, including exit code 3 when a write waits for confirmation without a terminal). ``crm eval`` only launches ``python -m evals`` in a subprocess,
because integrations may not import evals.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from integrations.cli import confirm
from integrations.cli.output import console, err_console, fail, print_json

if TYPE_CHECKING:
    from assistant import Reply
    from tools import ToolContext

DEMO_ADMIN = "admin@demo.crm"
MAX_TABLE_ROWS = 20


def register(app: typer.Typer) -> None:
    app.command("ask")(ask)
    app.command("chat")(chat)
    app.command("eval", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(run_eval)


def ask(
    question: str | None = typer.Argument(None, help="The question, in English or Chinese."),
    as_user: str | None = typer.Option(None, "--as", help="Ask as this staff user (email). Default: the demo admin."),
    thread: str | None = typer.Option(None, "--thread", help="Continue this conversation (any id you choose)."),
    as_json: bool = typer.Option(False, "--json", help="Print the reply as JSON."),
    now: str | None = typer.Option(None, "--now", help="Pretend today is this date (YYYY-MM-DD), for repeatable runs."),
    batch: Path | None = typer.Option(None, "--batch", help="Answer every line of FILE (one question per line)."),
    model: str | None = typer.Option(None, "--model", help="Override CRM_MODEL: 'offline' or 'openai:<model>'."),
    no_charts: bool = typer.Option(False, "--no-charts", help="Do not draw chart PNGs."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Run proposed writes without asking (else: a y/N prompt "
                             "on a terminal; without one nothing is written and the exit code is 3)."),
) -> None:
    """Ask the assistant one question (or a file of them with --batch).

    Writes (log an interaction, claim or assign a customer) are previewed first and run only after you
    confirm: "Do it? [y/N]" on a terminal, or --yes. --batch never prompts (writes need --yes there).
    """
    if batch is None and not (question or "").strip():
        fail('give a question, e.g. crm ask "which VIPs went quiet this month", or --batch FILE')
    if batch is not None and question:
        fail("give either a question or --batch FILE, not both")
    _select_model(model)
    context = _confirming(_context(as_user, now))
    if batch is not None:
        _ask_batch(batch, context=context, thread=thread, as_json=as_json, charts=not no_charts, yes=yes)
        return
    reply = _respond(question or "", context=context, thread=thread, charts=not no_charts)
    if reply.error is not None and reply.error.code == "too_long":
        fail(reply.error.message)
    writes = confirm.proposals_for(reply, ctx=context)
    if as_json:
        # Decide first (prompt and notes on stderr) so the JSON can say whether each write ran.
        confirm.settle(writes, ctx=context, yes=yes, may_prompt=confirm.stdin_is_tty(), lang=reply.language,
                       quiet=True)
        print_json({**reply.to_json(), "writes": [w.model_dump(mode="json") for w in writes]})
    else:
        show(reply)
        confirm.settle(writes, ctx=context, yes=yes, may_prompt=confirm.stdin_is_tty(), lang=reply.language)
    if reply.error is not None:
        raise typer.Exit(1)
    code = confirm.exit_code(writes)
    if code:
        raise typer.Exit(code)


def chat(
    as_user: str | None = typer.Option(None, "--as", help="Chat as this staff user (email). Default: the demo admin."),
    thread: str | None = typer.Option(None, "--thread", help="Resume this conversation."),
    now: str | None = typer.Option(None, "--now", help="Pretend today is this date (YYYY-MM-DD)."),
    model: str | None = typer.Option(None, "--model", help="Override CRM_MODEL."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Run proposed writes without asking."),
) -> None:
    """Talk with the assistant: follow-ups remember the conversation. /new starts over, /quit leaves.

    A proposed write is previewed and runs only after "Do it? [y/N]" (or with --yes).
    """
    from assistant import get_settings, new_thread_id

    _select_model(model)
    context = _confirming(_context(as_user, now))
    thread = thread or new_thread_id()
    _enable_history()
    streams = not _settings_or_fail(get_settings).is_offline
    console.print(f"[dim]CRM chat as {context.user_name} ({context.role.value}). "
                  f"/new starts a new conversation, /quit leaves. Thread {thread}[/]")
    while True:
        try:
            line = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            break
        if not line:
            continue
        if line in ("/quit", "/exit", "/q"):
            break
        if line == "/new":
            thread = new_thread_id()
            console.print(f"[dim]new conversation: {thread}[/]")
            continue
        printer = _TokenPrinter()
        reply = _respond(line, context=context, thread=thread, charts=True, on_token=printer if streams else None)
        if printer.parts:
            console.print()
        # A grounding repair or warning changes the text after streaming; then the final version is shown too.
        already_shown = bool(printer.parts) and printer.text.strip() == reply.answer.strip()
        show(reply, skip_answer=already_shown, prefix="crm> ")
        confirm.settle(confirm.proposals_for(reply, ctx=context), ctx=context, yes=yes,
                       may_prompt=confirm.stdin_is_tty(), lang=reply.language)


class _TokenPrinter:
    """Prints streamed answer text as it arrives and keeps it, to compare with the final answer."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def __call__(self, text: str) -> None:
        if not self.parts:
            console.print("[bold]crm>[/] ", end="")
        self.parts.append(text)
        console.print(text, end="", markup=False, highlight=False)


def run_eval(ctx: typer.Context) -> None:
    """Run the evaluation suite (python -m evals); all options are passed through, e.g. --model, --json."""
    result = subprocess.run([sys.executable, "-m", "evals", *ctx.args], check=False)
    raise typer.Exit(result.returncode)


# -- helpers ---------------------------------------------------------------------------------------

def show(reply: Reply, *, skip_answer: bool = False, prefix: str = "") -> None:
    """Print a reply for people: the answer, then its tables (first rows) and chart paths."""
    from rich.table import Table as RichTable

    if not skip_answer:
        target = err_console if reply.error else console
        target.print(f"{prefix}{reply.answer}", markup=False, highlight=False)
    for table in reply.tables:
        rich_table = RichTable(show_lines=False)
        for header, column in zip(table.headers(lang=reply.language), table.columns, strict=True):
            rich_table.add_column(header, justify="right" if column.kind in ("int", "float", "money", "pct") else "left")
        for row in table.formatted_rows(lang=reply.language)[:MAX_TABLE_ROWS]:
            rich_table.add_row(*row)
        hidden = (table.total_rows or len(table.rows)) - min(len(table.rows), MAX_TABLE_ROWS)
        if hidden > 0:
            rich_table.caption = f"… {hidden} more rows (--json shows all returned rows)"
        console.print(rich_table)
    for path in reply.charts:
        console.print(f"[dim]chart:[/] {path}")


def _respond(question: str, *, context: ToolContext, thread: str | None, charts: bool, on_token=None) -> Reply:
    from assistant import (
        MAX_QUESTION_CHARS,
        AssistantError,
        Reply,
        ReplyError,
        clean_question,
        detect_language,
        respond,
        too_long_message,
    )

    if len(clean_question(question)) > MAX_QUESTION_CHARS:
        # The same limit the web and Slack hold questions to: one pasted file is not a question, and
        # answering it would only cost seconds of routing for a reply nobody wants.
        lang = detect_language(question[:2000])
        message = too_long_message(lang, length=len(question))
        return Reply(answer=message, language=lang, model="none", latency_ms=0.0, thread_id=thread or "",
                     error=ReplyError(code="too_long", message=message))
    try:
        return respond(question, context=context, thread_id=thread, render_charts=charts, on_token=on_token)
    except AssistantError as exc:
        fail(str(exc))


def _ask_batch(path: Path, *, context: ToolContext, thread: str | None, as_json: bool, charts: bool,
               yes: bool) -> None:
    from rich.progress import Progress

    if not path.is_file():
        fail(f"no such file: {path}")
    questions = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    questions = [q for q in questions if q and not q.startswith("#")]
    if not questions:
        fail(f"{path} has no questions (one per line; lines starting with # are skipped)")
    # Progress goes to stderr so stdout stays one JSON object per line.
    with Progress(console=err_console, transient=True, disable=not err_console.is_terminal) as progress:
        task = progress.add_task("answering", total=len(questions))
        for q in questions:
            reply = _respond(q, context=context, thread=thread, charts=charts)
            writes = confirm.proposals_for(reply, ctx=context)
            if as_json:
                confirm.settle(writes, ctx=context, yes=yes, may_prompt=False, lang=reply.language, quiet=True,
                               why_not="--batch never prompts")
                line = {"question": q, **reply.to_json(), "writes": [w.model_dump(mode="json") for w in writes]}
                print(json.dumps(line, ensure_ascii=False, default=str), flush=True)
            else:
                console.print(f"[bold]Q:[/] {q}", highlight=False)
                show(reply)
                confirm.settle(writes, ctx=context, yes=yes, may_prompt=False, lang=reply.language,
                               why_not="--batch never prompts")
                console.print()
            progress.advance(task)


def _context(email: str | None, now_text: str | None) -> ToolContext:
    from sqlalchemy import inspect

    from storage.db import get_engine
    from tools import ToolContext

    now = _parse_now(now_text) if now_text else None
    if not inspect(get_engine()).has_table("staff_user"):
        fail("there is no CRM database yet; run `crm demo` (sample data) or `crm db upgrade` and import data")
    try:
        return ToolContext.for_email(email or DEMO_ADMIN, now=now, channel="cli")
    except LookupError as exc:
        if email:
            fail(str(exc))
    return ToolContext.system(now=now)


def _confirming(context: ToolContext) -> ToolContext:
    """Write tools only preview during the turn; ``integrations.cli.confirm`` runs them once confirmed."""
    return context.model_copy(update={"confirm_writes": True})


def _parse_now(text: str) -> datetime:
    try:
        if len(text.strip()) <= 10:
            # A bare date means "as of the end of that day", so the whole day's data counts.
            return datetime.combine(date.fromisoformat(text.strip()), time(23, 59, 59))
        return datetime.fromisoformat(text.strip()).replace(tzinfo=None)
    except ValueError:
        fail(f"--now must be a date like 2025-06-15 (or an ISO date-time), got {text!r}")


def _select_model(model: str | None) -> None:
    import os

    from assistant import get_settings

    _configure_logging()
    if model:
        os.environ["CRM_MODEL"] = model
        get_settings.cache_clear()
    _settings_or_fail(get_settings)


def _configure_logging() -> None:
    """Assistant logs (LLM token counts and cost per call, grounding repairs, tool bugs) go to CRM_HOME/logs."""
    import logging

    from storage.settings import get_settings

    logger = logging.getLogger("assistant")
    if any(getattr(h, "_crm_cli", False) for h in logger.handlers):
        return
    log_dir = get_settings().home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_dir / "assistant.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._crm_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _settings_or_fail(getter):
    from assistant import ConfigError

    try:
        return getter()
    except ConfigError as exc:
        fail(str(exc))


def _enable_history() -> None:
    try:
        import readline
    except ImportError:  # pragma: no cover - Windows without pyreadline
        return
    from storage.settings import get_settings

    history = get_settings().home / "chat_history"
    try:
        readline.read_history_file(history)
    except OSError:
        pass
    readline.set_history_length(1000)
    import atexit

    atexit.register(_save_history, readline, history)


def _save_history(readline, history: Path) -> None:
    try:
        readline.write_history_file(history)
    except OSError:
        pass
