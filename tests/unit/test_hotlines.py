"""The crisis-line directory: bundled content, lookup, locale hints, search and error reports."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from bot.content.hotlines import (
    FALLBACK_CODE,
    HotlineDirectory,
    load_directory,
    load_hotlines,
)
from bot.paths import bundled_content_dir
from bot.problems import ContentError

HOTLINES = bundled_content_dir() / "hotlines.yaml"
CHECKED = dt.date(2026, 12, 1)  # the latest verified_on in the file
REQUIRED = {"US", "CA", "GB", "IE", "AU", "NZ"}


@pytest.fixture(scope="module")
def loaded() -> tuple[HotlineDirectory, list]:
    return load_hotlines(HOTLINES, today=CHECKED)


@pytest.fixture(scope="module")
def directory(loaded) -> HotlineDirectory:
    return loaded[0]


def _minimal() -> dict:
    line = {"name": "Example Line", "call": "123", "hours": "24/7", "languages": ["English"],
            "audience": ["crisis"], "source_url": "https://example.org/line",
            "verified_on": "2026-11-21"}
    def country(code: str, name: str) -> dict:
        return {"code": code, "name": name, "emergency": ["112"], "lines": [dict(line)],
                "source_url": "https://example.org/emergency", "verified_on": "2026-11-21"}
    return {"locales": {"en-GB": "GB"},
            "countries": [country("GB", "United Kingdom"), country("INTL", "International")]}


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "hotlines.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _errors(problems) -> list:
    return [p for p in problems if p.severity == "error"]


def test_bundled_directory_has_no_errors(loaded):
    """The shipped hotlines.yaml loads with no error problems on the day it was checked."""
    _, problems = loaded
    assert _errors(problems) == []


def test_bundled_directory_loads_for_the_bot():
    """load_directory (which raises on errors) accepts the shipped file."""
    assert load_directory(HOTLINES).fallback.code == FALLBACK_CODE


def test_required_and_five_more_countries(directory):
    """US, CA, GB, IE, AU, NZ are present plus at least five other countries."""
    codes = set(directory.codes()) - {FALLBACK_CODE}
    assert codes >= REQUIRED
    assert len(codes - REQUIRED) >= 5


def test_international_fallback(directory):
    """The INTL entry exists, points to a directory and mentions 112 / local numbers."""
    fb = directory.fallback
    assert fb.code == "INTL"
    assert "112" in fb.emergency
    assert "local emergency number" in fb.emergency_note
    assert any(line.chat_url and "findahelpline.com" in str(line.chat_url) for line in fb.lines)


def test_no_press_3_anywhere():
    """The retired 988 LGBTQ+ 'press 3' option appears nowhere in the file's data."""
    data = yaml.safe_load(HOTLINES.read_text(encoding="utf-8"))
    assert not re.search(r"press\s*3", repr(data), re.IGNORECASE)


def test_every_line_is_reachable_and_sourced(directory):
    """Each line has a call number, text instruction or chat URL, plus a source and date."""
    for country in directory.countries():
        for line in country.lines:
            assert line.call or line.text or line.chat_url, f"{country.code}: {line.name}"
            assert line.source_url and line.verified_on <= CHECKED


def test_every_line_says_official_or_secondary(directory):
    """Each line's note records whether its source page was official or secondary."""
    for country in directory.countries():
        for line in country.lines:
            assert re.search(r"official|secondary", line.note, re.IGNORECASE), line.name


def test_substance_lines_present(directory):
    """SAMHSA (referral, not counselling) is listed for the US as a drug-related line."""
    samhsa = [ln for ln in directory.get("US").lines if ln.name.startswith("SAMHSA")]
    assert samhsa and samhsa[0].drug_related
    assert "does not provide counselling" in samhsa[0].note


@pytest.mark.parametrize(("locale", "code"), [
    ("en-US", "US"), ("en-GB", "GB"), ("es-ES", "ES"), ("pt-BR", "BR"), ("de", "DE"),
    ("fr", "FR"), ("nl", "NL"), ("ja", "JP"), ("hi", "IN"), ("EN-us", "US"),
])
def test_locale_maps_to_country(directory, locale, code):
    """Discord locales that identify one country map to it (case-insensitive)."""
    assert directory.country_for_locale(locale) == code


@pytest.mark.parametrize("locale", ["es-419", "zh-CN", "uk", "no", "xx-YY", "", None])
def test_ambiguous_or_unknown_locale_gives_none(directory, locale):
    """Ambiguous, uncovered or unknown locales map to None so the fallback applies."""
    assert directory.country_for_locale(locale) is None


def test_every_discord_locale_is_listed(directory):
    """The YAML mentions every discord.Locale, so new ones are a conscious decision."""
    from discord import Locale  # tests may use discord; the pure core may not

    data = yaml.safe_load(HOTLINES.read_text(encoding="utf-8"))
    assert {str(loc) for loc in Locale} <= set(data["locales"])


