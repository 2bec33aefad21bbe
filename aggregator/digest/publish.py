"""Publishing an edition: its files under the output folder and, if configured, the e-mail.

Files are written to a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from aggregator.digest.models import Edition
from aggregator.digest.render import render, render_atom, uk_date
from aggregator.digest.settings import SmtpSettings
from aggregator.errors import AggregatorError


class PublishError(AggregatorError):
    """The e-mail could not be sent, or a file could not be written."""


def write_files(
    edition: Edition, folder: Path, formats: Sequence[str], *, contact: str | None = None
) -> list[Path]:
    """``folder/<day>.<format>`` for each format; returns the paths written."""
    written = []
    for fmt in formats:
        path = folder / f"{edition.day.isoformat()}.{fmt}"
        _write(path, render(edition, fmt, contact=contact))
        written.append(path)
    return written


def write_feed(editions: Sequence[Edition], folder: Path, base_url: str) -> Path:
    """``folder/editions.atom``: the published editions, linked under ``base_url``."""
    path = folder / "editions.atom"
    feed_url = base_url.rstrip("/") + "/editions.atom"
    _write(path, render_atom(editions, feed_url=feed_url, base_url=base_url))
    return path


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise PublishError(f"cannot write {path}: {exc.strerror or exc}") from exc


def send_email(edition: Edition, smtp: SmtpSettings, *, contact: str | None = None) -> str:
    """Send the HTML e-mail (with its plain-text part); returns the Message-ID."""
    if not smtp.enabled or not smtp.host or not smtp.sender:
        raise PublishError("e-mail is not configured (settings.smtp: host, sender, recipients)")
    message = EmailMessage()
    message["Subject"] = f"{edition.title}, {uk_date(edition.day)}"
    message["From"] = smtp.sender
    message["To"] = ", ".join(smtp.recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=smtp.sender.rpartition("@")[2] or None)
    message.set_content(render(edition, "txt", contact=contact))
    message.add_alternative(render(edition, "html", contact=contact), subtype="html")
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as client:
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context())
            if smtp.username and smtp.password:
                client.login(smtp.username, smtp.password)
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise PublishError(
            f"sending the e-mail through {smtp.host}:{smtp.port} failed: {exc}"
        ) from exc
    return str(message["Message-ID"])
