from inicfg import merge


def test_later_layers_win():
    assert merge({"a": {"x": 1}}, {"a": {"x": 2}}) == {"a": {"x": 2}}


def test_sections_merge_key_by_key():
    assert merge({"a": {"x": 1, "y": 1}}, {"a": {"y": 2}}, {"b": {"z": 3}}) == {"a": {"x": 1, "y": 2}, "b": {"z": 3}}


def test_inputs_not_modified():
    first, second = {"a": {"x": 1}}, {"a": {"x": 2}}
    merge(first, second)
    assert first == {"a": {"x": 1}} and second == {"a": {"x": 2}}


def test_no_layers():
    assert merge() == {}
