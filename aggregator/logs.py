"""Log lines with stable keys: ``... fetch failed source=BBC url=... stage=fetch``.

Library modules log with ``extra={"source": ..., "url": ..., "stage": ..., ...}``; this
formatter appends those keys in a fixed order so the lines can be grepped and parsed.
"""

from __future__ import annotations

import logging
import sys

KEYS = ("source", "url", "stage", "status", "error_kind", "http_status", "new", "duration")


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        pairs = [f"{key}={_value(getattr(record, key))}" for key in KEYS if hasattr(record, key)]
        return f"{line} {' '.join(pairs)}" if pairs else line


def _value(value: object) -> str:
    text = f"{value:.3f}" if isinstance(value, float) else str(value)
    return f'"{text}"' if " " in text else text


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (test runners swap it)."""

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def configure(verbose: bool) -> None:
    handler = _StderrHandler()
    handler.setFormatter(KeyValueFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # ours say what each job did
