"""The topic loader on broken fixtures, and topic search on what members actually type."""

from __future__ import annotations

import copy
import datetime as dt
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.content.topics import TopicLibrary, clean_query, load_library, load_topics
from bot.paths import bundled_content_dir
from bot.problems import ContentError, Problem

TODAY = dt.date(2026, 11, 21)

VALID: dict[str, Any] = {
    "id": "sample",
    "title": "Sample topic",
    "description": "A topic used only by the tests.",
    "aliases": ["example"],
    "summary": "A short summary. It has two sentences.",
    "key_points": ["One point.", "Another point.", "A third point."],
    "myths": [{"claim": "A claim.", "fact": "What the evidence says."}],
    "when_to_get_help": "Call your local emergency number in an emergency.",
    "sources": [
        {"publisher": "NIDA", "title": "A page", "url": "https://nida.nih.gov/page"},
        {"publisher": "CDC", "title": "Another page", "url": "https://www.cdc.gov/page"},
    ],
    "reviewed": {"date": dt.date(2026, 11, 1), "by": "the tests"},
    "review_due": dt.date(2027, 5, 1),
}


def topic(**changes: Any) -> dict[str, Any]:
    """A valid topic mapping with some fields changed (a value of None removes the field)."""
    data = copy.deepcopy(VALID)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def write(directory: Path, name: str, content: dict[str, Any] | str) -> Path:
    path = directory / name
    text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


# --- loading ---------------------------------------------------------------------------

def test_valid_fixture_loads_cleanly(tmp_path: Path):
    """The baseline fixture loads with no problems, so each broken variant below tests one fault."""
    write(tmp_path, "sample.yaml", topic())
    lib, problems = load_topics(tmp_path, today=TODAY)
    assert problems == []
    assert [t.id for t in lib.topics] == ["sample"]


def test_malformed_yaml_names_file_and_line(tmp_path: Path):
    """A YAML syntax error is reported with the file name and the line to look at."""
    write(tmp_path, "broken.yaml", "id: broken\ntitle: Broken\n  summary: bad indent\n")
    lib, problems = load_topics(tmp_path, today=TODAY)
    assert len(lib) == 0
    [problem] = errors(problems)
    assert "broken.yaml line 3" in problem.where
    assert "YAML" in problem.what and problem.fix


def test_yaml_that_is_not_a_mapping_is_reported(tmp_path: Path):
    """A file holding a list instead of fields is an error that points to the schema."""
    write(tmp_path, "list.yaml", "- just\n- a list\n")
    _, problems = load_topics(tmp_path, today=TODAY)
    [problem] = errors(problems)
    assert "list.yaml" in problem.where and "mapping" in problem.what


def test_duplicate_yaml_key_is_reported(tmp_path: Path):
    """A field written twice is an error rather than the second silently winning."""
    write(tmp_path, "dup.yaml", "id: dup\nid: dup\n")
    _, problems = load_topics(tmp_path, today=TODAY)
    [problem] = errors(problems)
    assert "dup.yaml" in problem.where and "duplicate key 'id'" in problem.what


@pytest.mark.parametrize("field", ["summary", "title", "sources", "reviewed", "when_to_get_help"])
def test_missing_field_is_named(tmp_path: Path, field: str):
    """A missing required field is reported by name, with the fix to add it."""
    write(tmp_path, "sample.yaml", topic(**{field: None}))
    _, problems = load_topics(tmp_path, today=TODAY)
    [problem] = errors(problems)
    assert f"field '{field}'" in problem.where and "sample.yaml" in problem.where
    assert "add the field" in problem.fix


def test_misspelt_field_is_rejected(tmp_path: Path):
    """An unknown key (for example a typo of a real one) is an error naming that key."""
    data = topic()
    data["sumary"] = "typo"
    write(tmp_path, "sample.yaml", data)
    _, problems = load_topics(tmp_path, today=TODAY)
    assert any("field 'sumary'" in p.where for p in errors(problems))


