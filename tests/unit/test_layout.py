"""The shape of the code: cogs stand alone and the core never imports discord."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[2] / "bot"
COGS = sorted(p for p in (BOT / "cogs").glob("*.py") if p.name != "__init__.py")
# Modules that must run without discord.py: content, crisis detection, routing, store.
CORE = sorted([*BOT.glob("content/*.py"), *BOT.glob("crisis/*.py"), *BOT.glob("store/*.py"),
               BOT / "delivery.py", BOT / "problems.py", BOT / "stats.py"])


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("cog", COGS, ids=lambda p: p.name)
def test_no_cog_imports_another_cog(cog: Path) -> None:
    assert cog.name and len(COGS) >= 6
    others = {n for n in imported(cog) if n.startswith("bot.cogs.")}
    assert not others, f"{cog.name} imports {others}; shared pieces belong in bot/ui.py"


@pytest.mark.parametrize("module", CORE, ids=lambda p: str(p.relative_to(BOT)))
def test_the_core_never_imports_discord(module: Path) -> None:
    names = imported(module)
    assert not {n for n in names if n == "discord" or n.startswith(("discord.", "bot.cogs",
                                                                     "bot.ui", "bot.bot"))}
