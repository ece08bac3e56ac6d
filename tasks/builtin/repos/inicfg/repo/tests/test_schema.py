import pytest

from inicfg import Schema, SchemaError, parse

SCHEMA = Schema({"server": {"port": (int, 80), "debug": (bool, False), "name": (str, ...)}})


def test_converts_and_fills_defaults():
    assert SCHEMA.validate(parse("[server]\nname = web\nport = 8080\n")) == {
        "server": {"port": 8080, "debug": False, "name": "web"}
    }


def test_reports_every_error():
    with pytest.raises(SchemaError) as info:
        SCHEMA.validate(parse("[server]\nport = eighty\n"))
    assert "port" in str(info.value) and "name: required" in str(info.value)
