"""The simulated population `sim-*`: its probability model, its calibration on the built-in suite,
the turns the fake provider serves for it through the real SDKs, and `agent bench` against it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from agent.core.effort import EffortLevel
from agent.core.errors import ConfigError
from agent.core.messages import Message
from agent.core.tool_specs import STANDARD_TOOLS
from agent.engine.prompts import EarlierAttempt, system_prompt, task_message
from agent.fake_provider.server import RequestRejected
from agent.fake_provider.sim import SIM_API_KEY, SimResponder, earlier_attempts, sim_env, start_sim
from agent.providers import build_model, resolve_model
from agent.providers.pricing import quote
from agent.simulate.population import (
    Population,
    attempt_passes,
    attempt_shape,
    expected_pass_rate,
    load_population,
    pass_probability,
    task_difficulty,
    uniform,
)
from agent.simulate.sim_paths import attempt_path
from agent.simulate.sim_turns import apply_command, wrong_edit_command, wrong_edit_file
from tasks.builtin import TASKS_FILE
from tasks.loaders import load_tasks
from tasks.models import Task
from tasks.records import read_task_file
from tests.cli_helpers import run_agent

LOW, MEDIUM, HIGH, XHIGH, MAX = EffortLevel
MODELS = ["sim-flash", "sim-pro", "sim-frontier"]  # weakest first
SUITE = read_task_file(TASKS_FILE)  # the built-in suite's task data; no repository is made
BY_ID = {task.instance_id: task for task in SUITE}


@pytest.fixture(scope="module")
def population() -> Population:
    return load_population()


def with_changes(population: Population, **changes: Any) -> Population:
    return Population.model_validate({**population.model_dump(), **changes})


# The probability model.


def test_uniform_is_a_fixed_function_of_its_parts():
    assert uniform(1, "a") == 0.6666373332821357
    assert uniform(1, "a") != uniform(1, "b") != uniform(2, "a")


def test_outcomes_are_deterministic_and_a_repeated_rung_draws_again(population):
    task = BY_ID["tinyq__reserve-race"]
    outcomes = [attempt_passes(population, task, "sim-pro", HIGH, attempt) for attempt in range(8)]
    assert pass_probability(population, task, "sim-pro", HIGH) == pytest.approx(0.13337124738437953)
    assert outcomes == [True, True, True, False, False, False, True, False]
    assert outcomes == [attempt_passes(load_population(), task, "sim-pro", HIGH, attempt) for attempt in range(8)]


@pytest.mark.parametrize("model", MODELS)
def test_probability_rises_with_effort_on_every_task(population, model):
    for task in SUITE:
        chances = [pass_probability(population, task, model, level) for level in EffortLevel]
        assert chances == sorted(chances) and len(set(chances)) == 5, task.instance_id


@pytest.mark.parametrize("effort", list(EffortLevel))
def test_probability_rises_with_skill_on_every_task(population, effort):
    for task in SUITE:
        chances = [pass_probability(population, task, model, effort) for model in MODELS]
        assert chances == sorted(chances) and len(set(chances)) == 3, task.instance_id
    stronger = with_changes(population, models={"sim-flash": {"skill": 0.5}})
    task = BY_ID["textkit__slug-max-length"]
    assert pass_probability(stronger, task, "sim-flash", effort) > pass_probability(
        population, task, "sim-flash", effort
    )


def test_each_task_gets_its_own_seeded_offset(population):
    slug, reserve = BY_ID["textkit__slug-max-length"], BY_ID["tinyq__reserve-race"]
    assert (task_difficulty(population, slug), task_difficulty(population, reserve)) == (
        pytest.approx(0.9616915616224619),  # medium (0.0) plus its offset
        pytest.approx(1.4314741140011709),  # hard (1.0) plus its offset
    )
    medium = [task_difficulty(population, task) for task in SUITE if task.difficulty == "medium"]
    assert len(set(medium)) == len(medium) == 13
    reseeded = with_changes(population, seed=population.seed + 1)
    assert task_difficulty(reseeded, slug) != task_difficulty(population, slug)
    quiet = with_changes(population, difficulty={**population.difficulty.model_dump(), "noise": 0.0})
    assert [task_difficulty(quiet, task) for task in (slug, reserve)] == [0.0, 1.0]


def test_a_task_without_a_known_difficulty_reads_as_medium(population):
    task = BY_ID["textkit__slug-max-length"]
    unknown = task.model_copy(update={"difficulty": None})
    quiet = with_changes(population, difficulty={**population.difficulty.model_dump(), "noise": 0.0})
    assert task_difficulty(quiet, unknown) == quiet.difficulty.levels["medium"] == 0.0


# Calibration on the built-in suite.


@pytest.mark.parametrize(
    ("model", "effort", "published"),
    [
        ("sim-frontier", MAX, 0.72),
        ("sim-frontier", XHIGH, 0.69),
        ("sim-frontier", HIGH, 0.65),
        ("sim-frontier", MEDIUM, 0.55),
        ("sim-frontier", LOW, 0.45),
        ("sim-pro", MAX, 0.55),
        ("sim-flash", MAX, 0.40),
    ],
)
def test_expected_pass_rates_on_the_builtin_suite_match_the_published_numbers(population, model, effort, published):
    assert len(SUITE) == 30
    assert expected_pass_rate(population, SUITE, model, effort) == pytest.approx(published, abs=0.005)


def test_flash_is_twelve_times_cheaper_than_pro_and_every_sim_model_is_priced(make_config, population):
    config = make_config()
    prices = {}
    for model in population.models:
        resolved = resolve_model(model, config)
        assert (resolved.provider, resolved.efforts) == ("sim", list(EffortLevel))
        price = quote(model, resolved.price_provider_id, resolved.price)
        assert price is not None and price.is_override
        prices[model] = price
    assert (
        prices["sim-pro"].input / prices["sim-flash"].input,
        prices["sim-pro"].output / prices["sim-flash"].output,
    ) == (
        Decimal(12),
        Decimal(12),
    )
    assert prices["sim-frontier"].output > prices["sim-pro"].output


# Turns and tokens.


@pytest.mark.parametrize(
    ("task_id", "shapes"),
    [
        ("textkit__case-syntax", [(3, 600), (4, 900), (5, 1170), (6, 1275), (6, 1500)]),
        ("tinyq__pluggable-backends", [(11, 2618), (15, 3840), (19, 4926), (22, 5564), (24, 6000)]),
    ],
)
def test_attempt_shape_follows_the_token_table_and_effort_cost(population, task_id, shapes):
    task = BY_ID[task_id]
    got = [attempt_shape(population, task, level) for level in EffortLevel]
    assert [(shape.turns, shape.output_tokens) for shape in got] == shapes
    assert [shape.reasoning_tokens for shape in got] == [round(tokens * 0.6) for _, tokens in shapes]


def test_every_attempt_fits_its_effort_budget(population, make_config):
    config = make_config()
    for task in SUITE:
        full = attempt_shape(population, task, MAX)
        for level in EffortLevel:
            shape, budget = attempt_shape(population, task, level), config.budget_for(level)
            assert shape.turns <= budget.max_turns and shape.output_tokens <= budget.max_tokens
            spent = shape.turns * shape.output_tokens / (full.turns * full.output_tokens)
            assert spent == pytest.approx(population.efforts[level].cost, abs=0.07), (task.instance_id, level)


def test_a_wrong_edit_touches_a_gold_file_the_test_patch_leaves_alone():
    task = BY_ID["textkit__top-words-ties"]  # the gold patch changes tests/test_stats.py and textkit/stats.py
    assert wrong_edit_file(task) == "textkit/stats.py"
    assert wrong_edit_command(task) == (
        "printf '\\n%s\\n' '# reviewed for the reported issue; no change needed here' >> textkit/stats.py"
    )
    assert wrong_edit_file(BY_ID["inicfg__layers-tests"]) == "tests/test_layers.py"


def test_the_apply_command_feeds_the_gold_patch_to_git_apply():
    patch = BY_ID["textkit__case-syntax"].patch
    command = apply_command(patch)
    head, _, rest = command.partition("\n")
    marker = head.removeprefix("git apply --whitespace=nowarn - <<'").removesuffix("'")
    assert rest == f"{patch}\n{marker}" and marker.startswith("AGENT_SIM_") and marker not in patch


# Loading.


def test_a_population_file_missing_an_effort_is_refused_with_what_to_add(tmp_path, population):
    data = population.model_dump(mode="json")
    del data["efforts"]["xhigh"]
    path = tmp_path / "population.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError) as caught:
        load_population(path)
    assert str(caught.value).startswith(f"malformed population {path}: 1 validation error for Population")
    data["efforts"]["xhigh"] = {"gain": 0.7, "cost": 0.85}
    path.write_text(json.dumps(data))
    assert load_population(path).efforts[XHIGH].gain == 0.7


def test_a_missing_population_file_says_so(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_population(tmp_path / "nope.toml")
    assert str(caught.value) == (
        f"cannot read population {tmp_path / 'nope.toml'}: No such file or directory; pass an existing file"
    )


# The fake provider serving the population.


def test_the_attempt_number_is_the_count_of_earlier_attempts_in_the_system_prompt():
    earlier = [EarlierAttempt(rung=f"sim-flash@{level}", outcome="finished", plan="p", tests="t") for level in "ab"]
    assert [earlier_attempts(system_prompt("/testbed", "pytest", earlier[:n])) for n in range(3)] == [0, 1, 2]


def anthropic_body(task: Task, model: str, effort: str, earlier: int, turn: int) -> dict[str, Any]:
    """A Messages request as the runner sends it, at `turn` with `earlier` attempts before it."""
    attempts = [EarlierAttempt(rung="sim-flash@low", outcome="finished", plan="p", tests="t")] * earlier
    assistant = {"role": "assistant", "content": [{"type": "text", "text": "Reading on."}]}
    history = [assistant, {"role": "user", "content": [{"type": "text", "text": "ok"}]}] * turn
    return {
        "model": model,
        "max_tokens": 16000,
        "system": [{"type": "text", "text": system_prompt("/testbed", "pytest", attempts)}],
        "messages": [{"role": "user", "content": task_message(task.display_title, task.problem_statement)}, *history],
        "output_config": {"effort": effort},
    }


def test_the_edit_turn_applies_the_gold_patch_exactly_when_that_attempt_passes(population):
    task = BY_ID["tinyq__reserve-race"]  # sim-pro@high passes its attempts 0-2, fails 3-5, passes 6
    responder = SimResponder(population, SUITE)
    for earlier in range(8):
        edit_turn = attempt_path(population, task, "sim-pro", HIGH, earlier).actions.index("edit")
        body = anthropic_body(task, "sim-pro", "high", earlier, edit_turn)
        [call] = responder.turn("anthropic", body, "high", edit_turn).tool_calls
        passes = attempt_passes(population, task, "sim-pro", HIGH, earlier)
        expected = apply_command(task.patch) if passes else wrong_edit_command(task)
        assert call.input == {"command": expected}, earlier


@pytest.fixture
def sim_server(population):
    with start_sim(SUITE[:5], population) as fake:
        yield fake


def test_the_real_adapter_gets_the_plan_turn_with_the_shapes_tokens(sim_server, make_config, population):
    task = SUITE[0]
    model = build_model("sim-flash", make_config(), sim_env(sim_server))
    turn = model.complete(
        [Message.user(task_message(task.display_title, task.problem_statement))],
        system=system_prompt("/testbed", "python -m pytest -q", []),
        tools=STANDARD_TOOLS,
        effort=MEDIUM,
        max_tokens=16384,
    )
    shape = attempt_shape(population, task, MEDIUM)
    assert turn.text == "Plan: the fault is in inicfg/convert.py; read it, fix it, then run the tests."
    assert [call.input for call in turn.tool_calls] == [
        {"command": "sed -n '1,60p' inicfg/convert.py 2>/dev/null || ls"}
    ]
    assert (turn.usage.output_tokens, turn.usage.reasoning_tokens, turn.effort_sent) == (
        shape.output_tokens,
        shape.reasoning_tokens,
        "medium",
    )
    assert turn.usage.input_tokens > 0 and turn.thinking and turn.thinking[0].signature


def test_the_output_tokens_reported_never_exceed_max_tokens(sim_server):
    task = SUITE[0]
    client = anthropic.Anthropic(base_url=sim_server.anthropic_base_url, api_key=SIM_API_KEY, max_retries=0)
    message = client.messages.create(**anthropic_body(task, "sim-frontier", "max", 0, 0) | {"max_tokens": 100})
    assert message.usage.output_tokens == 100


def test_the_openai_wire_serves_the_population_too(sim_server, population):
    task = SUITE[1]
    client = openai.OpenAI(base_url=sim_server.openai_base_url, api_key=SIM_API_KEY, max_retries=0)
    completion = client.chat.completions.create(
        model="sim-pro",
        reasoning_effort="high",
        messages=[{"role": "user", "content": task_message(task.display_title, task.problem_statement)}],
    )
    shape = attempt_shape(population, task, HIGH)
    assert completion.usage is not None and completion.usage.completion_tokens == shape.output_tokens
    assert completion.choices[0].message.content == (
        "Plan: the fault is in inicfg/parser.py; read it, fix it, then run the tests."
    )


@pytest.mark.parametrize(
    ("model", "issue", "message"),
    [
        (
            "sim-pro",
            "<issue>\n# Something else\n\nNot a task of this server.\n</issue>",
            "no task of this sim server (5 task(s)) has the issue in the first user message: "
            "start the server with the suite you bench (python -m agent.fake_provider --sim SUITE)",
        ),
        ("sim-huge", None, "unknown sim model 'sim-huge': this population serves sim-flash, sim-frontier, sim-pro"),
    ],
)
def test_an_unknown_task_or_model_is_a_clear_400(sim_server, model, issue, message):
    body = anthropic_body(SUITE[0], model, "low", 0, 0)
    if issue is not None:
        body["messages"][0]["content"] = issue
    client = anthropic.Anthropic(base_url=sim_server.anthropic_base_url, api_key=SIM_API_KEY, max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(**body)
    assert caught.value.status_code == 400
    assert caught.value.body["error"] == {"type": "invalid_request_error", "message": message}
    assert [request.status for request in sim_server.requests] == [400]


@pytest.mark.parametrize(
    ("effort", "patch", "message"),
    [
        (
            None,
            "keep",
            "sim models need output_config.effort or reasoning_effort: "
            "unknown effort level '': use one of low, medium, high, xhigh, max",
        ),
        ("low", "", "task inicfg__bool-off has no gold patch: sim models only run benchmark tasks"),
    ],
)
def test_a_request_without_an_effort_or_for_a_task_without_a_gold_patch_is_rejected(population, effort, patch, message):
    task = SUITE[0] if patch == "keep" else SUITE[0].model_copy(update={"patch": patch})
    with pytest.raises(RequestRejected) as caught:
        SimResponder(population, [task]).turn("anthropic", anthropic_body(task, "sim-pro", "low", 0, 0), effort, 0)
    assert str(caught.value) == message


def test_the_command_line_serves_a_suite_and_prints_what_to_export(tmp_path):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "AGENT_HOME": str(tmp_path), "AGENT_CONFIG": os.devnull}
    server = subprocess.Popen(
        [sys.executable, "-m", "agent.fake_provider", "--sim", str(TASKS_FILE)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        url, base, key = (server.stdout.readline().strip() for _ in range(3))
        assert (base, key) == (f"SIM_BASE_URL={url}", f"SIM_API_KEY={SIM_API_KEY}")
        client = anthropic.Anthropic(base_url=url, api_key=SIM_API_KEY, max_retries=0)
        message = client.messages.create(**anthropic_body(SUITE[2], "sim-flash", "low", 0, 0))
        assert message.stop_reason == "tool_use"
    finally:
        server.terminate()
        server.wait(timeout=10)


# `agent bench` against the population: real SDK, real sandboxes, real ledger.

GRID_IDS = ["inicfg__bool-off", "textkit__case-syntax", "tinyq__registry-decorator"]
LADDER = [("sim-flash", LOW), ("sim-pro", MEDIUM), ("sim-frontier", HIGH)]


def bench_against_sim(tmp_path: Path, ids: list[str], *args: str) -> dict[str, Any]:
    tasks = [task for task in load_tasks("builtin", tmp_path / "agent-home") if task.instance_id in ids]
    with start_sim(tasks) as fake:
        done = run_agent(tmp_path, "bench", "builtin", "--ids", ",".join(ids), *args, "--json", env=sim_env(fake))
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.docker
@pytest.mark.slow
def test_a_grid_bench_solves_exactly_the_attempts_the_population_passes(tmp_path, population):
    result = bench_against_sim(tmp_path, GRID_IDS, "--grid", "sim-flash,sim-frontier@low,max", "--workers", "4")
    expected = sorted(
        f"{task_id}@{model}@{level}"
        for task_id in GRID_IDS
        for model in ("sim-flash", "sim-frontier")
        for level in (LOW, MAX)
        if attempt_passes(population, BY_ID[task_id], model, level, 0)
    )
    assert (result["instances"], result["error_ids"], result["failed_calls"]) == (12, [], 0)
    assert sorted(result["resolved_ids"]) == expected and 0 < len(expected) < 12
    assert result["review_billed_attempts"] == 12  # failing attempts leave a diff to review too
    assert result["api_cost_usd"] > 0
    report = run_agent(tmp_path, "report", result["run_id"], "--by", "rung", "--json")
    groups = {row["group"]: row for row in json.loads(report.stdout)["groups"]}
    assert {name: row["unpriced_calls"] for name, row in groups.items()} == dict.fromkeys(groups, 0)
    per_attempt = {name: row["api_cost_usd"] / row["attempts"] for name, row in groups.items()}
    assert per_attempt["sim-frontier@max"] > per_attempt["sim-frontier@low"] > per_attempt["sim-flash@low"] > 0
    assert per_attempt["sim-frontier@max"] > per_attempt["sim-flash@max"] > per_attempt["sim-flash@low"]


@pytest.mark.docker
@pytest.mark.slow
def test_a_climb_draws_each_rung_with_its_attempt_number(tmp_path, population):
    ids = ["inicfg__parser-indent", "ledgerlite__allocate-cents"]
    ladder = ",".join(f"{model}@{level}" for model, level in LADDER)
    result = bench_against_sim(tmp_path, ids, "--ladder", ladder, "--workers", "2")
    solved_by = {
        json.loads(line)["instance_id"]: json.loads(line)["model_name_or_path"]
        for line in Path(result["predictions_path"]).read_text().splitlines()
    }

    def first_pass(task_id: str, numbered: bool) -> str:
        draws = [
            (f"{m}@{e}", attempt_passes(population, BY_ID[task_id], m, e, i if numbered else 0))
            for i, (m, e) in enumerate(LADDER)
        ]
        return next((rung for rung, passed in draws if passed), "unsolved")

    assert solved_by == {task_id: first_pass(task_id, numbered=True) for task_id in ids}
    assert solved_by != {task_id: first_pass(task_id, numbered=False) for task_id in ids}  # the number matters
    assert (result["resolved"], result["error_ids"], result["attempts"]) == (2, [], 5)