@pytest.mark.parametrize(("in_server", "region", "locale", "dm_choice", "code"), [
    (True, "GB", "en-US", "US", "GB"),  # the configured region wins
    (True, "nowhere", "en-US", None, "INTL"),  # an unknown region is not second-guessed
    (True, None, "en-US", "GB", "US"),  # else the server's language setting
    (True, None, "en-GB", None, "GB"),
    (True, None, None, "GB", "INTL"),  # a member's DM choice is not used in servers
    (False, "GB", "en-GB", "US", "US"),  # in DMs, the member's own choice
    (False, None, None, None, "INTL"),
])
def test_the_country_a_member_sees(directory, in_server, region, locale, dm_choice, code):
    country = directory.for_member(in_server=in_server, region=region, locale=locale,
                                   dm_choice=dm_choice)
    assert country.code == code


@pytest.mark.parametrize(("query", "code"), [
    ("usa", "US"), ("united states", "US"), ("uk", "GB"), ("england", "GB"), ("irl", "IE"),
    ("germny", "DE"), ("nz", "NZ"), ("aus", "AU"), ("zealand", "NZ"), ("brasil", "BR"),
])
def test_search_finds_country_first(directory, query, code):
    """Autocomplete puts the intended country first for codes, names, aliases and typos."""
    assert directory.search(query)[0].code == code


def test_search_does_not_overmatch(directory):
    """A clear query does not drag in unrelated countries ('england' is only GB)."""
    assert [c.code for c in directory.search("england")] == ["GB"]


def test_search_empty_lists_everything_fallback_last(directory):
    """An empty query lists every country alphabetically, INTL last, within the limit."""
    everything = directory.search("")
    assert everything[-1].code == FALLBACK_CODE
    assert len(everything) == len(directory)
    assert len(directory.search("", limit=3)) == 3


def test_get_and_resolve(directory):
    """get accepts codes and names case-insensitively; resolve falls back to INTL."""
    assert directory.get("gb").code == "GB"
    assert directory.get("united kingdom").code == "GB"
    assert directory.get("ZZ") is None and directory.get(None) is None
    assert directory.resolve("ZZ").code == FALLBACK_CODE
    assert directory.resolve(None).code == FALLBACK_CODE


def test_minimal_fixture_is_clean(tmp_path):
    """The minimal fixture used below is itself valid (so the next failures are real)."""
    _, problems = load_hotlines(_write(tmp_path, _minimal()), today=CHECKED)
    assert problems == []


def test_missing_field_names_file_and_field(tmp_path):
    """A line without 'hours' is an error naming the file, the country and the field."""
    data = _minimal()
    del data["countries"][0]["lines"][0]["hours"]
    path = _write(tmp_path, data)
    errors = _errors(load_hotlines(path, today=CHECKED)[1])
    assert len(errors) == 1
    assert str(path) in errors[0].where and "(GB)" in errors[0].where
    assert "lines.0.hours" in errors[0].where and errors[0].fix



LINE = ("countries", 0, "lines", 0)
COUNTRY = ("countries", 0)


@pytest.mark.parametrize(("path", "value", "where", "what", "fix"), [
    pytest.param((*LINE, "source_url"), "samaritans dot org", "lines.0.source_url", "",
                 "https://", id="source-url-not-a-url"),
    pytest.param((*LINE, "chat_url"), "http://example.org/chat", "lines.0", "", "",
                 id="chat-link-members-click-must-be-https"),
    pytest.param((*COUNTRY, "verified_on"), "2026-13-45", "verified_on", "", "YYYY-MM-DD",
                 id="impossible-date"),
    pytest.param((*LINE, "verified_on"), "2027-01-01", "lines.0.verified_on", "", "",
                 id="checked-after-today"),
    pytest.param((*LINE, "call"), None, "", "call, text or chat_url", "",
                 id="no-call-text-or-chat"),
    pytest.param((*LINE, "call"), "988, then press 3", "", "press 3", "", id="press-3"),
    pytest.param((*LINE, "audience"), ["evryone"], "audience", "", "",
                 id="audience-not-in-the-fixed-list"),
])
def test_one_bad_value_is_one_error_naming_its_field(tmp_path, path, value, where, what, fix):
    """Each bad value is exactly one error that names the field (and says how to fix it,
    where a fix is known)."""
    data = _minimal()
    target = data
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    errors = _errors(load_hotlines(_write(tmp_path, data), today=CHECKED)[1])
    assert len(errors) == 1, errors
    assert where in errors[0].where and what in errors[0].what and fix in errors[0].fix





def test_duplicate_code_is_reported(tmp_path):
    """Two entries with the same code give an error on field 'code'."""
    data = _minimal()
    twin = dict(data["countries"][0], name="Britain again")
    data["countries"].append(twin)
    errors = _errors(load_hotlines(_write(tmp_path, data), today=CHECKED)[1])
    assert len(errors) == 1 and "field 'code'" in errors[0].where






