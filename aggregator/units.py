"""Human-friendly durations ("30m", "1h30m", "2d") for settings and sources."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s|ms)", re.IGNORECASE)
_SECONDS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(value: object) -> timedelta:
    """Accept a timedelta, a number of seconds, or text such as ``30m`` or ``1h30m``."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text such as 30m, 2h, 1d")
    if isinstance(value, int | float):
        return _non_negative(timedelta(seconds=value))
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        if re.fullmatch(r"\d+(\.\d+)?", text):
            return _non_negative(timedelta(seconds=float(text)))
        if text and _PART.sub("", text) == "":
            seconds = sum(float(n) * _SECONDS[u.lower()] for n, u in _PART.findall(text))
            return _non_negative(timedelta(seconds=seconds))
    raise ValueError(f"invalid duration {value!r} (use e.g. 90s, 30m, 2h, 1d)")


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{value.total_seconds():g}s"


def _non_negative(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise ValueError("a duration cannot be negative")
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]
