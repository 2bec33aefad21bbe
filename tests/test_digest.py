"""The daily edition end to end: feeds on a local server are fetched, processed, clustered
into stories and drafted into sections; editors' edits survive drafting again; publishing
writes the files and sends the e-mail to a local SMTP server."""

from __future__ import annotations

import json
import socket
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from aggregator.app import App
from aggregator.cli import app as cli
from aggregator.config import load_config
from aggregator.digest.editdoc import to_document
from tests.conftest import FakeClock, write_config

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
DAY = date(2026, 11, 25)

SHIPWRECK_A = (
    "At least 61 migrants drowned when their rubber boat capsized off the Libyan coast near"
    " Zuwara on Tuesday, the International Organization for Migration said, adding that 25"
    " survivors had been brought back to shore by fishermen and the Libyan coast guard after"
    " spending hours in the water during a storm in the central Mediterranean."
)
SHIPWRECK_B = (
    "Some 61 migrants are feared drowned after a rubber boat capsized off Zuwara in Libya on"
    " Tuesday, according to the International Organization for Migration, which said 25"
    " survivors were rescued by fishermen and the Libyan coast guard after hours in the water"
    " as a storm swept the central Mediterranean route to Italy."
)
DEPORTATION = (
    "The United States deported 130 Venezuelan migrants on a flight to Caracas on Monday,"
    " the first deportation flight since talks resumed between the two governments, the"
    " Department of Homeland Security said, adding that more flights were planned in the"
    " coming weeks as part of a wider agreement on returns and consular cooperation."
)
PROFILE = (
    "Amina Diallo, a 24-year-old Guinean refugee, opened a bakery in Lyon that now employs"
    " eleven people, most of them newcomers to France, and her croissants have won a regional"
    " prize, a story she hopes will change how her neighbours see people who fled war and"
    " crossed the Mediterranean to find safety in Europe."
)
RELEASE = (
    "IOM launched a new programme to support the reintegration of returning migrants in"
    " Senegal, with vocational training and small grants for 2,000 people over two years,"
    " the organization said in Geneva, calling on donors to help the communities that"
    " welcome returnees back and to invest in safe, regular pathways for young people."
)
BIRDS = (
    "Birders counted twenty species of warblers at Point Pelee as the spring migration"
    " peaked, with rare migrants drawing crowds of birdwatchers and photographers to the park"
    " over the long weekend, ornithologists said on Sunday."
)


def rss(items: list[tuple[str, str, str]], hour: int = 10) -> bytes:
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>Tue, 24 Nov 2026 {hour:02d}:00:00 GMT</pubDate><description>{d}</description>"
        "</item>"
        for t, link, d in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{body}</channel></rss>'
    ).encode()


@pytest.fixture
def config(tmp_path, server, db_url):
    wire = rss(
        [
            ("61 migrants drown off Libya", "https://wire.example/libya", SHIPWRECK_A),
            ("US deports 130 Venezuelans", "https://wire.example/deport", DEPORTATION),
            ("Warblers arrive at Point Pelee", "https://wire.example/birds", BIRDS),
        ]
    )
    paper = rss([("Dozens feared dead off Libya", "https://paper.example/libya", SHIPWRECK_B)])
    feature = rss([("The refugee baker of Lyon", "https://mag.example/baker", PROFILE)])
    release = rss([("IOM supports returnees in Senegal", "https://iom.example/pr", RELEASE)])
    sources = [
        {"name": "AFP", "url": server.serve("/wire.xml", wire), "fulltext": False},
        {"name": "The Guardian", "url": server.serve("/paper.xml", paper), "fulltext": False},
        {
            "name": "BBC",
            "url": server.serve("/mag.xml", feature),
            "section": "trending",
            "fulltext": False,
        },
        {
            "name": "IOM",
            "url": server.serve("/iom.xml", release),
            "section": "featured",
            "fulltext": False,
        },
    ]
    path = write_config(tmp_path / "sources.yaml", sources, database_url=db_url)
    return load_config(path, env={})


def prepare(config) -> App:
    application = App(config, clock=FakeClock(NOW))
    application.fetch()
    application.process()
    return application


def test_the_draft_has_one_item_per_story_with_every_outlet(config):
    with prepare(config) as application:
        drafted = application.desk.draft(DAY)
    edition = drafted.edition
    sections = {s.id: s for s in edition.sections}
    news = [item.text for item in sections["news"].items]
    assert any(t.startswith("AFP and The Guardian reported that") for t in news), news
    assert sum("61" in t for t in news) == 1  # the two versions are one story
    assert any("Venezuelan" in t for t in news)
    assert not any("warbler" in t.lower() for t in news)
    (trending,) = sections["trending"].items
    assert trending.text.startswith("BBC ") and "Amina Diallo" in trending.text
    assert "human interest" in trending.why or "trending source" in trending.why
    (featured,) = sections["featured"].items
    assert featured.title == "IOM supports returnees in Senegal"
    assert featured.text.startswith("IOM launched a new programme")
    assert drafted.note == "drafted"


