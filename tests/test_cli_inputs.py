"""Bad input to `agent`, each refusal pinned in-process: exit 2, one `error:` line that says what is wrong
and what to do, nothing of the user's touched (and, with --json, one error object on stdout); and the
commands that find runs (`agent runs`, `agent report` without a run id) and models (`agent models`)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from agent.ledger import Ledger
from agent.reporting.report import policy_specs
from tests.cli_helpers import Ran, run_agent
from tests.repo_helpers import fingerprint

UNKNOWN_X = (
    'unknown model x: use provider:model, or add [models."x"] provider=... to agent.toml'
    " (`agent models` lists the known ones)"
)
EFFORTS = "use one of low, medium, high, xhigh, max"
EMPTY_LADDER = (
    "--ladder is empty: give rungs as MODEL@EFFORT[,MODEL@EFFORT...], e.g."
    " claude-opus-4-7@medium,claude-opus-4-7@high, or leave --ladder out to let the planner choose"
)
POLICY_FORMS = (
    "use planner (or rules: each task type's ladder), learned (the learned planner, cross-validated),"
    " MODEL@EFFORT[,MODEL@EFFORT...] (a fixed ladder; MODEL@EFFORT*N repeats a rung), each as NAME=... to name it,"
    " e.g. climb=claude-opus-4-7@medium,claude-opus-4-7@max"
)


def refused(ran: Ran, line: str) -> None:
    """Exit 2 and exactly `error: line` on stderr, no traceback."""
    assert ran.code == 2, (ran.stdout, ran.stderr)
    assert ran.error_lines() == [f"error: {line}"]
    assert "Traceback" not in ran.stdout + ran.stderr


def command_args(command: str, repo: Path, issue: Path, *extra: str) -> list[str]:
    if command == "plan":
        return ["plan", str(issue), *extra]
    return ["fix", str(issue), "--repo", str(repo), "--test-cmd", "python -m pytest -q", "--no-tui", *extra]


# --- the global --ledger --------------------------------------------------------------------
@pytest.mark.parametrize("command", [["stats"], ["runs"], ["report"], ["plan", "--text", "a bug"]])
def test_ledger_in_a_missing_folder_is_refused_and_nothing_is_created(tmp_path, command):
    ledger = tmp_path / "no" / "such" / "x.sqlite"
    ran = run_agent(tmp_path, "--ledger", str(ledger), *command)
    folder = tmp_path / "no" / "such"
    refused(ran, f"bad --ledger: folder {folder} does not exist: create it (mkdir -p {folder}) or choose another path")
    assert not (tmp_path / "no").exists()
    assert not (tmp_path / "agent-home").exists()


def test_ledger_that_is_a_directory_is_refused(tmp_path):
    ran = run_agent(tmp_path, "--ledger", str(tmp_path), "stats")
    refused(ran, f"bad --ledger: {tmp_path} is a directory: name the file, e.g. {tmp_path / 'ledger.sqlite'}")
    assert sorted(path.name for path in tmp_path.iterdir()) == []


# --- --ladder and --model, the same in plan and fix -----------------------------------------
@pytest.mark.parametrize("command", ["plan", "fix"])
@pytest.mark.parametrize(
    ("ladder", "line"),
    [
        ("x@high", f"bad rung 'x@high': {UNKNOWN_X}"),
        ("claude-opus-4-7@high,x@max", f"bad rung 'x@max': {UNKNOWN_X}"),
        ("x@y", f"bad rung 'x@y': {UNKNOWN_X}; and unknown effort level 'y': {EFFORTS}"),
        ("claude-opus-4-7@y", f"bad rung 'claude-opus-4-7@y': unknown effort level 'y': {EFFORTS}"),
        ("", EMPTY_LADDER),
        (" ", EMPTY_LADDER),
        ("m@@high,", "bad rung 'm@@high': write MODEL@EFFORT, e.g. claude-opus-4-7@high"),
    ],
)
def test_plan_and_fix_refuse_the_same_ladders_with_the_same_line(tmp_path, repo, issue_file, command, ladder, line):
    before = fingerprint(repo)
    ran = run_agent(tmp_path, *command_args(command, repo, issue_file, "--ladder", ladder))
    refused(ran, line)
    assert fingerprint(repo) == before
    assert not (tmp_path / "agent-home" / "runs").exists()


@pytest.mark.parametrize("command", ["plan", "fix"])
@pytest.mark.parametrize(
    ("model", "line"),
    [
        ("x", f"--model x: {UNKNOWN_X}"),
        (
            "scripted",
            "--model scripted: the scripted model needs its script: write scripted:FILE (a JSON script of turns)",
        ),
    ],
)
def test_plan_and_fix_refuse_an_unknown_model(tmp_path, repo, issue_file, command, model, line):
    refused(run_agent(tmp_path, *command_args(command, repo, issue_file, "--model", model)), line)


def test_plan_accepts_a_ladder_of_known_and_simulated_models(tmp_path):
    ran = run_agent(tmp_path, "plan", "--text", "a bug", "--ladder", "null@low,claude-opus-4-7@max", "--json")
    assert ran.code == 0, ran.stderr
    plan = json.loads(ran.stdout)
    assert (plan["ladder"], plan["ladder_source"]) == (["null@low", "claude-opus-4-7@max"], "--ladder")


# --- the issue argument ---------------------------------------------------------------------
@pytest.mark.parametrize("command", ["plan", "fix"])
def test_a_directory_as_the_issue_is_named_as_a_directory(tmp_path, repo, command):
    folder = tmp_path / "issues"
    folder.mkdir()
    refused(
        run_agent(tmp_path, *command_args(command, repo, folder)),
        f"issue {folder} is a directory: give the issue's file (e.g. {folder / 'issue.md'}), '-' to read it from"
        " stdin, a GitHub issue (owner/repo#N or its URL) or --text",
    )


# --- --image ----------------------------------------------------------------------------------
@pytest.mark.docker
def test_an_image_this_machine_lacks_is_bad_input(tmp_path, repo, issue_file):
    before = fingerprint(repo)
    ran = run_agent(
        tmp_path, *command_args("fix", repo, issue_file, "--model", "null", "--image", "nosuch-agent:latest")
    )
    refused(
        ran,
        "image nosuch-agent:latest is not on this machine: build or pull it first, name another with --image,"
        " or leave --image out to use agent-sandbox:latest",
    )
    assert fingerprint(repo) == before
    assert not (tmp_path / "agent-home" / "runs").exists()


# --- --json errors ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "kind", "message"),
    [
        (["--ladder", "x@high"], "config", f"bad rung 'x@high': {UNKNOWN_X}"),
        (["--sandbox", "vm"], "config", "unknown sandbox 'vm': use docker or local"),
    ],
)
def test_fix_json_prints_one_error_object_on_stdout(tmp_path, repo, issue_file, args, kind, message):
    ran = run_agent(tmp_path, *command_args("fix", repo, issue_file, "--json", *args))
    refused(ran, message)
    assert json.loads(ran.stdout) == {"status": "error", "error_kind": kind, "error": message, "exit_code": 2}
    assert len(ran.stdout.splitlines()) == 1


def test_fix_json_with_a_missing_repository_is_a_task_error_object(tmp_path, issue_file):
    missing = tmp_path / "nowhere"
    ran = run_agent(tmp_path, "fix", str(issue_file), "--repo", str(missing), "--json")
    message = f"repository {missing} does not exist: pass --repo PATH to a git repository"
    refused(ran, message)
    assert json.loads(ran.stdout) == {"status": "error", "error_kind": "task", "error": message, "exit_code": 2}


# --- report --policy --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("policy", "line"),
    [
        ("bogus", f"--policy 'bogus' is not a policy: {POLICY_FORMS}"),
        ("=planner", f"--policy '=planner' is not a policy: {POLICY_FORMS}"),
        (
            "fast=m@quick",
            f"--policy 'fast=m@quick' is not a policy (bad rung 'm@quick': unknown effort level 'quick': {EFFORTS}):"
            f" {POLICY_FORMS}",
        ),
    ],
)
def test_report_policy_of_no_accepted_form_lists_the_forms(tmp_path, policy, line):
    refused(run_agent(tmp_path, "report", "--policy", policy), line)


def test_rules_is_the_planner_policy_in_report():
    assert policy_specs(["rules", "mine=rules", "learned", "max=m@max*2"]) == [
        "rules=planner",
        "mine=planner",
        "learned",
        "max=m@max*2",
    ]


# --- runs: listing, the latest, and pointers to them ------------------------------------------
def make_runs(home: Path) -> tuple[str, str]:
    """Two runs in the ledger `agent` reads under `home`: a finished fix, then a running bench."""
    ledger = Ledger(home / "agent-home" / "ledger.sqlite")
    try:
        first = ledger.create_run("fix", {"issue": "issue.md"}, Decimal(100), None, run_id="run-one")
        ledger.finish_run(first)
        second = ledger.create_run("bench", {"options": {"suite": "builtin"}}, Decimal(100), None, run_id="run-two")
    finally:
        ledger.close()
    return first, second


def test_runs_lists_the_ledgers_runs_newest_first(tmp_path):
    first, second = make_runs(tmp_path)
    ran = run_agent(tmp_path, "runs", "--json")
    assert ran.code == 0, ran.stderr
    rows = json.loads(ran.stdout)
    assert [
        (row["run_id"], row["kind"], row["status"], row["issues"], row["solved"], row["source"]) for row in rows
    ] == [
        (second, "bench", "running", 0, 0, "builtin"),
        (first, "fix", "finished", 0, 0, "issue.md"),
    ]
    shown = run_agent(tmp_path, "runs", "--limit", "1")
    assert shown.code == 0, shown.stderr
    assert second in shown.stdout and first not in shown.stdout


def test_a_mining_run_lists_no_solved_count(tmp_path):
    ledger = Ledger(tmp_path / "agent-home" / "ledger.sqlite")
    try:
        ledger.create_run("mine", {"repo": "r"}, Decimal(100), None, run_id="run-mine")
    finally:
        ledger.close()
    [row] = json.loads(run_agent(tmp_path, "runs", "--json").stdout)
    assert (row["kind"], row["solved"]) == ("mine", None)


def test_runs_on_an_empty_ledger_says_what_to_run(tmp_path):
    ran = run_agent(tmp_path, "runs")
    assert (ran.code, ran.stderr) == (0, "")
    ledger = tmp_path / "agent-home" / "ledger.sqlite"
    assert ran.stdout.split() == f"no runs in {ledger} yet: run `agent fix`, `agent bench` or `agent demo`".split()


def test_report_without_a_run_id_reports_the_latest_run(tmp_path):
    _first, second = make_runs(tmp_path)
    ran = run_agent(tmp_path, "report", "--json")
    assert ran.code == 0, ran.stderr
    assert json.loads(ran.stdout)["runs"] == [second]


def test_report_without_runs_says_what_to_run(tmp_path):
    ledger = tmp_path / "agent-home" / "ledger.sqlite"
    refused(
        run_agent(tmp_path, "report"), f"{ledger} has no runs yet: run `agent fix`, `agent bench` or `agent demo` first"
    )


@pytest.mark.parametrize("command", ["report", "stats", "review"])
def test_an_unknown_run_id_points_to_agent_runs(tmp_path, command):
    make_runs(tmp_path)
    ledger = tmp_path / "agent-home" / "ledger.sqlite"
    refused(
        run_agent(tmp_path, command, "nosuch"),
        f"no run nosuch in {ledger}: `agent runs` lists the run ids (or check --ledger)",
    )


def test_resume_of_an_unknown_run_points_to_agent_runs(tmp_path):
    make_runs(tmp_path)
    ledger = tmp_path / "agent-home" / "ledger.sqlite"
    ran = run_agent(tmp_path, "bench", "--resume", "nosuch", "--sandbox", "local")
    refused(ran, f"no bench run nosuch in {ledger}: `agent runs` lists the run ids")


# --- models -----------------------------------------------------------------------------------
def test_models_lists_the_simulated_models_as_needing_no_key(tmp_path):
    ran = run_agent(tmp_path, "models", "--json")
    assert ran.code == 0, ran.stderr
    entries = {entry["model"]: entry for entry in json.loads(ran.stdout)}
    simulated = {name: entry["provider"] for name, entry in entries.items() if entry["simulated"]}
    assert simulated == {
        "sim-frontier": "sim",
        "sim-pro": "sim",
        "sim-flash": "sim",
        "oracle": "simulated",
        "null": "simulated",
        "scripted:FILE": "simulated",
    }
    assert entries["claude-opus-4-7"]["simulated"] is None
    assert entries["oracle"]["input_per_mtok"] is None
    assert entries["sim-flash"]["input_per_mtok"] == "0.1"
    text = run_agent(tmp_path, "models")
    assert text.code == 0, text.stderr
    assert "scripted:FILE: simulated, no API key needed: replays FILE, a JSON script of turns" in " ".join(
        text.stdout.split()
    )
