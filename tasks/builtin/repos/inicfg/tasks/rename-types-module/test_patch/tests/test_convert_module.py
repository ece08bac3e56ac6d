import importlib.util

import inicfg
from inicfg import Schema


def test_types_module_is_gone():
    assert importlib.util.find_spec("inicfg.types") is None


def test_convert_module_provides_coerce():
    from inicfg.convert import coerce

    assert coerce("on", bool) is True
    assert inicfg.coerce is coerce


def test_schema_still_converts():
    assert Schema({"a": {"n": (int, 0)}}).validate({"a": {"n": "3"}}) == {"a": {"n": 3}}
