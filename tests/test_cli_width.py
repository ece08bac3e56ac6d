"""Text output in a pipe (80 columns), at COLUMNS=80 and at COLUMNS=200: nothing is ever cut.

Each test runs the real `agent` command on real ledgers (bench runs with the oracle and null
models, a grid, a fix against the fake provider, all in the local sandbox) and checks that every
id, model name and number the command's JSON holds appears whole in its text, with no `…`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from agent.core.config import load_config
from agent.ledger import Ledger
from agent.providers.catalog import CatalogEntry, notes
from agent.providers.pricing import format_usd
from agent.reporting.report import COLUMNS, cell
from agent.reporting.results import fix_result
from tests.bench_helpers import make_suite
from tests.cli_helpers import run_agent
from tests.fix_helpers import ESCALATE, TEST_CMD
from tests.repo_helpers import ISSUE, make_repo

WIDTHS = [
    pytest.param("", 80, id="pipe"),  # no COLUMNS: Rich uses 80 columns when stdout is not a terminal
    pytest.param("80", 80, id="COLUMNS=80"),
    pytest.param("200", 200, id="COLUMNS=200"),
]


def text_of(home: Path, columns: str, *args: str, env: dict[str, str] | None = None) -> str:
    done = run_agent(home, *args, env={"COLUMNS": columns, **(env or {})})
    assert done.returncode in (0, 1), done.stderr
    return done.stdout


def json_of(home: Path, *args: str) -> Any:
    done = run_agent(home, *args, "--json")
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def assert_whole(text: str, expected: list[str], width: int) -> None:
    """Every expected value on one line, no ellipsis, no line wider than the console but a lone token."""
    assert "…" not in text
    assert [value for value in expected if value not in text] == []
    too_wide = [line for line in text.splitlines() if len(line) > width and len(line.split()) > 1]
    assert too_wide == []


@pytest.fixture(scope="module")
def bench_home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One ledger with an oracle run (its plain progress kept), a null run and an oracle/null grid."""
    home = tmp_path_factory.mktemp("width")
    suite = str(make_suite(home / "suite", ["add", "mul"]))
    oracle = run_agent(home, "bench", suite, "--model", "oracle", "--sandbox", "local", "--run-id", "oracle-run")
    assert oracle.returncode == 0, oracle.stderr
    for args in (
        ["--model", "null", "--run-id", "null-run"],
        ["--grid", "null,oracle@medium,high", "--run-id", "grid"],
    ):
        done = run_agent(home, "bench", suite, *args, "--sandbox", "local", "--json")
        assert done.returncode == 0, done.stderr
    return {"home": home, "progress": oracle.stdout}


def test_plain_bench_progress_counts_jobs_n_of_total(bench_home):
    lines = [line for line in bench_home["progress"].splitlines() if re.match(r"\d+/\d+ ops__", line)]
    assert lines == [
        "1/2 ops__add: solved  (1 solved 0 failed API $0.0000)",
        "2/2 ops__mul: solved  (2 solved 0 failed API $0.0000)",
    ]


def _report_values(data: dict[str, Any]) -> list[str]:
    """Run ids, group names and each number of the report's columns (and the unpriced calls)."""
    values = [*data["runs"]]
    for row in data["groups"] + data["policies"]:
        values.append(row["group"])
        values.extend(cell(key, row[key]) for key in [key for key, _ in COLUMNS] + ["unpriced_calls"])
    return values


@pytest.mark.parametrize(("columns", "width"), WIDTHS)
@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["oracle-run", "null-run"], id="by-rung"),
        pytest.param(["oracle-run", "null-run", "--by", "model"], id="by-model"),
        pytest.param(
            ["grid", "--policy", "climb=null@medium,null@high,oracle@high", "--policy", "gap=null@max"], id="policies"
        ),
    ],
)
def test_report_text_keeps_every_group_and_number(bench_home, columns, width, args):
    home = bench_home["home"]
    data = json_of(home, "report", *args)
    text = text_of(home, columns, "report", *args)
    assert_whole(text, _report_values(data), width)
    # At 80 columns the 15-column table becomes one block per group; at 200 it is a table.
    assert ("rung: oracle@medium" in text or "model: oracle" in text or "policy: climb" in text) == (width == 80)


