"""Problems found while loading content or configuration, phrased for the person who fixes them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a file or setting: where it is, what is wrong, how to fix it."""

    where: str
    what: str
    fix: str = ""
    severity: Severity = "error"  # "error" stops the bot; "warning" is reported only

    @property
    def is_error(self) -> bool:
        """An error stops the bot from starting; a warning is only reported."""
        return self.severity == "error"

    def __str__(self) -> str:
        tail = f" Fix: {self.fix}" if self.fix else ""
        return f"{self.severity.upper()}: {self.where}: {self.what}.{tail}"


class ContentError(Exception):
    """Raised when content cannot be loaded; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = [p for p in problems if p.is_error]
        super().__init__("\n".join(str(p) for p in self.problems) or "content error")


def has_errors(problems: Iterable[Problem]) -> bool:
    """True if any of `problems` stops the bot (a warning does not)."""
    return any(p.is_error for p in problems)


def pydantic_problems(where: str, exc: object) -> list[Problem]:
    """Translate a pydantic ValidationError into Problems naming each field.

    The offending *input value* is deliberately left out: for content files it is
    echoed by the YAML anyway, and for user input it could be message content.
    """
    problems = []
    for err in exc.errors():  # type: ignore[attr-defined]
        field = ".".join(str(p) for p in err.get("loc", ())) or "(file)"
        problems.append(Problem(f"{where}: field '{field}'", err.get("msg", "invalid value"),
                                _fix_hint(err.get("type", ""))))
    return problems


def _fix_hint(kind: str) -> str:
    return {
        "missing": "add the field (see content/README.md for the schema)",
        "extra_forbidden": "remove the field or check its spelling",
        "url_parsing": "use a full https:// address",
        "url_scheme": "use a full https:// address",
        "date_from_datetime_parsing": "write the date as YYYY-MM-DD",
        "date_parsing": "write the date as YYYY-MM-DD",
        "string_too_long": "shorten the text",
        "string_too_short": "fill in the text",
        "too_short": "add more entries",
    }.get(kind, "")
