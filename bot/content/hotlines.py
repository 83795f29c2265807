"""Crisis lines by country: the schema of `content/hotlines.yaml`, loading, lookup and search.

Every line carries the page it was checked on and the date of that check, because these
services change (the 988 "press 3" LGBTQ+ option ended in July 2025).
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    field_validator,
    model_validator,
)
from rapidfuzz import fuzz

from bot.content.topics import clean_query
from bot.content.yamlfile import load_yaml, validate_mapping
from bot.problems import ContentError, Problem, has_errors

FALLBACK_CODE = "INTL"
STALE_AFTER_DAYS = 365
# Discord limits for the "Lines for another country" picker: options per select menu and
# select menus (action rows) per message. The loader refuses a file with more countries.
SELECT_OPTIONS = 25
PICKER_GROUPS = 5
MAX_COUNTRIES = SELECT_OPTIONS * PICKER_GROUPS



class Audience(StrEnum):
    """Who a line is for, and so in which replies it may appear (see `bot.content.replies`)."""

    CRISIS = "crisis"                  # anyone in crisis: suicide, self-harm, distress
    YOUTH = "youth"                    # a crisis line for young people
    LGBTQ_YOUTH = "lgbtq_youth"
    VETERANS = "veterans"
    POISON = "poison"                  # a poison centre: what to do after taking too much
    DRUGS = "drugs"                    # drug and alcohol information and support
    TREATMENT_REFERRAL = "treatment_referral"  # finds treatment; no counselling
    USE_ALONE = "use_alone"            # stays on the line while someone uses alone


# Lines for a group of people in crisis (shown after the general crisis line).
GROUP_CRISIS = frozenset({Audience.YOUTH, Audience.LGBTQ_YOUTH, Audience.VETERANS})
# Lines about substance use rather than crisis.
SUBSTANCE = frozenset({Audience.POISON, Audience.DRUGS, Audience.TREATMENT_REFERRAL,
                       Audience.USE_ALONE})

Text = Annotated[str, Field(min_length=1, max_length=300)]

# Wording that must never reach a member: the 988 LGBTQ+ youth option ended on 17 July 2025.
_BANNED = re.compile(r"press\s*3|option\s*3", re.IGNORECASE)
_CODE = re.compile(r"^(?:[A-Z]{2}|INTL)$")


class Line(BaseModel):
    """One crisis or support line: how to reach it, when, for whom, and where it was checked."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Text
    call: Text | None = None
    text: Text | None = None
    chat_url: HttpUrl | None = None
    hours: Text
    languages: Annotated[list[Text], Field(min_length=1)]
    audience: Annotated[list[Audience], Field(min_length=1)]
    source_url: HttpUrl
    verified_on: dt.date
    note: str = ""

    @model_validator(mode="after")
    def _reachable(self) -> Line:
        if not (self.call or self.text or self.chat_url):
            raise ValueError("a line needs at least one of call, text or chat_url")
        if self.chat_url is not None and self.chat_url.scheme != "https":
            raise ValueError("chat_url must be an https:// address")
        return self

    @property
    def drug_related(self) -> bool:
        """A line about substance use (poison centre, drug helpline, referral, use-alone)."""
        return any(a in SUBSTANCE for a in self.audience)

    @property
    def general(self) -> bool:
        """A crisis line for anyone."""
        return Audience.CRISIS in self.audience

    def serves(self, audiences: frozenset[Audience] | set[Audience]) -> bool:
        return any(a in audiences for a in self.audience)

    def contact(self) -> str:
        """How to reach the line, on one line: 'Call 988 · Text 988 · Online: https://...'."""
        parts = []
        if self.call:
            parts.append(f"Call {self.call}")
        if self.text:
            parts.append(self.text)
        if self.chat_url:
            parts.append(f"Online: {self.chat_url}")
        return " · ".join(parts)


