from textkit import camel_case, snake_case, title_case


def test_snake_case_from_camel():
    assert snake_case("parseHtmlDocument") == "parse_html_document"


def test_snake_case_from_words():
    assert snake_case("Some Words-here") == "some_words_here"


def test_camel_case():
    assert camel_case("parse_html_document") == "parseHtmlDocument"


def test_title_case_small_words():
    assert title_case("the lord of the rings") == "The Lord of the Rings"
