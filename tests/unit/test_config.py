"""The process configuration: defaults, and validation messages naming the variable."""

import pytest

from bot.config import ConfigError, load_config
from bot.paths import bundled_content_dir


def test_defaults_point_at_bundled_content(monkeypatch):
    """With nothing set, content is the bundled folder and the token is absent."""
    for name in ("DISCORD_TOKEN", "CONTENT_DIR", "LOG_LEVEL", "DATABASE_PATH"):
        monkeypatch.delenv(name, raising=False)
    s = load_config(None)
    assert s.content_dir == bundled_content_dir()
    assert (s.content_dir / "topics").is_dir()
    assert s.discord_token is None
    assert s.retention_days == 180


@pytest.mark.parametrize(("var", "value", "expect"), [
    ("LOG_LEVEL", "loud", "DEBUG"),
    ("RETENTION_DAYS", "0", "greater than or equal to 1"),
    ("DEV_GUILD_ID", "abc", "integer"),
    ("DISCORD_API_BASE", "ftp://x", "http://"),
    ("DISCORD_GATEWAY_URL", "http://x", "ws://"),
    ("PSEUDONYM_KEY", "tiny-secret-value", "32 characters"),
])
def test_invalid_values_name_the_variable_and_allowed_values(monkeypatch, var, value, expect):
    """Each invalid value yields a problem naming the variable and what is allowed."""
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as info:
        load_config(None)
    text = str(info.value)
    assert f"setting {var}" in text
    assert expect in text
    # The bad value itself is never echoed: it may be a token or a key.
    assert value not in text


def test_env_file_is_read(tmp_path, monkeypatch):
    """A .env file supplies values; empty values fall back to defaults."""
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    monkeypatch.delenv("DEV_GUILD_ID", raising=False)
    env = tmp_path / ".env"
    env.write_text("LOG_LEVEL=warning\nDEV_GUILD_ID=\n")
    s = load_config(env)
    assert s.log_level == "WARNING"
    assert s.dev_guild_id is None
