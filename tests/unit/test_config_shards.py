"""DATABASE_URL, SHARD_COUNT and SHARD_IDS: parsing and the checks across settings."""

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config

PG = "postgresql://bot:pw-do-not-show@db:5432/bot"
KEY = "k" * 40


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in ("DATABASE_URL", "DATABASE_PATH", "SHARD_COUNT", "SHARD_IDS", "PSEUDONYM_KEY"):
        monkeypatch.delenv(name, raising=False)


def _problem(**values) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(None, **values)
    return str(info.value)


def test_database_defaults_to_the_sqlite_path():
    """Without DATABASE_URL the store is DATABASE_PATH (SQLite)."""
    s = load_config(None, database_path="x/bot.db")
    assert s.database == Path("x/bot.db") and not s.uses_postgres


def test_database_url_from_the_environment(monkeypatch):
    """DATABASE_URL selects PostgreSQL; shard ids are read as a comma list."""
    monkeypatch.setenv("DATABASE_URL", PG)
    monkeypatch.setenv("PSEUDONYM_KEY", KEY)
    monkeypatch.setenv("SHARD_COUNT", "4")
    monkeypatch.setenv("SHARD_IDS", "0, 1")
    s = load_config(None)
    assert s.database == PG and s.uses_postgres
    assert (s.shard_count, s.shard_ids, s.runs_some_shards) == (4, (0, 1), True)
    assert "pw-do-not-show" not in repr(s)


@pytest.mark.parametrize(("values", "variable", "expect"), [
    ({"database_url": "mysql://x:pw-do-not-show@h/db"}, "DATABASE_URL", "postgresql://"),
    ({"database_url": PG}, "PSEUDONYM_KEY", "same value in every bot process"),
    ({"database_url": PG, "pseudonym_key": KEY, "database_path": "a.db"}, "DATABASE_URL",
     "set only one"),
    ({"shard_ids": "0,1"}, "SHARD_IDS", "needs SHARD_COUNT"),
    ({"shard_count": 2, "shard_ids": "1,2"}, "SHARD_IDS", "from 0 to 1"),
    ({"shard_count": 2, "shard_ids": "1,1"}, "SHARD_IDS", "distinct"),
    ({"shard_count": 2, "shard_ids": "one"}, "SHARD_IDS", "separated by commas"),
    ({"shard_count": 0}, "SHARD_COUNT", "greater than or equal to 1"),
    ({"shard_count": 2, "shard_ids": "1"}, "SHARD_IDS", "DATABASE_URL=postgresql://"),
])
def test_bad_combinations_name_the_variable(values, variable, expect):
    """Each problem names its variable and the fix, never the password."""
    text = _problem(**values)
    assert f"setting {variable}:" in text and expect in text
    assert "pw-do-not-show" not in text


def test_all_shards_in_one_process_may_use_sqlite():
    """SHARD_IDS covering every shard is one process: SQLite is fine."""
    s = load_config(None, shard_count=2, shard_ids="1,0")
    assert not s.runs_some_shards
