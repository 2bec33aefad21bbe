"""The command line: thin wrappers that parse flags, call the App facade and print results.

Exit status: 0 when the command ran (failing sources are reported, not fatal), 2 for a bad
configuration or flag, 1 for anything else that stopped the command.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from aggregator import __version__, logs
from aggregator.app import App
from aggregator.config import Config, config_path, load_config
from aggregator.errors import AggregatorError, ConfigError, StoreError
from aggregator.models import FetchReport, FetchStatus, SourceReport, SourceState
from aggregator.opml import export_opml, import_opml
from aggregator.units import format_duration

app = typer.Typer(
    help="Drafts a daily migration press digest from news feeds and sites.",
    add_completion=False,
    pretty_exceptions_enable=False,
)
sources_app = typer.Typer(help="Check, list, import and export the sources.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
T = TypeVar("T")

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="sources.yaml to use \\[env: AGGREGATOR_CONFIG].", show_default=False
    ),
]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL \\[env: AGGREGATOR_DATABASE_URL]; default SQLite under data/.",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on standard output.")]

STATUS_STYLE = {
    FetchStatus.OK: "green",
    FetchStatus.NOT_MODIFIED: "cyan",
    FetchStatus.UNCHANGED: "cyan",
    FetchStatus.ERROR: "red",
    FetchStatus.SKIPPED: "yellow",
    FetchStatus.DISABLED: "dim",
}


@app.callback(invoke_without_command=True)
def _main(
    ctx: typer.Context,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log progress to stderr.")
    ] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        out.print(__version__)
        raise typer.Exit()
    if ctx.invoked_subcommand is None:
        out.print(ctx.get_help())
        raise typer.Exit()
    logs.configure(verbose)


def main() -> None:
    app()


@contextmanager
def _errors() -> Iterator[None]:
    """Turn our errors into a message and an exit status; let bugs show their traceback."""
    try:
        yield
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(f"[red]error:[/red] {escape(problem)}")
        raise typer.Exit(2) from None
    except StoreError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    except AggregatorError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from None


def _config(path: Path | None, db: str | None) -> Config:
    overrides = {"database_url": db} if db else {}
    config = load_config(config_path(path, os.environ), overrides=overrides)
    for warning in config.warnings:
        err.print(f"[yellow]warning:[/yellow] {warning}")
    return config


def _with_app(path: Path | None, db: str | None, use: Callable[[App], T]) -> T:
    with _errors(), App(_config(path, db)) as application:
        return use(application)


@app.command()
def init(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Create sources.yaml (the default list) if missing, and the database."""
    with _errors():
        target = config_path(config, os.environ)
        if target.exists():
            err.print(f"{target} exists; left as it is")
        else:
            default = resources.files("aggregator") / "data" / "sources.yaml"
            with resources.as_file(default) as packaged:
                shutil.copyfile(packaged, target)
            err.print(f"wrote {target} with the default migration sources; edit it to taste")
        with App(_config(target, db)) as application:
            store = application.store
            out.print(f"database ready: {store.url}")
        out.print("next: `aggregator sources check`, then `aggregator fetch`")


