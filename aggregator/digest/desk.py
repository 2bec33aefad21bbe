"""The editorial desk: draft, show, edit, approve, publish and export editions.

The edition of a day covers the relevant articles published from the day after the previous
edition (at most ``digest.window_days`` back; the day before when there is none) to the end
of the day, in the configured timezone, so any past day can be drafted too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from aggregator.config import Config
from aggregator.digest.compile import DraftInput, draft, merge
from aggregator.digest.editdoc import Change, apply_document
from aggregator.digest.models import Edition, Status
from aggregator.digest.publish import send_email, write_feed, write_files
from aggregator.digest.stories import gather, topic_growth
from aggregator.errors import AggregatorError
from aggregator.store import Store

FILE_FORMATS = ("html", "md", "txt", "json")
log = logging.getLogger(__name__)


class EditionError(AggregatorError):
    """No such edition, or it is in a state that forbids the command."""


@dataclass(frozen=True, slots=True)
class Drafted:
    edition: Edition
    created: bool  # a new edition (or rebuilt with --force)
    added: int  # items added to an existing edition
    note: str  # what happened, for the command to say


@dataclass(frozen=True, slots=True)
class Published:
    edition: Edition
    files: tuple[Path, ...]
    message_id: str | None


class Desk:
    def __init__(self, store: Store, config: Config, clock: Callable[[], datetime]) -> None:
        self.store, self.config, self.clock = store, config, clock
        self.settings = config.digest
        self.zone = ZoneInfo(config.settings.timezone)

    def today(self) -> date:
        return self.clock().astimezone(self.zone).date()

    def window(self, day: date) -> tuple[datetime, datetime]:
        end = self._midnight(day + timedelta(days=1))
        previous = self.store.previous_edition_day(day)
        earliest = day - timedelta(days=self.settings.window_days - 1)
        first = previous + timedelta(days=1) if previous else day - timedelta(days=1)
        return self._midnight(max(first, earliest)), end

    def draft(self, day: date, *, force: bool = False) -> Drafted:
        stored = self.store.edition(day, self._titles())
        if stored and stored.status is Status.PUBLISHED and not force:
            raise EditionError(f"the edition of {day} is published; --force rebuilds it")
        fresh = self._compile(day)
        now = self.clock()
        if stored is None or force:
            edited = sum(i.edited for i in stored.items()) if stored else 0
            saved = self.store.save_edition(replace(fresh, created_at=now), now)
            note = "drafted" if stored is None else f"rebuilt ({edited} edited item(s) discarded)"
            return Drafted(saved, True, len(saved.items()), note)
        merged, added = merge(stored, fresh)
        saved = self.store.save_edition(merged, now)
        note = f"kept the stored draft and its edits; {added} new item(s) added"
        return Drafted(saved, False, added, note)

    def edition(self, day: date) -> Edition:
        found = self.store.edition(day, self._titles())
        if found is None:
            raise EditionError(f"no edition for {day}; run `aggregator digest draft --date {day}`")
        return found

    def apply_edit(
        self, day: date, document: str, source: str
    ) -> tuple[Edition, tuple[Change, ...]]:
        edition = self.edition(day)
        if edition.status is Status.PUBLISHED:
            raise EditionError(f"the edition of {day} is published and cannot be edited")
        changed, changes = apply_document(edition, document, source=source)
        if changes:
            edition = self.store.save_edition(changed, self.clock())
        return edition, changes

    def approve(self, day: date) -> Edition:
        edition = self.edition(day)
        if edition.status is Status.PUBLISHED:
            raise EditionError(f"the edition of {day} is already published")
        self.store.set_status(day, Status.APPROVED, self.clock())
        return self.edition(day)

    def publish(self, day: date, *, send: bool = True) -> Published:
        """Write the edition's files (and the feed of editions), send the e-mail if set."""
        self.edition(day)  # exists
        self.store.set_status(day, Status.PUBLISHED, self.clock())
        edition = self.edition(day)
        files = self.write(edition)
        if self.settings.base_url:  # the feed's links need the folder's public address
            editions = self.store.published_editions()
            files.append(write_feed(editions, self._folder(), self.settings.base_url))
        smtp = self.config.settings.smtp
        message_id = None
        if send and smtp.enabled:
            message_id = send_email(edition, smtp, contact=self.config.settings.contact)
        return Published(edition, tuple(files), message_id)

    def write(self, edition: Edition, formats: tuple[str, ...] = FILE_FORMATS) -> list[Path]:
        """The edition's files: published ones in the output folder, a draft in its
        ``drafts/`` folder (a served output folder must not show unreviewed drafts)."""
        folder = self._folder()
        if edition.status is not Status.PUBLISHED:
            folder = folder / "drafts"
        return write_files(edition, folder, formats, contact=self.config.settings.contact)

    def scheduled_draft(self) -> str:
        """The timed draft (daemon, workers): today's edition and its draft files."""
        drafted = self.draft_today()
        if drafted is None:
            return f"the edition of {self.today()} is already published"
        written = self.write(drafted.edition, ("html", "md"))  # for the editors to look at
        return f"edition {drafted.edition.day}: {drafted.note}; wrote {written[0].parent}"

    def scheduled_publish(self) -> str:
        """The timed publication: today's edition if an editor approved it, else nothing."""
        day = self.today()
        stored = self.store.edition(day, self._titles())
        if stored is None or stored.status is Status.DRAFT:
            state = "not drafted" if stored is None else "not approved"
            log.warning(
                "the edition of %s is %s: not published", day, state, extra={"stage": "publish"}
            )
            return f"skipped: the edition of {day} is {state}"
        if stored.status is Status.PUBLISHED:
            return f"the edition of {day} is already published"
        published = self.publish(day)
        sent = ", e-mailed" if published.message_id else ""
        return f"edition {day} published: {len(published.files)} file(s){sent}"

    def draft_today(self) -> Drafted | None:
        """The main job's draft: None when today's edition is already published."""
        today = self.today()
        stored = self.store.edition(today, self._titles())
        if stored is not None and stored.status is Status.PUBLISHED:
            return None
        return self.draft(today)

    def _compile(self, day: date) -> Edition:
        start, end = self.window(day)
        candidates = gather(self.store.story_articles(start, end))
        at = min(end, self.clock())
        history = self.store.topic_history(at - timedelta(days=8), at)
        given = DraftInput(
            day=day,
            end=end,
            candidates=candidates,
            growth=topic_growth(history, at),
            published=self.store.published_stories(day),
            sources={s.url: s for s in self.config.sources},
            settings=self.settings,
            now=self.clock(),
        )
        return draft(given)

    def _titles(self) -> dict[str, str]:
        return {s.id: s.title for s in self.settings.sections}

    def _midnight(self, day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=self.zone).astimezone(UTC)

    def _folder(self) -> Path:
        folder = self.settings.output_dir
        return folder if folder.is_absolute() else self.config.path.parent / folder
