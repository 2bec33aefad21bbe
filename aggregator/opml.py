"""OPML in and out: the sources file's round trip with other feed readers.

Import reads with listparser (given bytes: it never expands entities or fetches anything)
and appends the new feeds to sources.yaml through the round-trip YAML writer, so comments
and layout survive. Export writes OPML 2.0 of the ``feed`` sources; listing pages have no
OPML form and are left out (the caller is told how many).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import listparser
from pydantic import ValidationError
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from aggregator import yamlfile
from aggregator.errors import ConfigError
from aggregator.sources import Kind, Source


@dataclass(frozen=True)
class ImportResult:
    added: tuple[Source, ...]
    already_present: int
    invalid: tuple[str, ...]


def read_opml(path: Path) -> list[tuple[str, str]]:
    """(title, url) of every feed outline in an OPML file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    result = listparser.parse(data)
    if result.bozo and not result.feeds:
        raise ConfigError(f"{path}: not a readable OPML file: {result.get('bozo_exception')}")
    return [(str(f.get("title") or f["url"]).strip(), str(f["url"]).strip()) for f in result.feeds]


def import_opml(opml: Path, sources_file: Path) -> ImportResult:
    """Append the OPML's feeds that ``sources_file`` lacks; validate each before adding."""
    document = yamlfile.load(sources_file) if sources_file.exists() else None
    if document is None:
        document = CommentedMap()
    if not isinstance(document, CommentedMap):
        raise ConfigError(f"{sources_file}:1: expected a mapping with 'sources:'")
    listed = document.setdefault("sources", CommentedSeq())
    if listed is None:
        listed = document["sources"] = CommentedSeq()
    present = {str(item.get("url")) for item in listed if isinstance(item, dict)}
    added, invalid, duplicates = [], [], 0
    for title, url in read_opml(opml):
        if url in present:
            duplicates += 1
            continue
        try:
            source = Source(name=title, url=url)
        except ValidationError as exc:
            invalid.append(f"{title} <{url}>: {exc.errors()[0]['msg']}")
            continue
        listed.append(CommentedMap([("name", source.name), ("url", source.url)]))
        present.add(url)
        added.append(source)
    if added:
        yamlfile.dump(document, sources_file)
    return ImportResult(tuple(added), duplicates, tuple(invalid))


def export_opml(sources: tuple[Source, ...], title: str = "aggregator sources") -> str:
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC))
    body = ET.SubElement(root, "body")
    for source in sources:
        if source.kind is not Kind.FEED:
            continue
        attributes = {
            "type": "rss",
            "text": source.name,
            "title": source.name,
            "xmlUrl": source.url,
        }
        if source.language:
            attributes["language"] = source.language
        ET.SubElement(body, "outline", attributes)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