def test_duplicate_alias_across_files_is_reported(tmp_path: Path):
    """Two topics claiming the same alias is an error naming the alias and the first owner."""
    write(tmp_path, "first.yaml", topic(id="first", title="First", aliases=["shared"]))
    write(tmp_path, "second.yaml", topic(id="second", title="Second", aliases=["Shared"]))
    _, problems = load_topics(tmp_path, today=TODAY)
    [problem] = errors(problems)
    assert "second.yaml" in problem.where and "'shared'" in problem.where
    assert "first.yaml" in problem.what


def test_duplicate_id_across_files_is_reported(tmp_path: Path):
    """Two files with the same id is an error, not a silent overwrite."""
    write(tmp_path, "one.yaml", topic(id="one", title="One", aliases=[]))
    write(tmp_path, "two.yaml", topic(id="one", title="Two", aliases=[]))
    _, problems = load_topics(tmp_path, today=TODAY)
    assert any("'one'" in p.where and "one.yaml" in p.what for p in errors(problems))


def test_alias_clashing_with_another_topics_id_is_reported(tmp_path: Path):
    """An alias equal to another topic's id is caught as a clash."""
    write(tmp_path, "alpha.yaml", topic(id="alpha", title="Alpha", aliases=[]))
    write(tmp_path, "beta.yaml", topic(id="beta", title="Beta", aliases=["alpha"]))
    _, problems = load_topics(tmp_path, today=TODAY)
    assert any("'alpha'" in p.where for p in errors(problems))


@pytest.mark.parametrize(("index", "url", "where", "what", "fix"), [
    # Cannot be parsed: names the source's url field and says to use https.
    pytest.param(1, "cdc dot gov", "field 'sources.1.url'", "", "https://", id="not-a-url"),
    # Every cited page must be linked over https.
    pytest.param(0, "http://nida.nih.gov/page", "sample.yaml", "not https", "",
                 id="plain-http"),
])
def test_a_bad_source_url_is_one_error_naming_it(tmp_path: Path, index, url, where, what, fix):
    """A source URL members could not safely follow is one error naming where it is."""
    sources = copy.deepcopy(VALID["sources"])
    sources[index]["url"] = url
    write(tmp_path, "sample.yaml", topic(sources=sources))
    _, problems = load_topics(tmp_path, today=TODAY)
    [problem] = errors(problems)
    assert where in problem.where and what in problem.what and fix in problem.fix


def test_one_authoritative_publisher_is_not_enough(tmp_path: Path):
    """Sources from a single authoritative publisher plus a blog fail the two-publisher rule."""
    sources = [
        {"publisher": "NIDA", "title": "A page", "url": "https://nida.nih.gov/a"},
        {"publisher": "NIDA", "title": "Another", "url": "https://nida.nih.gov/b"},
        {"publisher": "Some clinic blog", "title": "Ad", "url": "https://example.com/"},
    ]
    write(tmp_path, "sample.yaml", topic(sources=sources))
    _, problems = load_topics(tmp_path, today=TODAY)
    [problem] = errors(problems)
    assert "field 'sources'" in problem.where and "two" in problem.what


def test_peer_reviewed_sources_count_as_authoritative(tmp_path: Path):
    """A journal article marked peer_reviewed counts towards the two publishers."""
    sources = [
        {"publisher": "NIDA", "title": "A page", "url": "https://nida.nih.gov/a"},
        {"publisher": "Some journal", "title": "A trial", "url": "https://example.org/trial",
         "peer_reviewed": True},
    ]
    write(tmp_path, "sample.yaml", topic(sources=sources))
    _, problems = load_topics(tmp_path, today=TODAY)
    assert errors(problems) == []


@pytest.mark.parametrize("bad", ["21/11/2026", "next spring", "2026-02-30"])
def test_bad_date_names_the_field(tmp_path: Path, bad: str):
    """A date that is not a real YYYY-MM-DD date names the field and shows the format."""
    write(tmp_path, "sample.yaml", topic(review_due=bad))
    _, problems = load_topics(tmp_path, today=TODAY)
    [problem] = errors(problems)
    assert "field 'review_due'" in problem.where and "YYYY-MM-DD" in problem.fix


def test_unquoted_impossible_date_is_a_problem_not_a_crash(tmp_path: Path):
    """An unquoted impossible date (2027-02-30) is reported with file and line, not raised."""
    text = yaml.safe_dump(topic(), sort_keys=False).replace(
        "review_due: 2027-05-01", "review_due: 2027-02-30")
    write(tmp_path, "sample.yaml", text)
    _, problems = load_topics(tmp_path, today=TODAY)
    [problem] = errors(problems)
    assert "sample.yaml" in problem.where and "line" in problem.where


