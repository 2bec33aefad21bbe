"""The name a digest prints for a site, from the packaged ``outlets.yaml``."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from urllib.parse import urlsplit

from ruamel.yaml import YAML


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    text = (resources.files("aggregator") / "data" / "outlets.yaml").read_text("utf-8")
    return {str(k).casefold(): str(v) for k, v in (YAML(typ="safe").load(text) or {}).items()}


def outlet_name(url: str | None) -> str | None:
    """ "DW" for https://www.dw.com/en/..., None for a site we have no name for."""
    host = (urlsplit(url or "").hostname or "").casefold()
    names = _names()
    while host:
        if host in names:
            return names[host]
        host = host.partition(".")[2] if "." in host else ""
    return None