@pytest.mark.parametrize(("columns", "width"), WIDTHS)
def test_fix_summary_keeps_every_attempt_number(tmp_path, make_fake, fake_env, columns, width):
    repo = make_repo(tmp_path / "calc")
    issue = tmp_path / "issue.md"
    issue.write_text(ISSUE)
    fake = make_fake(ESCALATE)
    args = ["fix", str(issue), "--repo", str(repo), "--test-cmd", TEST_CMD, "--sandbox", "local"]
    args += ["--model", "claude-opus-4-7", "--effort", "medium"]
    text = text_of(tmp_path, columns, *args, env=fake_env(fake))
    ledger = Ledger(tmp_path / "agent-home" / "ledger.sqlite")
    config = load_config(env={"AGENT_HOME": str(tmp_path / "agent-home"), "AGENT_CONFIG": "/dev/null"})
    result = fix_result(ledger, ledger.runs(limit=1)[0].id, config)  # what `agent fix --json` prints
    assert [attempt["effort"] for attempt in result["attempts"]] == ["medium", "high"]
    expected = [result["run_id"], result["branch"], result["patch_path"], result["task_type"], result["status"]]
    for attempt in result["attempts"]:
        expected += [f"{attempt['model']}@{attempt['effort']}", attempt["effort_sent"], attempt["outcome"]]
        expected += [str(attempt[key]) for key in ("turns", "input_tokens", "cache_read_tokens", "output_tokens")]
        expected += [str(attempt["cache_write_tokens"]), format_usd(attempt["api_cost_usd"])]
        expected += [f"{attempt['review_minutes']:g}", f"{attempt['duration_s']:g}"]
    expected += [format_usd(result[key]) for key in ("api_cost_usd", "review_cost_usd", "total_cost_usd")]
    assert all(attempt["api_cost_usd"] for attempt in result["attempts"])  # real prices, not $0
    summary = text[text.index(f"run {result['run_id']}") :]
    assert_whole(summary, expected, width)


@pytest.mark.parametrize(("columns", "width"), WIDTHS)
def test_models_text_keeps_every_name_price_and_effort(tmp_path, columns, width):
    entries = [CatalogEntry.model_validate(row) for row in json_of(tmp_path, "models")]
    text = text_of(tmp_path, columns, "models")
    expected = []
    for entry in entries:
        expected += [entry.model, entry.provider, " ".join(entry.efforts), *notes(entry)]
        expected += [f"{ours}->{sent}" for ours, sent in entry.effort_map.items()]
        prices = (entry.input_per_mtok, entry.output_per_mtok, entry.cache_read_per_mtok)
        expected += [f"${price}" for price in prices if price is not None]
    assert_whole(text, [value for value in expected if len(value) <= width], width)
    # Notes wider than the console wrap at spaces: compare them without the line breaks.
    assert [line for line in expected if line not in " ".join(text.split())] == []


@pytest.mark.parametrize(("columns", "width"), WIDTHS)
def test_tasks_list_keeps_every_id(tmp_path, columns, width):
    rows = json_of(tmp_path, "tasks", "list")
    text = text_of(tmp_path, columns, "tasks", "list")
    assert_whole(text, [row["instance_id"] for row in rows] + [row["task_type"] for row in rows], width)
    assert ("builtin/shopcart" in text) == (width == 200)  # the repo column gives way first
    assert ("not shown at this width: repo" in text) == (width == 80)


LADDER = "claude-haiku-4-5@low,gemini-3.1-pro-preview@xhigh,deepseek-v4-flash@medium,gpt-5.4-mini@max,oracle@low"


@pytest.mark.parametrize(("columns", "width"), WIDTHS)
def test_plan_keeps_every_rung_whole(tmp_path, columns, width):
    args = ["plan", "--text", "Intermittent deadlock in the worker pool", "--ladder", LADDER]
    data = json_of(tmp_path, *args)
    text = text_of(tmp_path, columns, *args)
    assert_whole(text, [*data["ladder"], data["task_type"], data["reason"]], width)
    sent = {line.split()[3]: line.split()[5] for line in text.splitlines() if line.startswith("│")}
    assert sent == {
        "claude-haiku-4-5@low": "low",
        "gemini-3.1-pro-preview@xhigh": "high",
        "deepseek-v4-flash@medium": "high",
        "gpt-5.4-mini@max": "xhigh",
        "oracle@low": "-",
    }