def test_review_due_before_review_is_reported(tmp_path: Path):
    """A next-review date that is not after the last review is an error."""
    write(tmp_path, "sample.yaml", topic(review_due=dt.date(2026, 10, 1)))
    _, problems = load_topics(tmp_path, today=TODAY)
    assert any("field 'review_due'" in p.where for p in errors(problems))


def test_review_in_the_future_is_reported(tmp_path: Path):
    """A review dated after today is an error: it cannot have happened yet."""
    write(tmp_path, "sample.yaml", topic(reviewed={"date": dt.date(2026, 12, 1), "by": "x"}))
    _, problems = load_topics(tmp_path, today=TODAY)
    [problem] = errors(problems)
    assert "reviewed.date" in problem.where


def test_past_review_due_is_a_warning_not_an_error(tmp_path: Path):
    """An overdue review is reported as a warning and the topic still loads."""
    write(tmp_path, "sample.yaml", topic())
    lib, problems = load_topics(tmp_path, today=dt.date(2027, 6, 1))
    assert [p.severity for p in problems] == ["warning"]
    assert "review_due" in problems[0].where and "2027-05-01" in problems[0].what
    assert len(lib) == 1


def test_load_library_does_not_raise_for_warnings(tmp_path: Path):
    """load_library returns the topics when the only problem is an overdue review."""
    write(tmp_path, "sample.yaml", topic(
        reviewed={"date": dt.date(2020, 1, 1), "by": "x"}, review_due=dt.date(2021, 1, 1)))
    assert [t.id for t in load_library(tmp_path).topics] == ["sample"]


def test_file_name_must_match_id(tmp_path: Path):
    """A topic whose id differs from its file name is an error suggesting the rename."""
    write(tmp_path, "other-name.yaml", topic())
    _, problems = load_topics(tmp_path, today=TODAY)
    [problem] = errors(problems)
    assert "field 'id'" in problem.where and "sample.yaml" in problem.fix


@pytest.mark.parametrize(("id_", "message"), [("Has Spaces", "pattern"), ("x" * 41, "40")])
def test_bad_id_is_rejected(tmp_path: Path, id_: str, message: str):
    """Ids must be short lowercase words joined by hyphens."""
    write(tmp_path, "sample.yaml", topic(id=id_))
    _, problems = load_topics(tmp_path, today=TODAY)
    assert any("field 'id'" in p.where and message in p.what for p in errors(problems))


def test_description_over_100_characters_is_rejected(tmp_path: Path):
    """The one-line description for the /topics list is limited to 100 characters."""
    write(tmp_path, "sample.yaml", topic(description="d" * 101))
    _, problems = load_topics(tmp_path, today=TODAY)
    [problem] = errors(problems)
    assert "field 'description'" in problem.where and "shorten" in problem.fix


def test_summary_over_discord_description_limit_is_reported(tmp_path: Path):
    """A summary longer than Discord's 4,096-character description is an error."""
    write(tmp_path, "sample.yaml", topic(summary="word " * 1000))
    _, problems = load_topics(tmp_path, today=TODAY)
    assert any("description is 5000 characters" in p.what for p in errors(problems))


def test_field_over_discord_field_limit_is_reported(tmp_path: Path):
    """Key points that add up to more than 1,024 characters are an error naming the field."""
    write(tmp_path, "sample.yaml", topic(key_points=["x" * 600, "y" * 600]))
    _, problems = load_topics(tmp_path, today=TODAY)
    assert any("field 'Key points'" in p.what and "1024" in p.what for p in errors(problems))


def test_whole_embed_over_6000_characters_is_reported(tmp_path: Path):
    """Fields each within limits but over 6,000 characters together are an error."""
    long_ = "z" * 1000
    write(tmp_path, "sample.yaml", topic(
        summary="s" * 3000, key_points=[long_], when_to_get_help=long_,
        myths=[{"claim": "c" * 400, "fact": "f" * 500}]))
    _, problems = load_topics(tmp_path, today=TODAY)
    assert any("whole embed" in p.what for p in errors(problems))


