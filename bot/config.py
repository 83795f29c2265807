"""The process configuration (`Config`): from the environment and an optional `.env` file
(documented in `.env.example`). Per-server settings are `GuildSettings` in the store."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.paths import bundled_content_dir
from bot.problems import Problem

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
_DB_SCHEMES = ("sqlite://", "postgresql://", "postgres://")
_NAMED_RE = re.compile(r"^([A-Z][A-Z_]+): (.*)$", re.S)


class Config(BaseSettings):
    """Every setting the bot reads. Names are the environment variables, upper-cased."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8",
                                      env_ignore_empty=True, extra="ignore")

    discord_token: SecretStr | None = None
    database_path: Path = Path("data/recovery-bot.sqlite3")
    # Chooses the backend by scheme; contains a password, so it is a secret.
    database_url: SecretStr | None = None
    shard_count: Annotated[int, Field(ge=1, le=100_000)] | None = None
    shard_ids: Annotated[tuple[int, ...] | None, NoDecode] = None
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
    # The model's forward pass: NumPy (default) or ONNX Runtime (pip install '.[onnx]').
    crisis_model_backend: Literal["numpy", "onnx", "onnx-int8", "onnx-int8-mixed"] = "numpy"

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

    @field_validator("database_url")
    @classmethod
    def _db_scheme(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not v.get_secret_value().startswith(_DB_SCHEMES):
            raise ValueError("must start with postgresql:// (e.g. "
                             "postgresql://bot:password@db:5432/bot) or sqlite:/// (e.g. "
                             "sqlite:///data/recovery-bot.sqlite3)")
        return v

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _comma_list(cls, v: object) -> object:
        if isinstance(v, str):
            parts = [p.strip() for p in v.split(",") if p.strip()]
            if not all(p.isdigit() for p in parts):
                raise ValueError("must be shard numbers separated by commas, e.g. 0,1")
            return tuple(int(p) for p in parts) or None
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Config:
        ids, count = self.shard_ids, self.shard_count
        if ids is not None:
            if count is None:
                raise ValueError("SHARD_IDS: needs SHARD_COUNT, the total number of shards "
                                 "across all processes")
            if len(set(ids)) != len(ids) or not all(0 <= i < count for i in ids):
                raise ValueError(f"SHARD_IDS: must be distinct numbers from 0 to {count - 1} "
                                 f"(SHARD_COUNT is {count})")
        if self.database_url is not None and "database_path" in self.model_fields_set:
            raise ValueError("DATABASE_URL: is set together with DATABASE_PATH; set only one "
                             "(DATABASE_PATH is the shorthand for sqlite:///<path>)")
        if self.uses_postgres and self.pseudonym_key is None:
            raise ValueError("PSEUDONYM_KEY: must be set when DATABASE_URL is PostgreSQL, to "
                             "the same value in every bot process; it is never stored in the "
                             "database (generate one with `python -c 'import secrets; "
                             "print(secrets.token_hex(32))'`)")
        if self.runs_some_shards and not self.uses_postgres:
            raise ValueError("SHARD_IDS: runs only some of the shards, so other processes run "
                             "the rest, and they must share one database: set DATABASE_URL="
                             "postgresql://... (SQLite serves one process)")
        return self

    @property
    def database(self) -> str | Path:
        """What open_store opens: DATABASE_URL if set, else DATABASE_PATH."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return self.database_path

    @property
    def uses_postgres(self) -> bool:
        return self.database_url is not None and not self.database_url.get_secret_value() \
            .startswith("sqlite://")

    @property
    def runs_some_shards(self) -> bool:
        """True when SHARD_IDS leaves shards to other processes."""
        return (self.shard_ids is not None and self.shard_count is not None
                and set(self.shard_ids) != set(range(self.shard_count)))

    @field_validator("pseudonym_key")
    @classmethod
    def _key_length(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and len(v.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (e.g. the output of "
                             "`python -c 'import secrets; print(secrets.token_hex(32))'`)")
        return v


class ConfigError(Exception):
    """The configuration is invalid; carries one Problem per bad variable."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def load_config(env_file: str | Path | None = ".env", **overrides: object) -> Config:
    """Read the configuration, or raise ConfigError naming each bad variable and what it
    accepts."""
    try:
        return Config(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]).upper() if err.get("loc") else "(settings)"
            # The offending value is not repeated: it could be a token or a key.
            msg = err["msg"].removeprefix("Value error, ")
            named = _NAMED_RE.match(msg)
            if named and not err.get("loc"):  # a check across settings names its variable
                name, msg = named.groups()
            problems.append(Problem(f"setting {name}", msg,
                                    "correct it in your environment or .env "
                                    "(see .env.example)"))
        raise ConfigError(problems) from None


def missing_token_problem() -> Problem:
    return Problem("setting DISCORD_TOKEN", "is not set, so the bot cannot log in",
                   "copy .env.example to .env and put your bot token there, or export "
                   "DISCORD_TOKEN (Discord Developer Portal -> your app -> Bot -> Reset Token)")
