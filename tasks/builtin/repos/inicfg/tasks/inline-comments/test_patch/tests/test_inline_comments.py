from inicfg import parse


def value(line):
    return parse(f"[s]\n{line}\n")["s"]["k"]


def test_comment_after_whitespace_is_removed():
    assert value("k = 8080   # behind the proxy") == "8080"


def test_semicolon_comment():
    assert value("k = on ; for now") == "on"


def test_hash_without_whitespace_is_part_of_the_value():
    assert value("k = #ff0000") == "#ff0000"


def test_semicolon_inside_a_url():
    assert value("k = http://x/a;b") == "http://x/a;b"


def test_escaped_hash():
    assert value("k = we are \\#1") == "we are #1"
