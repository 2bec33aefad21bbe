"""The naive baseline: fetch and parse each feed in turn, one ``requests.get`` at a time.

    python bench/naive_loop.py URLFILE

URLFILE holds one feed URL a line. Writes one JSON line: {"feeds": n, "entries": total}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import feedparser
import requests


def fetch_and_parse(url: str) -> int:
    """Entries parsed from one feed."""
    resp = requests.get(url, timeout=60)
    parsed = feedparser.parse(resp.content, response_headers=resp.headers)
    return len(parsed.entries)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: naive_loop.py URLFILE\n")
        return 2
    urls = [line.strip() for line in Path(argv[0]).read_text().splitlines() if line.strip()]
    entries = sum(fetch_and_parse(url) for url in urls)
    sys.stdout.write(json.dumps({"feeds": len(urls), "entries": entries}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