def test_empty_directory_is_reported(tmp_path: Path):
    """A folder with no topic files is an error naming the folder."""
    _, problems = load_topics(tmp_path, today=TODAY)
    [problem] = errors(problems)
    assert str(tmp_path) in problem.where and "no topic files" in problem.what


def test_load_library_raises_with_every_problem(tmp_path: Path):
    """load_library raises ContentError that lists each broken file, not just the first."""
    write(tmp_path, "aaa.yaml", topic(id="aaa", title="A", aliases=[], summary=None))
    sources = copy.deepcopy(VALID["sources"])
    sources[0]["url"] = "not a url"
    write(tmp_path, "bbb.yaml", topic(id="bbb", title="B", aliases=[], sources=sources))
    write(tmp_path, "ccc.yaml", "id: [\n")
    write(tmp_path, "ok.yaml", topic(id="ok", title="Fine", aliases=[]))
    with pytest.raises(ContentError) as info:
        load_library(tmp_path)
    message = str(info.value)
    for name in ("aaa.yaml", "bbb.yaml", "ccc.yaml"):
        assert name in message
    assert "ok.yaml" not in message
    assert len(info.value.problems) == 3
    assert all(p.severity == "error" for p in info.value.problems)


# --- search ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shipped() -> TopicLibrary:
    lib, problems = load_topics(bundled_content_dir() / "topics")
    assert errors(problems) == []
    return lib


def test_transposed_letters_find_ptsd_first(shipped: TopicLibrary):
    """'ptds' (two letters swapped) puts the PTSD topic first."""
    assert shipped.search("ptds")[0].topic.id == "ptsd"


@pytest.mark.parametrize(("query", "topic_id"), [
    ("narcan", "overdose"), ("suboxone", "moud"), ("methadone", "moud"), ("bupe", "moud"),
    ("heroin withdrawal", "opioid-withdrawal"), ("Narcan", "overdose"),
    ("  SUBOXONE  ", "moud"), ("naloxon", "overdose"), ("methadon", "moud"),
    ("suboxne", "moud"), ("kratum", "kratom"), ("ketamin", "ketamine"),
    ("grounding", "grounding"), ("relapse", "relapse"),
])
def test_search_reaches_the_right_topic(shipped: TopicLibrary, query: str, topic_id: str):
    """Common names, brand names, odd case and small typos lead to the right topic first."""
    assert shipped.search(query)[0].topic.id == topic_id


def test_search_respects_limit(shipped: TopicLibrary):
    """search never returns more matches than asked for."""
    assert len(shipped.search("", limit=3)) == 3
    assert len(shipped.search("opioid", limit=2)) <= 2


def test_unrelated_query_finds_nothing(shipped: TopicLibrary):
    """A query unlike any topic returns no matches rather than a random topic."""
    assert shipped.search("qqqqzzzz") == []


def test_get_is_exact_only(shipped: TopicLibrary):
    """get matches an exact id, title or alias (any case) and nothing looser."""
    assert shipped.get("NARCAN").id == "overdose"
    assert shipped.get("PTSD and Trauma").id == "ptsd"
    assert shipped.get("narcn") is None


# --- query cleaning --------------------------------------------------------------------

def test_clean_query_strips_control_and_format_characters():
    """Control characters, zero-width and direction marks are removed; spaces collapse."""
    dirty = "\x00pt\u200bsd\u202e \x1b[31m\ufeff  \t\nnow\x7f"
    assert clean_query(dirty) == "ptsd [31m now"


def test_clean_query_keeps_words_apart_across_line_breaks():
    """A newline or tab between words acts as a space: 'heroin\nwithdrawal' keeps two words."""
    assert clean_query("heroin\nwithdrawal") == "heroin withdrawal"
    assert clean_query("dope\tsick") == "dope sick"


def test_clean_query_normalises_width_and_case():
    """Full-width letters and capitals become plain lower case."""
    assert clean_query("ＰＴＳＤ") == "ptsd"
    assert clean_query("NaLoXoNe") == "naloxone"


def test_clean_query_bounds_length():
    """A 500-character query is cut to the limit (100 by default, or the one given)."""
    assert len(clean_query("a" * 500)) == 100
    assert len(clean_query("b" * 500, limit=20)) == 20


