from textkit import top_words, word_count


def test_word_count_is_case_insensitive():
    assert word_count("Apple apple APPLE pie") == {"apple": 3, "pie": 1}


def test_word_count_ignores_punctuation():
    assert word_count("stop. stop, go!") == {"stop": 2, "go": 1}


def test_word_count_empty():
    assert word_count("") == {}


def test_top_words_most_frequent_first():
    assert top_words("b a b c b a", 2) == [("b", 3), ("a", 2)]


def test_top_words_returns_exactly_n():
    assert len(top_words("one two three four", 3)) == 3
