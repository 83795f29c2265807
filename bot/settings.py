"""Settings from the environment and an optional `.env` file (documented in `.env.example`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.paths import bundled_content_dir
from bot.problems import Problem

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class Settings(BaseSettings):
    """Every setting the bot reads. Names are the environment variables, upper-cased."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8",
                                      env_ignore_empty=True, extra="ignore")

    discord_token: SecretStr | None = None
    database_path: Path = Path("data/recovery-bot.sqlite3")
    content_dir: Path = Field(default_factory=bundled_content_dir)
    log_level: LogLevel = "INFO"
    dev_guild_id: Annotated[int, Field(gt=0)] | None = None
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None
    pseudonym_key: SecretStr | None = None
    retention_days: Annotated[int, Field(ge=1, le=3650)] = 180
    usage_flush_seconds: Annotated[float, Field(gt=0, le=3600)] = 5.0
    source_url: str | None = None
    # "off" runs crisis detection on the rules alone (no encoder needed).
    crisis_model: Literal["on", "off"] = "on"

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, v: object) -> object:
        return v.upper() if isinstance(v, str) else v

    @field_validator("crisis_model", mode="before")
    @classmethod
    def _lower(cls, v: object) -> object:
        return v.lower() if isinstance(v, str) else v

    @field_validator("discord_api_base")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https:// "
                             "(e.g. https://discord.com/api/v10)")
        return v.rstrip("/") if v else v

    @field_validator("discord_gateway_url")
    @classmethod
    def _ws_url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("ws://", "wss://")):
            raise ValueError("must start with ws:// or wss:// (e.g. wss://gateway.discord.gg/)")
        return v

    @field_validator("pseudonym_key")
    @classmethod
    def _key_length(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and len(v.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (e.g. the output of "
                             "`python -c 'import secrets; print(secrets.token_hex(32))'`)")
        return v


class SettingsError(Exception):
    """Settings are invalid; carries one Problem per bad variable."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def load_settings(env_file: str | Path | None = ".env", **overrides: object) -> Settings:
    """Read settings, or raise SettingsError naming each bad variable and its allowed values."""
    try:
        return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]).upper() if err.get("loc") else "(settings)"
            # The offending value is not repeated: it could be a token or a key.
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(Problem(f"setting {name}", msg,
                                    "correct it in your environment or .env "
                                    "(see .env.example)"))
        raise SettingsError(problems) from None


def missing_token_problem() -> Problem:
    return Problem("setting DISCORD_TOKEN", "is not set, so the bot cannot log in",
                   "copy .env.example to .env and put your bot token there, or export "
                   "DISCORD_TOKEN (Discord Developer Portal -> your app -> Bot -> Reset Token)")
