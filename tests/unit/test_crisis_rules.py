"""Loading and checking crisis rule files: the bundled rules and broken fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.crisis import Category, Detector, Subject, check_rules, load_rules
from bot.crisis.phrases import expand
from bot.paths import bundled_content_dir

BUNDLED = bundled_content_dir() / "crisis"

GOOD = """\
templates:
  self: ["myself"]
contexts:
  - id: negation
    description: negated
    scope: before
    window: 3
    phrases: ["not"]
    examples:
      match: ["i am not going to hurt myself"]
      no_match: ["i am going to hurt myself"]
rules:
  - id: sh-test
    category: self_harm
    severity: urgent
    subject: self
    description: test rule
    phrases: ["{going to|gonna} hurt {self}"]
    examples:
      match: ["I'm gonna hurt myself"]
      no_match: ["I'm gonna hurt my knee"]
"""


def _write(tmp_path: Path, text: str, name: str = "rules.yaml") -> Path:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_bundled_rules_have_no_problems() -> None:
    """Every bundled rule and context loads and every example passes."""
    problems = check_rules(BUNDLED)
    assert [str(p) for p in problems] == []


def test_bundled_rules_cover_each_category() -> None:
    """The bundled rules cover suicide, self-harm and overdose, for self and other."""
    ruleset, _ = load_rules(BUNDLED)
    kinds = {(r.category, r.subject) for r in ruleset.rules}
    assert kinds == {(cat, subject) for cat in Category for subject in Subject}


def test_good_fixture_loads_and_detects(tmp_path: Path) -> None:
    """A small valid file loads cleanly and its Detector works."""
    d = _write(tmp_path, GOOD)
    ruleset, problems = load_rules(d)
    assert problems == []
    assert check_rules(d) == []
    assert Detector(ruleset).detect("gonna hurt myself").rule == "sh-test"


def test_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    """Broken YAML gives a problem naming the file and the line."""
    d = _write(tmp_path, "rules:\n  - id: x\n   bad: [\n")
    problems = check_rules(d)
    assert problems and "rules.yaml line" in problems[0].where


def test_missing_field_names_file_and_field(tmp_path: Path) -> None:
    """A rule without a severity is reported with the file and the field path."""
    d = _write(tmp_path, GOOD.replace("    severity: urgent\n", ""))
    problems = check_rules(d)
    assert any("rules.yaml" in p.where and "severity" in p.where for p in problems)


def test_failing_example_names_file_rule_and_example(tmp_path: Path) -> None:
    """An example that does not fire its rule is a problem quoting file, rule and example."""
    d = _write(tmp_path, GOOD.replace('match: ["I\'m gonna hurt myself"]',
                                      'match: ["I\'m gonna hurt myself", "I will hurt myself"]'))
    problems = check_rules(d)
    assert len(problems) == 1
    p = problems[0]
    assert "rules.yaml" in p.where and "sh-test" in p.where and "examples.match[1]" in p.where
    assert "I will hurt myself" in p.what


def test_failing_no_match_example(tmp_path: Path) -> None:
    """A no_match example that fires is reported too."""
    d = _write(tmp_path, GOOD.replace('no_match: ["I\'m gonna hurt my knee"]',
                                      'no_match: ["gonna hurt myself"]'))
    problems = check_rules(d)
    assert any("examples.no_match[0]" in p.where and "sh-test" in p.where for p in problems)


def test_context_example_must_be_cancelled(tmp_path: Path) -> None:
    """A context 'match' example that is still detected is a problem naming the context."""
    d = _write(tmp_path, GOOD.replace('match: ["i am not going to hurt myself"]',
                                      'match: ["i am going to hurt myself"]'))
    problems = check_rules(d)
    assert any("context 'negation'" in p.where for p in problems)


def test_unknown_template_is_reported(tmp_path: Path) -> None:
    """A phrase using an undefined template names the rule and phrase index."""
    d = _write(tmp_path, GOOD.replace('"{going to|gonna} hurt {self}"', '"{intnet} hurt {self}"'))
    problems = check_rules(d)
    assert any("sh-test" in p.where and "phrases[0]" in p.where and "intnet" in p.what
               for p in problems)


def test_duplicate_rule_id_is_reported(tmp_path: Path) -> None:
    """Two rules with one id are reported."""
    _write(tmp_path, GOOD)
    _write(tmp_path, GOOD.split("rules:")[0].replace("templates:\n  self: [\"myself\"]\n", "")
           .replace("negation", "negation-two") + "rules:" + GOOD.split("rules:")[1], "b.yaml")
    _, problems = load_rules(tmp_path)
    assert any("already used" in p.what for p in problems)


def test_expansion_limit(tmp_path: Path) -> None:
    """A phrase that expands to too many literals is refused, not compiled."""
    with pytest.raises(ValueError):
        expand("{a}{a}{a}{a}", {"a": [str(i) for i in range(20)]})


def test_nested_slots_expand() -> None:
    """A template or a choice inside a choice expands fully: no braces are left over."""
    got = expand("{tonight|{day}} is the {day|night {x|y}}", {"day": ["monday", "friday"]})
    assert sorted(got)[:3] == ["friday is the day", "friday is the night x",
                               "friday is the night y"]
    assert len(got) == 9
    assert not any("{" in g or "}" in g for g in got)


@pytest.mark.parametrize("phrase", ["{a|b", "a|b}", "{a|{b}"])
def test_unpaired_braces_are_refused(phrase: str) -> None:
    """A phrase whose braces do not pair up is an error, not a literal with braces in it."""
    with pytest.raises(ValueError, match="without a matching"):
        expand(phrase, {"b": ["x"]})


def test_unpaired_brace_is_reported_with_its_place(tmp_path: Path) -> None:
    """`load_rules` names the rule and phrase whose braces do not pair up."""
    _write(tmp_path, GOOD.replace("hurt {self}\"]", "hurt {self\"]", 1))
    _, problems = load_rules(tmp_path)
    assert any("phrases[" in p.where and "without a matching" in p.what for p in problems)


def test_bundled_phrases_leave_no_braces() -> None:
    """Every bundled anchor is a plain phrase: no slot was left unexpanded."""
    ruleset, _ = load_rules(BUNDLED)
    assert not [a for a in ruleset.anchors if "{" in a or "}" in a]


def test_empty_directory(tmp_path: Path) -> None:
    """A folder without rule files is a problem, not an empty detector."""
    _, problems = load_rules(tmp_path)
    assert problems and "no crisis rule files" in problems[0].what


NEAR = """\
rules:
  - id: near-test
    category: suicide
    severity: urgent
    subject: self
    description: anchor plus an intent marker nearby
    phrases: ["end it"]
    near: ["going to", "tonight"]
    near_before: 4
    near_after: 2
    examples:
      match: ["i'm going to really just end it"]
      no_match: ["end it"]