@app.command()
def fetch(
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--source",
            "-s",
            metavar="NAME",
            help="Fetch only this source (name or URL); repeatable.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Fetch even if a server asked us to wait, or said 410.")
    ] = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Fetch every enabled source now (or those named), whatever the schedule says."""
    report = _with_app(config, db, lambda a: _run_fetch(a, source or [], force, False))
    if as_json:
        print(
            json.dumps({"sources": [_report_json(r) for r in report.sources]}, ensure_ascii=False)
        )
    else:
        _print_report(report)


@app.command()
def run(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """The main job: fetch, process, draft today's edition.

    Fetches the sources that are due, processes what is new, drafts today's edition and
    writes it as HTML and Markdown to the drafts folder (data/digests/drafts/ by default).
    """
    from aggregator.cli_articles import print_process_report, run_process

    def job(application: App) -> None:
        _print_report(_run_fetch(application, [], False, True))
        print_process_report(run_process(application, None))
        desk = application.desk
        drafted = desk.draft_today()
        if drafted is None:
            out.print(f"edition {desk.today()} is published; not drafted again")
            return
        edition = drafted.edition
        counts = ", ".join(f"{len(s.items)} {s.id}" for s in edition.sections)
        out.print(f"edition {edition.day}: {drafted.note}; {counts}")
        for path in desk.write(edition, ("html", "md")):
            out.print(f"wrote {path}")

    _with_app(config, db, job)


def _run_fetch(application: App, names: list[str], force: bool, due_only: bool) -> FetchReport:
    chosen = application.select(names)
    with Progress(
        TextColumn("fetching"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=len(chosen))

        def advance(report: SourceReport) -> None:
            bar.update(task, advance=1, description=report.name)

        return application.fetch(names, force=force, due_only=due_only, progress=advance)


def _report_json(report: SourceReport) -> dict[str, Any]:
    return {
        "name": report.name,
        "url": report.url,
        "status": report.status.value,
        "new_entries": report.new_entries,
        "error": report.error,
    }


def _print_report(report: FetchReport) -> None:
    table = Table(title="Fetch", title_justify="left")
    for column, justify in (
        ("Source", "left"),
        ("Status", "left"),
        ("New", "right"),
        ("Time", "right"),
        ("Error", "left"),
    ):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for item in report.sources:
        style = STATUS_STYLE[item.status]
        table.add_row(
            item.name,
            f"[{style}]{item.status.value}[/{style}]",
            str(item.new_entries),
            f"{item.duration:.1f}s" if item.duration else "",
            item.error or "",
        )
    out.print(table)
    fetched = sum(
        1 for s in report.sources if s.status not in (FetchStatus.SKIPPED, FetchStatus.DISABLED)
    )
    out.print(
        f"{len(report.sources)} sources, {fetched} contacted, {report.new_entries} new entries,"
        f" {report.errors} failed"
    )


@app.command()
def daemon(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Run on a schedule: fetch, process, draft (SIGTERM or Ctrl-C stops).

    Fetches what is due, processes what is new, drafts the edition at digest.draft_at.

    One daemon per store. --verbose logs each job; `aggregator status` shows its health.
    """
    from aggregator.daemon import run_daemon

    with _errors():
        status = run_daemon(_config(config, db))
    raise typer.Exit(status)


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Jobs at once.")] = 4,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """One of several workers sharing a PostgreSQL store (SIGTERM or Ctrl-C stops).

    See docs/workers.md.
    """
    from aggregator.workers import run_worker

    with _errors():
        status = run_worker(_config(config, db), concurrency=concurrency)
    raise typer.Exit(status)


@app.command()
def status(as_json: JsonOpt = False, config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Feed health (last success, last error, error count, next fetch), the daemon's, and
    the workers' and their queue's on PostgreSQL."""
    from aggregator.daemon_health import daemon_health, health_lines, health_of_store
    from aggregator.daemon_settings import daemon_settings, health_path
    from aggregator.workers.status import QueueStatus, queue_lines, queue_status

    def look(
        application: App,
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None, QueueStatus | None]:
        rows = [_health(s, r) for s, r in application.health()]  # the store first
        settings = application.config.settings
        found = daemon_health(health_path(application.config, daemon_settings(application.config)))
        found = health_of_store(found, settings.database_url)
        return rows, found, queue_status(settings.database_url)

    rows, running, queue = _with_app(config, db, look)
    if as_json:
        document = {
            "sources": rows,
            "daemon": running,
            "workers": queue.as_json() if queue else None,
        }
        print(json.dumps(document, ensure_ascii=False, default=str))
        return
    table = Table(title="Sources", title_justify="left")
    for column in (
        "Source",
        "State",
        "Entries",
        "Last success",
        "Errors",
        "Last error",
        "Next fetch",
    ):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["name"],
            row["state"],
            str(row["entries"]),
            _short_time(row["last_success_at"]),
            str(row["error_count"] or ""),
            _error_cell(row),
            _short_time(row["next_fetch_at"]),
        )
    out.print(table)
    for line in health_lines(running) if running else ["daemon: not running"]:
        out.print(escape(line))
    for line in queue_lines(queue) if queue else []:
        out.print(escape(line))


# What status shows of a source's state: all of it but the validators (cache internals).
HEALTH_KEYS = tuple(
    f.name
    for f in fields(SourceState)
    if f.name not in ("url", "etag", "last_modified", "body_hash")
)


