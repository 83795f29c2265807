"""Structure of both labelled crisis corpora: parsing, fields, labels, families.

Each corpus's own size and balance minimums stay in its own test file.
"""

from pathlib import Path

import pytest

from tests import corpus

CORPORA = pytest.mark.parametrize("path", corpus.CORPORA, ids=lambda p: p.stem)


@CORPORA
def test_every_line_parses_as_a_json_object(path: Path):
    """The file is UTF-8, newline-terminated JSONL with no blank or malformed lines."""
    assert corpus.parse(path)[1] == ()


@CORPORA
def test_every_row_has_exactly_the_six_fields_with_the_right_types(path: Path):
    """Each row has text (non-empty str), crisis (bool), family (str) and the three labels."""
    assert corpus.field_problems(corpus.parse(path)[0]) == []


@CORPORA
def test_labels_are_consistent_with_the_crisis_flag(path: Path):
    """crisis false has null labels; crisis true has all three labels from the allowed values."""
    assert corpus.label_problems(corpus.parse(path)[0]) == []


@CORPORA
def test_every_family_is_known_and_agrees_with_the_labels(path: Path):
    """Positive families carry their labels; false-positive families are never crisis."""
    assert corpus.family_problems(corpus.parse(path)[0], corpus.NEGATIVE_FAMILIES) == []