def test_stale_check_is_warning(tmp_path):
    """A check more than 365 days old is a warning, not an error."""
    _, problems = load_hotlines(_write(tmp_path, _minimal()),
                                today=CHECKED + dt.timedelta(days=366))
    assert problems and all(p.severity == "warning" for p in problems)
    assert any("over a year ago" in p.what for p in problems)








def test_locale_to_unknown_country_is_error(tmp_path):
    """A locale pointing at a country that is not in the file is an error."""
    data = _minimal()
    data["locales"]["fr"] = "FR"
    errors = _errors(load_hotlines(_write(tmp_path, data), today=CHECKED)[1])
    assert len(errors) == 1 and "locales.fr" in errors[0].where


def test_missing_fallback_is_error_but_still_resolves(tmp_path):
    """Without INTL the loader reports an error yet resolve() still returns something."""
    data = _minimal()
    data["countries"] = data["countries"][:1]
    path = _write(tmp_path, data)
    directory, problems = load_hotlines(path, today=CHECKED)
    assert any("INTL" in p.what for p in _errors(problems))
    assert directory.resolve("ZZ").code == FALLBACK_CODE
    with pytest.raises(ContentError):
        load_directory(path)


def test_invalid_yaml_names_line(tmp_path):
    """Broken YAML is reported with the file and line number."""
    path = tmp_path / "hotlines.yaml"
    path.write_text("countries:\n  - code: GB\n   name: x\n", encoding="utf-8")
    errors = _errors(load_hotlines(path, today=CHECKED)[1])
    assert errors and "line" in errors[0].where and str(path) in errors[0].where


def test_duplicate_code_reported_even_if_first_entry_is_broken(tmp_path):
    """A repeated code is reported even when the first entry also has a field error."""
    data = _minimal()
    twin = dict(data["countries"][0], name="Britain again")
    del data["countries"][0]["lines"][0]["hours"]
    data["countries"].append(twin)
    errors = _errors(load_hotlines(_write(tmp_path, data), today=CHECKED)[1])
    assert any("field 'code'" in p.where and "already used" in p.what for p in errors)
    assert any("lines.0.hours" in p.where for p in errors)


def test_alias_clash_is_reported(tmp_path):
    """An alias already used by another country (here as its code) is an error."""
    data = _minimal()
    data["countries"][1]["aliases"] = ["gb"]
    errors = _errors(load_hotlines(_write(tmp_path, data), today=CHECKED)[1])
    assert len(errors) == 1 and "name/aliases" in errors[0].where


def _many_countries(n: int) -> HotlineDirectory:
    """A directory with n countries named so that 'United States' sorts last of all."""
    from bot.content.hotlines import Country
    data = _minimal()
    base = data["countries"][0]
    codes = [f"{a}{b}" for a in "ABCDEFGHIJKLMNOPQRST" for b in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"]
    countries = [Country(**{**base, "code": code, "name": f"Country {code}"})
                 for code in codes[:n - 1]]
    countries.append(Country(**{**base, "code": "US", "name": "United States"}))
    countries.append(Country(**{**data["countries"][1]}))
    return HotlineDirectory(countries, {})


@pytest.mark.parametrize("count", [1, 24, 25, 26, 40, 51, 124])
def test_picker_groups_reach_every_country(count):
    """However many countries there are (up to the limit), the picker's groups hold each
    one exactly once, in order, each group fits a select and there are at most five."""
    from bot.content.hotlines import PICKER_GROUPS, SELECT_OPTIONS
    directory = _many_countries(count)
    groups = directory.picker_groups()
    flat = [c.code for g in groups for c in g]
    assert flat == [c.code for c in directory.countries()]
    assert "US" in flat and FALLBACK_CODE in flat
    assert all(1 <= len(g) <= SELECT_OPTIONS for g in groups)
    assert len(groups) <= PICKER_GROUPS


def test_picker_groups_for_the_real_directory(directory):
    """The shipped directory's picker reaches every country, the US included."""
    groups = directory.picker_groups()
    assert sum(len(g) for g in groups) == len(directory) == len(directory.countries())
    assert "US" in [c.code for g in groups for c in g]


def test_too_many_countries_is_an_error(tmp_path):
    """More countries than the picker can show is reported, naming the limit."""
    from bot.content.hotlines import MAX_COUNTRIES
    data = _minimal()
    base = data["countries"][0]
    codes = [f"{a}{b}" for a in "ABCDEFGHIJKLMNOPQRST" for b in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"]
    data["countries"] = [{**base, "code": c, "name": f"Country {c}"}
                         for c in codes[:MAX_COUNTRIES]] + [data["countries"][1]]
    _, problems = load_hotlines(_write(tmp_path, data), today=dt.date(2026, 11, 21))
    assert any("country picker" in p.what for p in _errors(problems))
