"""A Discord-free description of an embed, so content can be checked against Discord's limits."""

from __future__ import annotations

from dataclasses import dataclass, field

# Discord's documented embed limits.
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
FIELDS_MAX = 25
TOTAL_MAX = 6000


@dataclass(slots=True)
class EmbedSpec:
    """Title, description, (name, value) fields and footer of one embed."""

    title: str
    description: str = ""
    fields: list[tuple[str, str]] = field(default_factory=list)
    footer: str = ""

    def total_length(self) -> int:
        return (len(self.title) + len(self.description) + len(self.footer)
                + sum(len(n) + len(v) for n, v in self.fields))

    def limit_problems(self) -> list[str]:
        """Each way this embed breaks Discord's limits, as a readable phrase."""
        out = []
        if len(self.title) > TITLE_MAX:
            out.append(f"title is {len(self.title)} characters (Discord allows {TITLE_MAX})")
        if len(self.description) > DESCRIPTION_MAX:
            out.append(f"description is {len(self.description)} characters "
                       f"(Discord allows {DESCRIPTION_MAX})")
        if len(self.fields) > FIELDS_MAX:
            out.append(f"{len(self.fields)} fields (Discord allows {FIELDS_MAX})")
        for name, value in self.fields:
            if len(name) > FIELD_NAME_MAX:
                out.append(f"field name '{name[:40]}' is too long")
            if len(value) > FIELD_VALUE_MAX:
                out.append(f"field '{name}' is {len(value)} characters "
                           f"(Discord allows {FIELD_VALUE_MAX})")
        if len(self.footer) > FOOTER_MAX:
            out.append(f"footer is {len(self.footer)} characters (Discord allows {FOOTER_MAX})")
        if self.total_length() > TOTAL_MAX:
            out.append(f"whole embed is {self.total_length()} characters "
                       f"(Discord allows {TOTAL_MAX})")
        return out
