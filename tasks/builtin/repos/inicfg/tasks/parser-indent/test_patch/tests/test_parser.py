import pytest

from inicfg import ParseError, parse


def test_sections_and_keys():
    assert parse("[a]\nx = 1\n[b]\ny=two words\n") == {"a": {"x": "1"}, "b": {"y": "two words"}}


def test_full_line_comments_and_blank_lines():
    assert parse("# top\n\n[a]\n; note\nx = 1\n") == {"a": {"x": "1"}}


def test_keys_are_lowercased():
    assert parse("[a]\nName = v\n") == {"a": {"name": "v"}}


def test_key_outside_section():
    with pytest.raises(ParseError, match="line 1"):
        parse("x = 1\n")


def test_line_without_equals():
    with pytest.raises(ParseError, match="line 2"):
        parse("[a]\nnonsense\n")


def test_empty_section():
    assert parse("[empty]\n") == {"empty": {}}
