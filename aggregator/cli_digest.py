"""Commands of the digest stage: draft, show, edit, approve, publish, export."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from aggregator.app import App
from aggregator.cli import ConfigOpt, DbOpt, _errors, _with_app, app, err, out
from aggregator.digest.desk import Desk, EditionError
from aggregator.digest.editdoc import to_document
from aggregator.digest.render import FORMATS, render
from aggregator.errors import ConfigError

digest_app = typer.Typer(help="Draft, review and publish the day's edition.", no_args_is_help=True)
app.add_typer(digest_app, name="digest")

DateOpt = Annotated[
    str | None,
    typer.Option(
        "--date", help="The edition's day, YYYY-MM-DD (default: today, settings.timezone)."
    ),
]


def _day(desk: Desk, value: str | None) -> date:
    if value is None:
        return desk.today()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"--date {value!r}: expected a date like 2026-11-25") from exc


@digest_app.command("draft")
def digest_draft(
    day: DateOpt = None,
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild, discarding the editors' changes.")
    ] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Draft the day's edition; drafting again adds what is new and keeps every edit."""

    def job(application: App) -> None:
        desk = application.desk
        drafted = desk.draft(_day(desk, day), force=force)
        edition = drafted.edition
        counts = ", ".join(f"{len(s.items)} {s.id}" for s in edition.sections)
        out.print(
            f"edition {edition.day} ({edition.status.value}): {drafted.note};"
            f" {counts}, {len(edition.alternates)} alternates"
        )

    _with_app(config, db, job)


@digest_app.command("show")
def digest_show(day: DateOpt = None, config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Print the edition as plain text, alternates included."""

    def job(application: App) -> str:
        desk = application.desk
        return to_document(desk.edition(_day(desk, day)))

    sys.stdout.write(_with_app(config, db, job))


@digest_app.command("edit")
def digest_edit(day: DateOpt = None, config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Open the edition in $EDITOR: reorder, remove, rewrite, move, promote alternates."""

    def job(application: App) -> None:
        desk = application.desk
        when = _day(desk, day)
        document = to_document(desk.edition(when))
        edited = _edit_in_editor(document, when)
        _, changes = desk.apply_edit(when, edited, f"edition-{when}.txt")
        for change in changes:
            out.print(f"[{change.item_id}] {change.kind}: {change.detail}")
        out.print(f"{len(changes)} change(s) saved" if changes else "no change")

    _with_app(config, db, job)


def _edit_in_editor(document: str, day: date) -> str:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"edition-{day}.txt"
        path.write_text(document, encoding="utf-8")
        try:
            subprocess.run([*shlex.split(editor), str(path)], check=True)  # noqa: S603
        except (OSError, subprocess.CalledProcessError) as exc:
            raise EditionError(f"the editor {editor!r} failed: {exc}; nothing applied") from exc
        return path.read_text(encoding="utf-8")


@digest_app.command("approve")
def digest_approve(day: DateOpt = None, config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Mark the edition approved."""
    _status(day, config, db, lambda desk, when: desk.approve(when).status.value)


@digest_app.command("publish")
def digest_publish(
    day: DateOpt = None,
    no_email: Annotated[bool, typer.Option("--no-email", help="Write the files only.")] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Publish: write the files under the output folder, send the e-mail if configured."""

    def job(application: App) -> None:
        desk = application.desk
        done = desk.publish(_day(desk, day), send=not no_email)
        for path in done.files:
            out.print(f"wrote {path}")
        if done.message_id:
            out.print(f"sent the e-mail {done.message_id}")

    _with_app(config, db, job)


def _status(
    day: str | None, config: Path | None, db: str | None, act: Callable[[Desk, date], str]
) -> None:
    def job(application: App) -> None:
        desk = application.desk
        when = _day(desk, day)
        out.print(f"edition {when}: {act(desk, when)}")

    _with_app(config, db, job)


@digest_app.command("export")
def digest_export(
    day: DateOpt = None,
    fmt: Annotated[str, typer.Option("--format", help=f"One of {', '.join(FORMATS)}.")] = "html",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here.")] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Render the edition (html, md, txt, json, atom) to stdout or a file."""

    def job(application: App) -> str:
        if fmt not in FORMATS:
            raise ConfigError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
        desk = application.desk
        edition = desk.edition(_day(desk, day))
        return render(edition, fmt, contact=application.config.settings.contact)

    text = _with_app(config, db, job)
    if output:
        with _errors():
            output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}")
    else:
        sys.stdout.write(text)