def _health(source: Any, row: Any) -> dict[str, Any]:
    state = row.state if row else None
    health = {
        "name": source.name,
        "url": source.url,
        "enabled": source.enabled,
        "state": _state_word(source, state),
        "entries": row.entry_count if row else 0,
    }
    for key in HEALTH_KEYS:
        value = getattr(state, key) if state else None
        health[key] = value.isoformat() if isinstance(value, datetime) else value
    return health


def _state_word(source: Any, state: Any) -> str:
    if not source.enabled:
        return "disabled (config)"
    if state is None or state.last_fetched_at is None:
        return "never fetched"
    if state.disabled_at:
        return "gone (410)"
    if state.error_count:
        return f"failing ({state.last_error_kind})"
    return "ok"


def _error_cell(row: dict[str, Any]) -> str:
    if not row["last_error"]:
        return ""
    when = _short_time(row["last_error_at"])
    moved = f" Moved to {row['moved_to']}." if row["moved_to"] else ""
    return f"{when}: {row['last_error']}{moved}"


def _short_time(value: str | None) -> str:
    return value[:16].replace("T", " ") if value else ""


@sources_app.command("check")
def sources_check(
    file: Annotated[
        Path | None, typer.Argument(help="Defaults to the configured sources.yaml.")
    ] = None,
) -> None:
    """Validate a sources file: every problem with its file, line and field (exit 2 if any)."""
    with _errors():
        config = load_config(file or config_path(None, os.environ))
        for warning in config.warnings:
            err.print(f"[yellow]warning:[/yellow] {warning}")
        enabled = sum(1 for s in config.sources if s.enabled)
        out.print(f"{config.path}: ok, {len(config.sources)} sources ({enabled} enabled)")
        if config.settings.taxonomy is not None:  # the override is checked too, with its lines
            from aggregator.process.taxonomy import load_taxonomy

            taxonomy = load_taxonomy(config.settings.taxonomy)
            out.print(f"{config.settings.taxonomy}: ok, {len(taxonomy.topics)} topics")


@sources_app.command("list")
def sources_list(as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """List the configured sources."""
    with _errors():
        loaded = _config(config, None)
    if as_json:
        print(
            json.dumps(
                [s.model_dump(mode="json", exclude_none=True) for s in loaded.sources],
                ensure_ascii=False,
            )
        )
        return
    table = Table(title=str(loaded.path), title_justify="left")
    for column in ("Name", "Kind", "Section", "Lang", "Interval", "On", "Trusted", "URL"):
        table.add_column(column, overflow="fold")
    default = loaded.settings.fetch.interval
    for s in loaded.sources:
        table.add_row(
            s.name,
            s.kind.value,
            s.section.value,
            s.language or "",
            format_duration(s.interval or default),
            "yes" if s.enabled else "no",
            "yes" if s.trusted else "",
            s.url,
        )
    out.print(table)


@sources_app.command("import-opml")
def sources_import_opml(
    file: Annotated[Path, typer.Argument(help="OPML file exported by a feed reader.")],
    config: ConfigOpt = None,
) -> None:
    """Add the feeds of an OPML file to sources.yaml (those already listed are skipped)."""
    with _errors():
        target = config_path(config, os.environ)
        result = import_opml(file, target)
        for problem in result.invalid:
            err.print(f"[yellow]skipped:[/yellow] {problem}")
        out.print(
            f"added {len(result.added)} source(s) to {target};"
            f" {result.already_present} already listed, {len(result.invalid)} invalid"
        )
        if result.added:
            load_config(target)  # the file must still be valid after the edit


@sources_app.command("export-opml")
def sources_export_opml(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here, not stdout.")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Print the feed sources as OPML 2.0 (listing pages have no OPML form)."""
    with _errors():
        loaded = _config(config, None)
    document = export_opml(loaded.sources)
    skipped = sum(1 for s in loaded.sources if s.kind.value != "feed")
    if skipped:
        err.print(f"{skipped} listing-page source(s) left out: OPML has no form for them")
    if output:
        output.write_text(document, encoding="utf-8")
        err.print(f"wrote {output}")
    else:
        sys.stdout.write(document)


from aggregator import cli_articles, cli_digest  # noqa: E402, F401  (they register commands)
