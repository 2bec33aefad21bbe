"""The command line as a user runs it: exit statuses, pure JSON, tables, OPML round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aggregator.cli import app
from tests.conftest import FIXTURES, write_config

FEEDS = FIXTURES / "feeds"


@pytest.fixture
def config_file(tmp_path, server, db_url) -> Path:
    good = server.serve("/good.xml", (FEEDS / "rss20.xml").read_bytes())
    bad = server.serve("/bad", b"<html><body>no feed</body></html>", Content_Type="text/html")
    return write_config(
        tmp_path / "sources.yaml",
        [{"name": "Good Feed", "url": good}, {"name": "Bad Feed", "url": bad}],
        database_url=db_url,
    )


def test_fetch_json_is_the_only_thing_on_stdout(runner, config_file):
    result = runner.invoke(app, ["fetch", "--json", "--config", str(config_file)])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert list(document) == ["sources"]
    rows = {row["name"]: row for row in document["sources"]}
    assert set(rows["Good Feed"]) == {"name", "url", "status", "new_entries", "error"}
    assert (rows["Good Feed"]["status"], rows["Good Feed"]["new_entries"]) == ("ok", 8)
    assert rows["Bad Feed"]["status"] == "error" and "HTML" in rows["Bad Feed"]["error"]

    again = json.loads(runner.invoke(app, ["fetch", "--json", "-c", str(config_file)]).stdout)
    assert sum(row["new_entries"] for row in again["sources"]) == 0


def test_fetch_prints_a_table_and_a_summary(runner, config_file):
    result = runner.invoke(app, ["fetch", "-c", str(config_file)])
    assert result.exit_code == 0
    assert "Good Feed" in result.stdout and "not_a_feed" not in result.stdout
    assert "2 sources, 2 contacted, 8 new entries, 1 failed" in result.stdout


def test_fetch_one_named_source(runner, config_file, server):
    result = runner.invoke(app, ["fetch", "--json", "-c", str(config_file), "-s", "good feed"])
    assert [row["name"] for row in json.loads(result.stdout)["sources"]] == ["Good Feed"]
    assert server.hits["/bad"] == 0


def test_unknown_source_name_exits_2(runner, config_file):
    result = runner.invoke(app, ["fetch", "-c", str(config_file), "-s", "Nope"])
    assert result.exit_code == 2 and "no source named 'Nope'" in result.stderr


def test_status_reports_health(runner, config_file):
    runner.invoke(app, ["fetch", "-c", str(config_file)])
    result = runner.invoke(app, ["status", "--json", "-c", str(config_file)])
    assert result.exit_code == 0
    rows = {row["name"]: row for row in json.loads(result.stdout)["sources"]}
    assert rows["Good Feed"]["state"] == "ok" and rows["Good Feed"]["entries"] == 8
    assert rows["Good Feed"]["last_success_at"] and rows["Good Feed"]["next_fetch_at"]
    bad = rows["Bad Feed"]
    assert (bad["state"], bad["error_count"], bad["last_error_kind"]) == (
        "failing (not_a_feed)",
        1,
        "not_a_feed",
    )
    table = runner.invoke(app, ["status", "-c", str(config_file)])
    assert "Bad Feed" in table.stdout and "failing" in table.stdout


def test_db_flag_overrides_the_file(runner, config_file, tmp_path):
    other = tmp_path / "other.db"
    runner.invoke(app, ["fetch", "-c", str(config_file), "--db", f"sqlite:///{other}"])
    assert other.exists()


def test_env_names_the_config(runner, config_file, monkeypatch):
    monkeypatch.setenv("AGGREGATOR_CONFIG", str(config_file))
    result = runner.invoke(app, ["sources", "list", "--json"])
    assert [s["name"] for s in json.loads(result.stdout)] == ["Good Feed", "Bad Feed"]


def test_bad_config_exits_2_with_the_line(runner, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("sources:\n  - name: A\n    url: https://a.example/\n    intervall: 1h\n")
    for command in (["sources", "check", str(path)], ["fetch", "-c", str(path)]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2
        assert f'{path}:4: sources[0] ("A").intervall: unknown key' in result.stderr


def test_sources_check_ok(runner):
    result = runner.invoke(
        app, ["sources", "check", str(Path(__file__).parents[1] / "sources.yaml")]
    )
    assert result.exit_code == 0 and "ok," in result.stdout


def test_init_writes_the_default_sources_and_the_database(runner, tmp_path):
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "sources.yaml").read_bytes() == (
        Path(__file__).parents[1] / "aggregator" / "data" / "sources.yaml"
    ).read_bytes()
    assert (tmp_path / "data" / "aggregator.db").exists()
    again = runner.invoke(app, ["init"])
    assert again.exit_code == 0 and "left as it is" in again.stderr


def test_opml_round_trip(runner, tmp_path):
    opml = tmp_path / "in.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>'
        '<outline text="Migration"><outline type="rss" text="Border &amp; Co"'
        ' xmlUrl="https://border.example/feed"/>'
        '<outline type="rss" text="Bad" xmlUrl="ftp://bad.example/feed"/></outline>'
        "</body></opml>"
    )
    target = tmp_path / "sources.yaml"
    target.write_text("# my sources\nsources:\n  - name: Kept\n    url: https://kept.example/rss\n")
    result = runner.invoke(app, ["sources", "import-opml", str(opml)])
    assert result.exit_code == 0, result.output
    assert "added 1 source(s)" in result.stdout and "Bad" in result.stderr
    assert target.read_text().startswith("# my sources")  # comments survive
    again = runner.invoke(app, ["sources", "import-opml", str(opml)])
    assert "added 0 source(s)" in again.stdout and "1 already listed" in again.stdout

    exported = runner.invoke(app, ["sources", "export-opml"])
    assert exported.exit_code == 0
    assert 'xmlUrl="https://kept.example/rss"' in exported.stdout
    assert 'text="Border &amp; Co"' in exported.stdout


def test_version(runner):
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip()


def test_verbose_logs_carry_stable_keys(runner, config_file):
    result = runner.invoke(app, ["-v", "fetch", "--json", "-c", str(config_file)])
    assert result.exit_code == 0
    failed = [line for line in result.stderr.splitlines() if "fetch failed" in line]
    assert len(failed) == 1
    assert 'source="Bad Feed"' in failed[0] and "stage=fetch" in failed[0]
    assert "error_kind=not_a_feed" in failed[0]
    json.loads(result.stdout)  # logs never reach standard output
