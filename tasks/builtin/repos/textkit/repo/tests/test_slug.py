from textkit import slugify


def test_slugify_lowercases_and_joins_words():
    assert slugify("Hello, World!") == "hello-world"


def test_slugify_strips_accents():
    assert slugify("Crème brûlée") == "creme-brulee"


def test_slugify_custom_separator():
    assert slugify("a b c", separator="_") == "a_b_c"


def test_slugify_short_text_unchanged_by_max_length():
    assert slugify("short title", max_length=50) == "short-title"
