from textkit import slugify


def test_slugify_lowercases_and_joins_words():
    assert slugify("Hello, World!") == "hello-world"


def test_slugify_strips_accents():
    assert slugify("Crème brûlée") == "creme-brulee"


def test_slugify_custom_separator():
    assert slugify("a b c", separator="_") == "a_b_c"


def test_slugify_short_text_unchanged_by_max_length():
    assert slugify("short title", max_length=50) == "short-title"


def test_slugify_cuts_at_a_word_boundary():
    assert slugify("Announcing our new pricing plans", max_length=20) == "announcing-our-new"


def test_slugify_never_ends_with_the_separator():
    assert slugify("Ten tips for better sleep", max_length=13) == "ten-tips-for"


def test_slugify_cuts_a_single_long_word():
    assert slugify("Supercalifragilistic", max_length=5) == "super"


def test_slugify_exact_fit():
    assert slugify("one two", max_length=7) == "one-two"
