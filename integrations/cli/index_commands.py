"""`crm index [--rebuild]` and `crm search "query" [--customer …] [--as EMAIL] [--json]`."""

from __future__ import annotations

import typer

from integrations.cli.output import console, err_console, fail, print_json


def index(
    rebuild: bool = typer.Option(False, "--rebuild", help="Drop the index and embed every interaction again."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar, only the summary."),
) -> None:
    """Bring the interaction search index up to date (only new or changed interactions are embedded)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from knowledge.encoders import prepare_encoder
    from knowledge.indexing import sync_index
    from knowledge.settings import get_settings
    from knowledge.store import StoreError, get_collection

    settings = get_settings()
    where = settings.chroma_url or str(settings.store_path)
    progress = Progress(
        TextColumn("[bold]{task.description}[/]"), BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), console=err_console, disable=quiet, transient=False,
    )
    task = None

    def report(done: int, total: int) -> None:
        nonlocal task
        if task is None:
            task = progress.add_task("embedding interactions", total=total)
        progress.update(task, completed=done, total=total)

    err_console.print(f"index: {where} ({settings.embedding})", highlight=False)
    if settings.embedding == "minilm-static-fit":
        from knowledge.encoder_corpus import corpus_key

        if corpus_key() == "builtin":
            err_console.print(
                "note: the datasets were not found (CRM_DATASETS), so the fitted encoder learns from built-in "
                "phrases only: about 5 points less recall@10 than MiniLM on your own text. Set CRM_DATASETS, or "
                "CRM_EMBEDDING=minilm-onnx-int8 for MiniLM's recall at ~200 docs/s.", highlight=False)
    # First use on a machine builds the encoder from the bundled MiniLM (minutes for the fitted static
    # model); a no-op afterwards. Its own bar, so the wait is not a frozen 0% on the embedding bar.
    building = Progress(TextColumn("[bold]building encoder[/] {task.description}"), BarColumn(),
                        MofNCompleteColumn(), TimeRemainingColumn(), console=err_console, disable=quiet)
    stages: dict = {}

    def build_report(stage: str, done: int, total: int) -> None:
        if stage not in stages:
            stages[stage] = building.add_task(stage, total=total)
        building.update(stages[stage], completed=done, total=total)

    tasks: dict = {}

    def index_report(done: int, total: int) -> None:
        # The in-process filtered index is rebuilt from Chroma after a bulk load: its own bar, not a silent wait.
        if "index" not in tasks:
            tasks["index"] = progress.add_task("filtered index, chunks", total=total)
        progress.update(tasks["index"], completed=done, total=total)

    try:
        if not rebuild:
            get_collection()  # an index made by another encoder build fails now, not after minutes of building
        with building:
            prepare_encoder(settings.embedding, progress=build_report)
        with progress:
            result = sync_index(rebuild=rebuild, progress=report, index_progress=index_report)
    except StoreError as exc:
        fail(str(exc))
    console.print(
        f"checked {result.checked:,} interactions: {result.added:,} new, {result.changed:,} changed, "
        f"{result.deleted:,} deleted, {result.owner_updates:,} owner updates; "
        f"{result.chunks_written:,} chunks written in {result.seconds:.1f} s",
        highlight=False,
    )


def search(
    query: str = typer.Argument(..., help="What to look for (English or Chinese, ids and SKUs match exactly)."),
    customer: str | None = typer.Option(None, "--customer", "-c", help="Customer id, external id or name."),
    limit: int = typer.Option(10, "--limit", "-n", min=1, max=50),
    as_email: str | None = typer.Option(None, "--as", help="Search as this staff member (their scope applies)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Search interaction history (the interaction_history tool, from the terminal)."""
    from tools.context import ToolContext
    from tools.errors import ToolError
    from tools.interaction_history import InteractionHistoryParams, interaction_history

    try:
        ctx = ToolContext.for_email(as_email) if as_email else ToolContext.system()
    except LookupError as exc:
        fail(str(exc))
    try:
        result = interaction_history(
            InteractionHistoryParams(customer=customer, query=query, limit=limit), ctx=ctx
        )
    except ToolError as exc:
        if as_json:
            print_json(exc.to_dict())
            raise typer.Exit(1) from None
        fail(str(exc))
    if as_json:
        print_json(result.to_json())
    else:
        console.print(result.to_text(), highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.command("index")(index)
    app.command("search")(search)
