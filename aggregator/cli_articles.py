"""Commands of the processing stage: process, inspect, articles export, eval relevance."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from aggregator.app import App
from aggregator.cli import ConfigOpt, DbOpt, JsonOpt, _config, _errors, _with_app, app, err, out
from aggregator.config import Config, Settings, config_path
from aggregator.errors import ConfigError
from aggregator.models import Article
from aggregator.process.evaluate import evaluate, read_examples
from aggregator.process.export import article_json, export_row
from aggregator.process.relevance import Classifier
from aggregator.process.run import ProcessReport
from aggregator.process.taxonomy import load_taxonomy

articles_app = typer.Typer(help="Read the processed articles.", no_args_is_help=True)
eval_app = typer.Typer(help="Measure the processing stage on labelled data.", no_args_is_help=True)
app.add_typer(articles_app, name="articles")
app.add_typer(eval_app, name="eval")


@app.command()
def process(
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", help="Process at most N entries.", min=1)
    ] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Process new and changed entries: text, language, relevance, tags, the sentence."""
    report = _with_app(config, db, lambda a: run_process(a, limit))
    print_process_report(report)


def run_process(application: App, limit: int | None) -> ProcessReport:
    total = application.pending_count()
    total = min(total, limit) if limit else total
    with Progress(
        TextColumn("processing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=total)
        return application.process(limit, lambda n: bar.update(task, advance=n))


def print_process_report(report: ProcessReport) -> None:
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(report.text_status.items()))
    out.print(
        f"{report.processed} entries processed, {report.relevant} relevant;"
        f" {report.pages_fetched} article pages fetched"
        + (f"; text: {statuses}" if statuses else "")
        + (f"; {report.llm_calls} LLM calls" if report.llm_calls else "")
    )


@app.command()
def inspect(
    inputs: Annotated[list[str], typer.Argument(help="HTML files or http(s) URLs.")],
    url: Annotated[
        str | None, typer.Option("--url", help="Where the HTML file(s) came from.")
    ] = None,
    outlet: Annotated[
        str | None, typer.Option("--outlet", help="Outlet name for the sentence.")
    ] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Show what processing makes of a page, and why it is kept or dropped.

    Works without a sources.yaml (the built-in settings are used)."""
    with _errors(), App(_config_or_defaults(config, db)) as application:
        results = application.inspect(inputs, url=url, outlet=outlet)
    for result in results:
        if result.article is None:
            err.print(f"[red]error:[/red] {result.error}")
            if as_json:
                print(json.dumps({"input": result.input, "error": result.error}))
            continue
        found = article_json(result.article)
        if not result.date_known:
            found["published"] = None
        if as_json:
            print(json.dumps({"input": result.input, **found}, ensure_ascii=False))
        else:
            _print_article(result.input, result.article)
    if any(r.article is None for r in results):
        raise typer.Exit(1)


def _config_or_defaults(config: Path | None, db: str | None) -> Config:
    if config is None and not _default_config():
        settings = Settings(database_url=db) if db else Settings()
        return Config(config_path(None, os.environ), settings, ())
    return _config(config, db)


def _print_article(item: str, article: Article) -> None:
    table = Table(title=item, title_justify="left", show_header=False)
    table.add_column("", style="bold")
    table.add_column("", overflow="fold")
    verdict = "[green]relevant[/green]" if article.relevant else "[red]not relevant[/red]"
    terms = ", ".join(
        f"{m['term']} ({m['kind']}, {m['where']}, {m['weight']:+})" for m in article.matched_terms
    )
    places = article.places
    rows = (
        ("title", article.title),
        ("published", article.published_at.isoformat()),
        (
            "text",
            f"{article.text_status}, {len(article.text.split())} words"
            + (f" ({article.text_reason})" if article.text_reason else ""),
        ),
        ("language", article.language),
        ("relevance", f"{verdict}, score {article.relevance_score}: {article.relevance_reason}"),
        ("matched", terms or "-"),
        ("topics", ", ".join(article.topics) or "-"),
        ("routes", ", ".join(article.routes) or "-"),
        (
            "places",
            f"dateline {places.get('dateline') or '-'};"
            f" mentioned {', '.join(places.get('mentioned') or []) or '-'}",
        ),
        (
            "organisation",
            "; ".join(
                f"{m['kind']}" + (f" ({m['person']})" if m.get("person") else "")
                for m in article.org_mentions
            )
            or "-",
        ),
        ("sentence", article.sentence or f"- ({article.sentence_error})"),
    )
    for name, value in rows:
        table.add_row(name, value)
    out.print(table)


@articles_app.command("export")
def articles_export(
    fmt: Annotated[str, typer.Option("--format", help="Output format: jsonl.")] = "jsonl",
    since: Annotated[
        str | None, typer.Option("--since", help="Published on or after DATE (YYYY-MM-DD).")
    ] = None,
    relevant_only: Annotated[
        bool, typer.Option("--relevant-only", help="Only articles about migration.")
    ] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Print the processed articles, one JSON object per line, newest first."""
    with _errors():
        if fmt != "jsonl":
            raise ConfigError(f"--format {fmt!r}: only jsonl is supported")
        start = _date(since) if since else None
        with App(_config(config, db)) as application:
            for row in application.store.articles(since=start, relevant_only=relevant_only):
                sys.stdout.write(json.dumps(export_row(row), ensure_ascii=False) + "\n")


def _date(value: str) -> datetime:
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as exc:
        raise ConfigError(f"--since {value!r}: expected a date like 2026-11-25") from exc
    return datetime.combine(day, time.min, tzinfo=UTC)


@eval_app.command("relevance")
def eval_relevance(
    file: Annotated[Path, typer.Argument(help='JSONL of {"title","text","language","label"}.')],
    show_errors: Annotated[
        bool, typer.Option("--errors", help="List the misclassified examples.")
    ] = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Precision, recall and F1 of the relevance filter on a labelled file."""
    with _errors():
        settings = _config(config, None).settings if config or _default_config() else None
        taxonomy = load_taxonomy(settings.taxonomy if settings else None)
        result = evaluate(Classifier(taxonomy), read_examples(file))
    rows = [("all", result.overall), *sorted(result.by_language.items())]
    if as_json:
        print(json.dumps({name: _figures(c) for name, c in rows}))
        return
    table = Table(title=str(file), title_justify="left")
    for column in ("", "n", "precision", "recall", "F1", "TP", "FP", "FN", "TN"):
        table.add_column(column, justify="right")
    for name, c in rows:
        table.add_row(
            name,
            str(c.total),
            f"{c.precision:.3f}",
            f"{c.recall:.3f}",
            f"{c.f1:.3f}",
            str(c.tp),
            str(c.fp),
            str(c.fn),
            str(c.tn),
        )
    out.print(table)
    if show_errors:
        for example, reason in result.errors:
            kind = "missed" if example.label else "false alarm"
            out.print(f"{file}:{example.line}: {kind}: {example.title!r}: {reason}")


def _default_config() -> bool:
    return config_path(None, os.environ).exists()


def _figures(c) -> dict[str, float | int]:  # type: ignore[no-untyped-def]
    return {
        "n": c.total,
        "precision": round(c.precision, 4),
        "recall": round(c.recall, 4),
        "f1": round(c.f1, 4),
        "tp": c.tp,
        "fp": c.fp,
        "fn": c.fn,
        "tn": c.tn,
    }