class Country(BaseModel):
    """A country's emergency numbers and crisis lines. `code` is ISO 3166-1 alpha-2 or INTL."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str
    name: Text
    emergency: Annotated[list[Annotated[str, Field(pattern=r"^[0-9]{2,6}$")]],
                         Field(min_length=1)]
    lines: Annotated[list[Line], Field(min_length=1)]
    source_url: HttpUrl
    verified_on: dt.date
    emergency_note: str = ""
    aliases: list[Text] = []

    @field_validator("code")
    @classmethod
    def _code_format(cls, v: str) -> str:
        v = v.strip().upper()
        if not _CODE.match(v):
            raise ValueError("must be a two-letter ISO 3166-1 code (e.g. GB) or INTL")
        return v

    @field_validator("aliases")
    @classmethod
    def _aliases_clean(cls, v: list[str]) -> list[str]:
        return [clean_query(a) for a in v]

    @property
    def is_fallback(self) -> bool:
        return self.code == FALLBACK_CODE

    @property
    def primary_emergency(self) -> str:
        return self.emergency[0]

    def search_keys(self) -> list[str]:
        return [self.code.casefold(), clean_query(self.name), *self.aliases]


class HotlineDirectory:
    """All countries, the international fallback, and Discord-locale hints."""

    def __init__(self, countries: list[Country], locales: dict[str, str | None]):
        self._countries = sorted((c for c in countries if not c.is_fallback),
                                 key=lambda c: c.name.casefold())
        fallbacks = [c for c in countries if c.is_fallback]
        if not fallbacks:
            raise ValueError(f"the directory needs a {FALLBACK_CODE} entry")
        self.fallback: Country = fallbacks[0]
        self._locales = {k.casefold(): v for k, v in locales.items()}
        self._by_key: dict[str, Country] = {}
        for c in [*self._countries, self.fallback]:
            for key in c.search_keys():
                self._by_key.setdefault(key, c)

    def __len__(self) -> int:
        return len(self._countries) + 1

    def countries(self) -> list[Country]:
        """Every country, alphabetical, with the international entry last."""
        return [*self._countries, self.fallback]

    def picker_groups(self) -> list[list[Country]]:
        """Every country in alphabetical groups that each fit one Discord select menu.

        A select holds at most SELECT_OPTIONS options and a message at most PICKER_GROUPS
        rows, so groups are as even as possible and together hold every country.
        """
        everything = self.countries()
        count = -(-len(everything) // SELECT_OPTIONS)
        size = -(-len(everything) // count)
        return [everything[i:i + size] for i in range(0, len(everything), size)]

    def codes(self) -> list[str]:
        """Every code, alphabetical, with INTL last."""
        return [*sorted(c.code for c in self._countries), self.fallback.code]

    def get(self, code: str | None) -> Country | None:
        """The country whose ISO code, name or alias is exactly `code` (case-insensitive)."""
        if not code:
            return None
        return self._by_key.get(clean_query(code))

    def resolve(self, code: str | None) -> Country:
        """`get(code)`, or the international fallback when the code is unknown or empty."""
        return self.get(code) or self.fallback

    def for_member(self, *, in_server: bool, region: str | None = None,
                   locale: str | None = None, dm_choice: str | None = None) -> Country:
        """The country whose lines a person should see.

        In a server: the configured region, else the server's preferred locale, else the
        international fallback. In DMs: the member's own choice, else the fallback.
        """
        if in_server:
            return self.resolve(region or self.country_for_locale(locale))
        return self.resolve(dm_choice)

    def country_for_locale(self, locale: str | None) -> str | None:
        """The ISO code a Discord locale points to ('en-US' -> 'US'), or None if ambiguous."""
        if not locale:
            return None
        return self._locales.get(str(locale).strip().casefold())

    def search(self, query: str, limit: int = 25, cutoff: float = 75.0) -> list[Country]:
        """Countries ranked for autocomplete: codes, names and aliases, typo-tolerant."""
        q = clean_query(query)
        everything = self.countries()
        if not q:
            return everything[:limit]
        scored = []
        for c in everything:
            score = max(_score(q, key) for key in c.search_keys())
            if score >= cutoff:
                scored.append((score, c))
        scored.sort(key=lambda sc: (-sc[0], sc[1].is_fallback, sc[1].name))
        return [c for _, c in scored[:limit]]


def _score(query: str, key: str) -> float:
    if query == key:
        return 200.0
    if key.startswith(query):
        return 150.0 + len(query)
    if len(query) >= 3 and any(word.startswith(query) for word in key.split()[1:]):
        return 120.0 + len(query)  # "zealand", "kingdom", "africa"
    # Two- and three-letter codes match far too much by fuzzy ratio ("de" vs "dk"), so
    # fuzziness only applies to words long enough to carry a typo. Plain ratio, not
    # partial_ratio: "england" must not pull in "new zealand" or "deutschland".
    if len(query) < 4 or len(key) < 4:
        return 0.0
    return float(fuzz.ratio(query, key))


def load_hotlines(path: Path,
                  today: dt.date | None = None) -> tuple[HotlineDirectory, list[Problem]]:
    """Load and check `hotlines.yaml`; return the directory and every problem found.

    Errors: unreadable YAML, schema violations, duplicate codes or names, locales that
    point at unknown codes, a missing INTL entry, dates in the future, the retired 988
    "press 3" option. Warnings: checks older than a year. When there are errors the
    returned directory holds whatever loaded (at minimum a placeholder fallback) and must
    not be used to answer members; `load_directory` raises instead.
    """
    today = today or dt.date.today()
    problems: list[Problem] = []
    where = str(path)
    data, errs = load_yaml(path)
    problems += errs
    countries: list[Country] = []
    locales: dict[str, str | None] = {}
    declared: set[str] = set()
    if not errs:
        if not isinstance(data, dict):
            problems.append(Problem(where, "must be a mapping with 'countries' and 'locales'",
                                    "see the schema at the top of content/hotlines.yaml"))
        else:
            countries = _load_countries(where, data.get("countries"), today, problems)
            # Codes of entries that failed validation still count, so one bad line does
            # not also produce a locale error for its country.
            declared = {str(item["code"]).strip().upper()
                        for item in data.get("countries") or []
                        if isinstance(item, dict) and item.get("code")}
            locales = _load_locales(where, data.get("locales"), declared, problems)
            extra = sorted(set(data) - {"countries", "locales"})
            for key in extra:
                problems.append(Problem(f"{where}: field '{key}'", "is not a known section",
                                        "remove it or check its spelling"))
    if len(countries) > MAX_COUNTRIES:
        problems.append(Problem(f"{where}: field 'countries'",
                                f"has {len(countries)} entries; the country picker shows at "
                                f"most {MAX_COUNTRIES}",
                                "merge entries, or change the picker in bot/ui.py"))
    if not any(c.is_fallback for c in countries):
        if not errs and isinstance(data, dict) and FALLBACK_CODE not in declared:
            problems.append(Problem(f"{where}: field 'countries'",
                                    f"has no {FALLBACK_CODE} (international) entry",
                                    "add an entry with code INTL: a helpline directory and "
                                    "'112 or your local emergency number'"))
        countries.append(_PLACEHOLDER_FALLBACK)
    return HotlineDirectory(countries, locales), problems


def _load_countries(where: str, raw: object, today: dt.date,
                    problems: list[Problem]) -> list[Country]:
    if not isinstance(raw, list) or not raw:
        problems.append(Problem(f"{where}: field 'countries'", "must be a non-empty list",
                                "list each country as '- code: GB' with its fields"))
        return []
    out: list[Country] = []
    owners: dict[str, tuple[str, bool]] = {}  # search key -> (entry label, key is a code)
    code_owners: dict[str, str] = {}
    for i, item in enumerate(raw):
        label = f"countries[{i}]"
        if isinstance(item, dict) and item.get("code"):
            label += f" ({item['code']})"
        here = f"{where}: {label}"
        if not isinstance(item, dict):
            problems += validate_mapping(here, item, Country, "code, name, ...")[1]
            continue
        # Duplicate codes are checked on the raw value so they are caught even when
        # one of the two entries has other errors.
        raw_code = str(item.get("code") or "").strip().upper()
        if raw_code in code_owners:
            problems.append(Problem(f"{here}: field 'code'",
                                    f"'{raw_code}' is already used by {code_owners[raw_code]}",
                                    "give each country its own code"))
        elif raw_code:
            code_owners[raw_code] = label
        country, errs = validate_mapping(here, item, Country, "code, name, ...")
        problems += errs
        if country is None:
            continue
        problems += _check_country(here, country, today)
        for n, key in enumerate(country.search_keys()):
            is_code = n == 0
            if key in owners and owners[key][0] != label:
                if is_code and owners[key][1]:
                    continue  # a duplicate code, already reported above
                field = "code" if is_code else "name/aliases"
                problems.append(Problem(f"{here}: field '{field}'",
                                        f"'{key}' is already used by {owners[key][0]}",
                                        "give each country its own code, name and aliases"))
            owners.setdefault(key, (label, is_code))
        out.append(country)
    return out


def _check_country(here: str, country: Country, today: dt.date) -> list[Problem]:
    out = []
    dated = [("verified_on", country.verified_on)] + [
        (f"lines.{j}.verified_on", line.verified_on) for j, line in enumerate(country.lines)]
    for field, when in dated:
        if when > today:
            out.append(Problem(f"{here}: field '{field}'", f"{when.isoformat()} is in the future",
                               "use the date you actually checked the source"))
        elif (today - when).days > STALE_AFTER_DAYS:
            out.append(Problem(f"{here}: field '{field}'",
                               f"was last checked on {when.isoformat()}, over a year ago",
                               "re-check the number on its source page and update verified_on",
                               severity="warning"))
    urls = [("source_url", country.source_url)] + [
        (f"lines.{j}.{f}", getattr(line, f)) for j, line in enumerate(country.lines)
        for f in ("source_url", "chat_url")]
    for field, url in urls:
        if url is not None and url.scheme != "https":
            out.append(Problem(f"{here}: field '{field}'", f"{url} is not https",
                               "use the https:// address of the page", severity="warning"))
    texts = [("name", country.name), ("emergency_note", country.emergency_note)]
    for j, line in enumerate(country.lines):
        texts += [(f"lines.{j}.{f}", getattr(line, f) or "")
                  for f in ("name", "call", "text", "hours", "note")]
    for field, value in texts:
        if _BANNED.search(value):
            out.append(Problem(f"{here}: field '{field}'",
                               "mentions a 'press 3' menu option; the 988 LGBTQ+ youth option "
                               "ended on 17 July 2025",
                               "remove the option; point LGBTQ+ young people to another line"))
    return out


def _load_locales(where: str, raw: object, known: set[str],
                  problems: list[Problem]) -> dict[str, str | None]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(Problem(f"{where}: field 'locales'",
                                "must map Discord locale codes to country codes or null",
                                "write lines like 'en-GB: GB' or 'es-419: null'"))
        return {}
    out: dict[str, str | None] = {}
    for locale, code in raw.items():
        here = f"{where}: field 'locales.{locale}'"
        if not isinstance(locale, str):
            problems.append(Problem(here, "the locale must be text such as 'en-US'",
                                    "quote the key, e.g. \"no\": null"))
            continue
        if code is None:
            out[locale] = None
            continue
        code_s = str(code).strip().upper()
        if code_s not in known or code_s == FALLBACK_CODE:
            problems.append(Problem(here, f"points to '{code}', which is not a country in the file",
                                    "use the two-letter code of a listed country, or null"))
            continue
        out[locale] = code_s
    return out


# Stands in when the file has no INTL entry so callers still get a Country; an error
# Problem is always reported alongside it, so it never ships.
_PLACEHOLDER_FALLBACK = Country.model_validate(dict(
    code=FALLBACK_CODE, name="International", emergency=["112"],
    emergency_note="Use your local emergency number.",
    source_url="https://findahelpline.com/", verified_on=dt.date(2026, 11, 21),
    lines=[dict(name="Find A Helpline", chat_url="https://findahelpline.com/", hours="varies",
                languages=["many"], audience=["crisis"],
                source_url="https://findahelpline.com/", verified_on=dt.date(2026, 11, 21))],
))


def load_directory(path: Path) -> HotlineDirectory:
    """Load the directory or raise `ContentError` listing every error."""
    directory, problems = load_hotlines(path)
    if has_errors(problems):
        raise ContentError(problems)
    return directory