@pytest.mark.parametrize("odd", [
    "\ud800", "\udfff" * 10, "👩‍👩‍👧‍👦" * 100, "e\u0301" * 300, "ﷺ" * 200,
    "مرحبا ptsd", "\u202e\u202d\u2066" * 50, "\x00" * 500, " " * 500, "%s%n{0}" * 50,
    "ptsd" * 125, "\U0010ffff\ue000", "ǅ" * 500,
])
def test_odd_queries_never_raise(shipped: TopicLibrary, odd: str):
    """Lone surrogates, emoji sequences, combining marks, RTL and 500-char input are handled."""
    cleaned = clean_query(odd)
    assert len(cleaned) <= 100
    assert not any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co"} for ch in cleaned)
    assert len(shipped.search(odd)) <= 25
    shipped.get(odd)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=600))
def test_any_text_is_a_safe_query(shipped: TopicLibrary, text: str):
    """For any text, cleaning is bounded and free of control characters, and search never raises."""
    cleaned = clean_query(text)
    assert len(cleaned) <= 100
    assert not any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co"} for ch in cleaned)
    assert all(m.topic in shipped.topics for m in shipped.search(text))


def _source_problems(tmp_path, publisher: str, url: str) -> list:
    """Problems for a copy of the relapse topic whose first source is replaced."""
    import yaml

    from bot.content.topics import load_topics as _load
    from bot.paths import bundled_content_dir
    data = yaml.safe_load((bundled_content_dir() / "topics" / "relapse.yaml").read_text())
    data["sources"][0] = {"publisher": publisher, "title": "A page", "url": url}
    folder = tmp_path / "topics"
    folder.mkdir(exist_ok=True)
    (folder / "relapse.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    _, problems = _load(folder, today=dt.date(2026, 12, 1))
    return [p for p in problems if "sources.0.url" in p.where]


@pytest.mark.parametrize(("publisher", "url", "says"), [
    ("NHS", "https://www.berkshirehealthcare.nhs.uk/advice/x", "not a site of NHS"),
    ("CDC", "https://medbox.iiab.me/modules/en-cdc/www.cdc.gov/x", "not a site of CDC"),
    ("FDA", "https://api.fda.gov/drug/label.json?search=x", "openFDA"),
    ("NIDA", "https://www.drugabuse.gov/publications/x", "retired"),
    ("NIDA", "https://teens.drugabuse.gov/blog/x", "retired"),
    ("VA National Center for PTSD",
     "https://webarchive.library.unt.edu/web/2020/https://www.ptsd.va.gov/x", "web-archive"),
])
def test_source_host_must_belong_to_the_publisher(tmp_path, publisher, url, says):
    """A source naming a publisher must be on that publisher's own site."""
    problems = _source_problems(tmp_path, publisher, url)
    assert any(says in p.what and p.severity == "error" for p in problems), problems


@pytest.mark.parametrize(("publisher", "url"), [
    ("NIDA", "https://nida.nih.gov/publications/x"),
    ("CDC", "https://www.cdc.gov/mmwr/x.htm"),
    ("NHS", "https://www.nhs.uk/mental-health/x/"),
    ("Berkshire Healthcare NHS Foundation Trust", "https://www.berkshirehealthcare.nhs.uk/x"),
])
def test_publishers_own_hosts_pass(tmp_path, publisher, url):
    """The publisher's own hosts, and a trust named as itself, raise no source problem."""
    assert _source_problems(tmp_path, publisher, url) == []


def test_http_crisis_line_source_is_a_warning(tmp_path):
    """An http:// source for a crisis line is reported as a warning naming the field."""
    import yaml

    from bot.content.hotlines import load_hotlines
    from bot.paths import bundled_content_dir
    data = yaml.safe_load((bundled_content_dir() / "hotlines.yaml").read_text())
    data["countries"][0]["lines"][0]["source_url"] = "http://example.org/page"
    path = tmp_path / "hotlines.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    _, problems = load_hotlines(path, today=dt.date(2026, 12, 1))
    warned = [p for p in problems if "not https" in p.what]
    assert warned and all(p.severity == "warning" for p in warned)
    assert "lines.0.source_url" in warned[0].where
