"""sources.yaml and settings: validation with file and line, layering of env and flags."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel

from aggregator.config import Settings, load_config
from aggregator.errors import ConfigError
from aggregator.sources import Source
from aggregator.units import format_duration, parse_duration

BROKEN = """\
settings:
  timezone: Mars/Olympus
  fetch:
    concurency: 4
sources:
  - name: BBC
    url: http://feeds.bbci.co.uk/news/world/rss.xml
    interval: fast
  - name: Files
    url: file:///etc/passwd
  - name: Page without selectors
    url: https://example.org/news
    kind: page
  - name: Typo
    url: https://example.org/feed
    langauge: en
  - name: Twice
    url: http://feeds.bbci.co.uk/news/world/rss.xml
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    return caught.value.problems


def test_every_problem_is_reported_with_file_line_and_field(tmp_path):
    path = write(tmp_path, BROKEN)
    found = problems(path)
    assert f"{path}:2: settings.timezone: unknown timezone 'Mars/Olympus'" in found[0]
    assert f"{path}:4: settings.fetch.concurency: unknown key 'concurency' (a typo?)" in found
    assert any(
        p.startswith(f'{path}:8: sources[0] ("BBC").interval: invalid duration') for p in found
    )
    assert any(p.startswith(f'{path}:10: sources[1] ("Files").url:') and "http" in p for p in found)
    assert any(p.startswith(f"{path}:11: sources[2]") and "selectors" in p for p in found)
    assert f"{path}:16: sources[3] (\"Typo\").langauge: unknown key 'langauge' (a typo?)" in found


def test_duplicate_url_is_reported_with_its_line(tmp_path):
    text = BROKEN.split("settings:")[0] + "sources:\n" + BROKEN.split("sources:\n")[1]
    text = text.replace("interval: fast", "interval: 30m").replace(
        "file:///etc/passwd", "https://a.example/f"
    )
    text = text.replace("    kind: page\n", "").replace("    langauge: en\n", "")
    found = problems(write(tmp_path, text))
    line = text.splitlines().index("    url: http://feeds.bbci.co.uk/news/world/rss.xml", 6) + 1
    assert found == [
        f"{tmp_path / 'sources.yaml'}:{line}: sources[4].url: duplicate of sources[0]"
        " (http://feeds.bbci.co.uk/news/world/rss.xml); a URL may appear once"
    ]


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = write(tmp_path, "sources:\n  - name: A\n    url: [unclosed\n")
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:4:") or problem.startswith(f"{path}:3:")


def test_duplicate_key_is_an_error(tmp_path):
    path = write(tmp_path, "sources:\n  - name: A\n    name: B\n    url: https://a.example/\n")
    (problem,) = problems(path)
    assert f"{path}:3" in problem and "duplicate" in problem


def test_missing_file_is_a_config_error(tmp_path):
    assert "file not found" in problems(tmp_path / "nope.yaml")[0]


def test_defaults_file_env_and_flags_layer_in_that_order(tmp_path):
    path = write(
        tmp_path,
        "settings:\n  database_url: sqlite:///file.db\n  fetch:\n"
        "    concurrency: 4\n    per_host: 3\nsources: []\n",
    )
    env = {
        "AGGREGATOR_FETCH__CONCURRENCY": "8",
        "AGGREGATOR_DATABASE_URL": "sqlite:///env.db",
        "AGGREGATOR_FETCH__ALLOW_HOSTS": "intranet.local, feeds.local",
    }
    config = load_config(path, env=env, overrides={"database_url": "sqlite:///flag.db"})
    fetch = config.settings.fetch
    assert (fetch.concurrency, fetch.per_host) == (8, 3)
    assert fetch.allow_hosts == ("intranet.local", "feeds.local")
    assert config.settings.database_url == "sqlite:///flag.db"
    assert fetch.deadline == timedelta(seconds=30)  # a default nobody overrode


def test_bad_env_value_is_reported(tmp_path):
    path = write(tmp_path, "sources: []\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={"AGGREGATOR_FETCH__CONCURRENCY": "lots"})
    assert "settings.fetch.concurrency" in caught.value.problems[0]


def test_user_agent_carries_the_contact():
    assert "+mailto:press@example.org" in Settings(contact="mailto:press@example.org").agent
    assert Settings(user_agent="Custom/1").agent == "Custom/1"


def test_missing_contact_is_a_warning_not_an_error(tmp_path):
    config = load_config(write(tmp_path, "sources: []\n"), env={})
    assert any("contact" in w for w in config.warnings)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("1h30m", 5400), ("2d", 172800), ("45", 45), (90, 90), ("1.5h", 5400)],
)
def test_durations(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["fast", "", "-5", "30x", True])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_format_duration_round_trips():
    for text in ("30m", "2h", "1d", "90s"):
        assert format_duration(parse_duration(text)) in (text, "1m30s", "90s")


def test_shipped_sources_file_is_valid_and_names_outlets():
    for path in (Path("sources.yaml"), Path("aggregator/data/sources.yaml")):
        config = load_config(path, env={})
        names = {s.name for s in config.sources}
        assert {"The Guardian", "The New Humanitarian", "InfoMigrants", "IOM"} <= names
        assert sum(s.enabled for s in config.sources) >= 20
    assert Path("sources.yaml").read_bytes() == Path("aggregator/data/sources.yaml").read_bytes()


def test_every_setting_is_documented():
    doc = Path("docs/configuration.md").read_text(encoding="utf-8")
    for name, field in Settings.model_fields.items():
        group = field.annotation
        if isinstance(group, type) and issubclass(group, BaseModel):
            for sub in group.model_fields:
                assert f"`{name}.{sub}`" in doc, f"{name}.{sub}"
        else:
            assert f"`{name}`" in doc, name


def test_every_source_key_is_documented():
    doc = Path("docs/configuration.md").read_text(encoding="utf-8")
    for name in Source.model_fields:
        assert f"| `{name}` |" in doc, name