"""


def test_near_marker_allows_inserted_words(tmp_path: Path) -> None:
    """A near marker a few words away fires the rule; words in between do not break it."""
    det = Detector(load_rules(_write(tmp_path, NEAR))[0])
    assert det.detect("i think i'm going to really just end it").rule == "near-test"
    assert det.detect("i will end it tonight").rule == "near-test"


def test_near_marker_window_is_bounded(tmp_path: Path) -> None:
    """A marker outside the window, or in another sentence, does not count."""
    det = Detector(load_rules(_write(tmp_path, NEAR))[0])
    assert det.detect("going to the shop and then maybe i will end it") is None
    assert det.detect("i'm going to bed. end it") is None
    assert det.detect("end it") is None


def test_unless_phrase_longer_than_every_marker_still_switches_the_context_off(
        tmp_path: Path) -> None:
    """An `unless` phrase of more words than the context's longest marker takes effect."""
    d = _write(tmp_path, GOOD.replace("    window: 3\n", "    window: 8\n").replace(
        '    phrases: ["not"]\n',
        '    phrases: ["not"]\n    unless: ["if this does not work out"]\n'))
    det = Detector(load_rules(d)[0])
    assert det.detect("if this does not work out gonna hurt myself") is not None
    assert det.detect("i am not gonna hurt myself") is None
