"""Effort levels, rungs and ladder specs."""

import pytest

from agent.core.effort import EffortLevel, Rung, climb, format_ladder, parse_ladder
from agent.core.errors import ConfigError


def test_levels_are_ordered_low_to_max():
    assert sorted(EffortLevel, reverse=True) == [
        EffortLevel.MAX,
        EffortLevel.XHIGH,
        EffortLevel.HIGH,
        EffortLevel.MEDIUM,
        EffortLevel.LOW,
    ]
    assert EffortLevel.MEDIUM < EffortLevel.HIGH <= EffortLevel.HIGH < EffortLevel.MAX
    assert EffortLevel.MAX > EffortLevel.XHIGH >= EffortLevel.LOW


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("low", EffortLevel.LOW),
        ("Medium", EffortLevel.MEDIUM),
        (" high ", EffortLevel.HIGH),
        ("xhigh", EffortLevel.XHIGH),
        ("very_high", EffortLevel.XHIGH),
        ("very-high", EffortLevel.XHIGH),
        ("veryhigh", EffortLevel.XHIGH),
        ("MAX", EffortLevel.MAX),
    ],
)
def test_parse_accepts_names_and_xhigh_spellings(text, level):
    assert EffortLevel.parse(text) is level


def test_parse_rejects_unknown_level_naming_the_valid_ones():
    with pytest.raises(ConfigError) as info:
        EffortLevel.parse("extreme")
    assert str(info.value) == "unknown effort level 'extreme': use one of low, medium, high, xhigh, max"


def test_ladder_spec_round_trips():
    spec = "claude-opus-4-7@medium,claude-opus-4-7@high,deepseek-v4-pro@max"
    ladder = parse_ladder(spec)
    assert ladder == [
        Rung(model="claude-opus-4-7", effort=EffortLevel.MEDIUM),
        Rung(model="claude-opus-4-7", effort=EffortLevel.HIGH),
        Rung(model="deepseek-v4-pro", effort=EffortLevel.MAX),
    ]
    assert format_ladder(ladder) == spec


def test_ladder_keeps_provider_prefix_in_model_name():
    assert parse_ladder("ollama:qwen3@very-high") == [Rung(model="ollama:qwen3", effort=EffortLevel.XHIGH)]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty ladder '': write MODEL@EFFORT[,MODEL@EFFORT...]"),
        ("claude-opus-4-7", "bad rung 'claude-opus-4-7': write MODEL@EFFORT, e.g. claude-opus-4-7@high"),
        ("@high", "bad rung '@high': write MODEL@EFFORT, e.g. claude-opus-4-7@high"),
        ("m@loud", "bad rung 'm@loud': unknown effort level 'loud': use one of low, medium, high, xhigh, max"),
        ("m@@high,", "bad rung 'm@@high': write MODEL@EFFORT, e.g. claude-opus-4-7@high"),
        ("claude-opus-4-7@@high,", "bad rung 'claude-opus-4-7@@high': write MODEL@EFFORT, e.g. claude-opus-4-7@high"),
        ("m@high,,m@max", "bad ladder 'm@high,,m@max': rung 2 of 3 is empty (stray comma?)"),
        ("m@high,", "bad ladder 'm@high,': rung 2 of 2 is empty (stray comma?)"),
        ("a b@high", "bad rung 'a b@high': write MODEL@EFFORT, e.g. claude-opus-4-7@high"),
    ],
)
def test_bad_ladder_specs_say_what_to_write(spec, message):
    with pytest.raises(ConfigError) as info:
        parse_ladder(spec)
    assert str(info.value) == message


def test_climb_goes_from_start_to_max():
    assert [str(rung) for rung in climb("m", EffortLevel.HIGH)] == ["m@high", "m@xhigh", "m@max"]
