"""The bot's runtime state around the store: the settings cache and the usage recorder."""

from __future__ import annotations

from bot.settings import Settings
from bot.store import SettingsCache, Store, UsageRecorder


def make_runtime(store: Store, settings: Settings) -> tuple[SettingsCache, UsageRecorder]:
    """The bot's write-through settings cache and usage recorder."""
    usage = UsageRecorder(store, flush_interval=settings.usage_flush_seconds,
                          retention_days=settings.retention_days)
    return SettingsCache(store), usage


__all__ = ["make_runtime"]
