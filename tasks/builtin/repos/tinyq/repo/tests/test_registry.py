import pytest

from tinyq import Registry


def test_lookup_by_name():
    registry = Registry()

    @registry.task("send")
    def send(to):
        return f"sent to {to}"

    assert registry.get("send")("bob") == "sent to bob"


def test_duplicate_names_rejected():
    registry = Registry()
    registry.task("a")(print)
    with pytest.raises(ValueError):
        registry.task("a")(print)


def test_names_sorted():
    registry = Registry()
    registry.task("b")(print)
    registry.task("a")(print)
    assert registry.names() == ["a", "b"]