def rewrite(document: str, item_id: int, text: str) -> str:
    """The edit document with item ``item_id``'s block replaced by ``text``."""
    out, skipping = [], False
    for line in document.splitlines():
        if line.startswith(f"[{item_id}] "):
            out.append(f"[{item_id}] {text}")
            skipping = True
        elif skipping and line.startswith("    "):
            continue
        else:
            skipping = False
            out.append(line)
    return "\n".join(out) + "\n"


def test_drafting_again_keeps_edits_and_force_rebuilds(config):
    with prepare(config) as application:
        desk = application.desk
        first = desk.draft(DAY).edition
        document = to_document(first)
        libya = next(i for i in first.items() if "61" in i.text)
        rewritten = rewrite(document, libya.id, "AFP reported that 61 people drowned off Libya.")
        _, changes = desk.apply_edit(DAY, rewritten, "edition.txt")
        assert [c.kind for c in changes] == ["rewritten"]
        again = desk.draft(DAY)
        texts = [i.text for i in again.edition.items()]
        assert "AFP reported that 61 people drowned off Libya." in texts
        assert not again.created and "kept the stored draft" in again.note
        rebuilt = desk.draft(DAY, force=True)
        assert "1 edited item(s) discarded" in rebuilt.note
        assert "AFP reported that 61 people drowned off Libya." not in [
            i.text for i in rebuilt.edition.items()
        ]


def test_publish_writes_files_and_sends_the_email(config, tmp_path):
    aiosmtpd = pytest.importorskip("aiosmtpd.controller")

    class Inbox:
        def __init__(self) -> None:
            self.messages: list[bytes] = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope.content)
            return "250 OK"

    inbox = Inbox()
    with socket.socket() as probe:  # a free port for the SMTP server
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = aiosmtpd.Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        settings = config.settings.model_copy(
            update={
                "smtp": config.settings.smtp.model_copy(
                    update={
                        "host": "127.0.0.1",
                        "port": port,
                        "starttls": False,
                        "sender": "digest@example.org",
                        "recipients": ("media@example.org",),
                    }
                )
            }
        )
        digest = config.digest.model_copy(update={"base_url": "https://digest.example.org/"})
        config = type(config)(config.path, settings, config.sources, (), digest)
        with prepare(config) as application:
            application.desk.draft(DAY)
            done = application.desk.publish(DAY)
    finally:
        smtp.stop()
    names = sorted(p.name for p in done.files)
    assert names == ["2026-11-25.html", "2026-11-25.json", "2026-11-25.md", "2026-11-25.txt",
                     "editions.atom"]  # fmt: skip
    document = json.loads((tmp_path / "data/digests/2026-11-25.json").read_text("utf-8"))
    assert document["edition"] == "2026-11-25" and document["status"] == "published"
    assert {s["id"] for s in document["sections"]} >= {"news", "trending", "featured"}
    (message,) = inbox.messages
    assert b"Subject: Migration in the News, 25 November 2026" in message
    assert b"text/html" in message and done.message_id


def test_cli_draft_show_edit_export(runner, config, tmp_path, monkeypatch):
    c = ["-c", str(config.path)]
    assert runner.invoke(cli, ["fetch", *c]).exit_code == 0
    assert runner.invoke(cli, ["process", *c]).exit_code == 0
    result = runner.invoke(cli, ["digest", "draft", "--date", "2026-11-25", *c])
    assert result.exit_code == 0, result.output
    assert "edition 2026-11-25 (draft): drafted" in result.stdout
    shown = runner.invoke(cli, ["digest", "show", "--date", "2026-11-25", *c]).stdout
    assert "AFP and The Guardian reported that" in shown

    editor = tmp_path / "editor.py"  # an "editor" that deletes the trending section's item
    editor.write_text(
        "import sys, pathlib\n"
        "p = pathlib.Path(sys.argv[1])\n"
        "text = p.read_text()\n"
        "start = text.index('BBC shared the story')\n"
        "start = text.rindex('\\n', 0, start) + 1\n"
        "end = text.index('\\n#', start) + 1\n"
        "p.write_text(text[:start] + text[end:])\n"
    )
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    edited = runner.invoke(cli, ["digest", "edit", "--date", "2026-11-25", *c])
    assert edited.exit_code == 0, edited.output
    assert "removed" in edited.stdout
    html = runner.invoke(
        cli, ["digest", "export", "--date", "2026-11-25", "--format", "html", *c]
    ).stdout
    assert "AFP and The Guardian reported that" in html and "<script" not in html
    missing = runner.invoke(cli, ["digest", "show", "--date", "2026-11-20", *c])
    assert missing.exit_code == 1 and "no edition for 2026-11-20" in missing.stderr


def test_cli_run_is_the_main_job(runner, config):
    result = runner.invoke(cli, ["run", "-c", str(config.path)])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.stdout
    folder = Path(config.path).parent / "data" / "digests" / "drafts"
    written = sorted(p.name for p in folder.iterdir())
    today = datetime.now(UTC).date().isoformat()  # `run` drafts today's edition
    assert written == [f"{today}.html", f"{today}.md"]
    publish = runner.invoke(cli, ["digest", "publish", "--no-email", "-c", str(config.path)])
    assert publish.exit_code == 0, publish.output
    again = runner.invoke(cli, ["run", "-c", str(config.path)])
    assert again.exit_code == 0 and "is published; not drafted again" in again.stdout
