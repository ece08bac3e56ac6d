import pytest

from inicfg import coerce


def test_true_words():
    assert [coerce(v, bool) for v in ["1", "true", "Yes", "ON"]] == [True] * 4


def test_numbers_and_lists():
    assert (coerce(" 42 ", int), coerce("2.5", float), coerce("a, b,,c", list)) == (42, 2.5, ["a", "b", "c"])


def test_bad_boolean():
    with pytest.raises(ValueError):
        coerce("maybe", bool)
