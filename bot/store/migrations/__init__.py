"""Numbered schema migrations, one package per backend (``sqlite/``, ``postgresql/``).

Each backend's package holds its ``NNNN_name.sql`` files and the code that applies them.
Both backends carry the same numbers for the same change, so a schema version means the
same tables everywhere. Never edit a released migration: add the next number instead.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources

from bot.store.base import StoreError

_MIGRATION_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


@functools.cache
def load_migrations(backend: str) -> tuple[Migration, ...]:
    """The migrations of `backend` ("sqlite" or "postgresql") in order; versions run 1, 2..."""
    folder = resources.files(f"bot.store.migrations.{backend}")
    found = []
    for entry in folder.iterdir():
        m = _MIGRATION_RE.match(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    for i, m in enumerate(found, start=1):
        if m.version != i:
            raise StoreError(f"bot/store/migrations/{backend}/{m.name}: expected migration "
                             f"number {i:04d}. Fix: number migrations 0001, 0002, ... "
                             "without gaps")
    return tuple(found)
