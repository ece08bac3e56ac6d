"""Bad input is strict and never prints a traceback: `agent` run in-process, each refusal pinned.

Usage errors exit 2 with typer's usage line and one `Error:` line; bad values and environments exit 2
with one `error:` line and touch nothing; unverifiable test commands fail before any model call;
an unreachable provider exits 3; interrupts exit 130. The last two tests press Ctrl-C in a real
terminal (tmux) on a live run in a Docker sandbox.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from agent.ledger import Ledger
from tests.cli_helpers import Ran, run_agent
from tests.fix_helpers import ESCALATE, TEST_CMD, fix_args
from tests.repo_helpers import ISSUE, RIGHT_FIX, edit_turn, fingerprint, plan_turn
from tests.terminal_helpers import Tmux

BAD_LADDERS = [
    ("m@@high,", "bad rung 'm@@high'"),
    ("claude-opus-4-7@@high,", "bad rung 'claude-opus-4-7@@high'"),
    ("claude-opus-4-7@high,,claude-opus-4-7@max", "rung 2 of 3 is empty"),
]


def ledger_of(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "agent-home" / "ledger.sqlite")


def assert_one_error_line(done: Ran, code: int, *phrases: str) -> str:
    """Exit `code`, exactly one non-empty stderr line, starting `error: ` and holding every phrase."""
    assert done.returncode == code, (done.stdout, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert all(phrase in lines[0] for phrase in phrases), done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    return lines[0]


# --- A: usage errors ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "usage", "message"),
    [
        ("--bogus", "agent [OPTIONS] COMMAND", "No such option: --bogus"),
        ("fixx", "agent [OPTIONS] COMMAND", "No such command 'fixx'"),
        ("fix x --bogus", "agent fix [OPTIONS]", "No such option: --bogus"),
        ("runs --limit 0", "agent runs [OPTIONS]", "Invalid value for '--limit'"),
        ("bench builtin --workers 0", "agent bench [OPTIONS]", "Invalid value for '--workers'"),
        ("bench builtin --workers -3", "agent bench [OPTIONS]", "Invalid value for '--workers'"),
        ("bench builtin --max-cost abc", "agent bench [OPTIONS]", "Invalid value for '--max-cost'"),
        ("fix --text x --max-cost -1", "agent fix [OPTIONS]", "-1 is not a cost cap"),
        ("bench builtin --max-cost 0", "agent bench [OPTIONS]", "0 is not a cost cap"),
        ("bench builtin --limit 0", "agent bench [OPTIONS]", "Invalid value for '--limit'"),
        ("bench builtin --limit -2", "agent bench [OPTIONS]", "Invalid value for '--limit'"),
        ("tasks show builtin SOME_ID", "agent tasks show [OPTIONS]", "unexpected extra argument(s) (SOME_ID)"),
        ("report RUN --html {tmp}", "agent report [OPTIONS]", "{tmp} is a directory"),
        ("report RUN --html {tmp}/missing/r.html", "agent report [OPTIONS]", "folder {tmp}/missing does not exist"),
    ],
)
def test_usage_error_exits_2_with_the_usage_line_and_one_error_line(tmp_path, args, usage, message):
    done = run_agent(tmp_path, *shlex.split(args.format(tmp=tmp_path)))
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.splitlines()
    usage_lines = [line for line in lines if line.startswith("Usage: ")]
    # run_agent starts `python -m agent`, so typer names the program `python -m agent`.
    assert len(usage_lines) == 1 and usage_lines[0].startswith(f"Usage: python -m {usage}"), done.stderr
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1 and message.format(tmp=tmp_path) in errors[0], done.stderr
    assert "Traceback" not in done.stdout + done.stderr


# --- B: bad values and environments ---------------------------------------------------------
@pytest.mark.parametrize("command", ["plan", "fix"])
@pytest.mark.parametrize(("ladder", "message"), BAD_LADDERS)
def test_malformed_ladder_exits_2_and_names_the_rung(tmp_path, repo, issue_file, command, ladder, message):
    args = ["plan", "--text", "x"] if command == "plan" else fix_args(repo, issue_file)
    before = fingerprint(repo)
    done = run_agent(tmp_path, *args, "--ladder", ladder)
    assert_one_error_line(done, 2, message)
    assert fingerprint(repo) == before


@pytest.mark.parametrize(("name", "text"), [("empty.jsonl", ""), ("empty.json", "[]")])
def test_task_file_without_tasks_exits_2(tmp_path, name, text):
    (tmp_path / name).write_text(text)
    done = run_agent(tmp_path, "bench", str(tmp_path / name), "--model", "null")
    assert_one_error_line(done, 2, f"{tmp_path / name} holds no tasks")
    assert not (tmp_path / "agent-home" / "runs").exists()


@pytest.mark.parametrize("command", ["plan", "fix"])
@pytest.mark.parametrize("case", ["config_missing", "home_is_file", "issue_and_text", "issue_too_big"])
def test_bad_environment_or_issue_exits_2_and_touches_nothing(tmp_path, repo, issue_file, command, case):
    env: dict[str, str] = {}
    issue, extra = issue_file, []
    if case == "config_missing":
        env["AGENT_CONFIG"] = str(tmp_path / "nope.toml")
        phrases = [f"AGENT_CONFIG names {tmp_path / 'nope.toml'}, which does not exist"]
    elif case == "home_is_file":
        (tmp_path / "home-file").write_text("")
        env["AGENT_HOME"] = str(tmp_path / "home-file")
        phrases = [f"{tmp_path / 'home-file'} is a file, not a directory"]
    elif case == "issue_and_text":
        extra = ["--text", "x"]
        phrases = [f"both ISSUE ({issue_file}) and --text given"]
    else:
        issue = tmp_path / "big.md"
        issue.write_text("a" * 201 * 1024)
        phrases = [f"the issue from {issue} is 201 KB, over the 200 KB limit"]
    args = ["plan", str(issue), *extra] if command == "plan" else [*fix_args(repo, issue), *extra]
    before = fingerprint(repo)
    done = run_agent(tmp_path, *args, env=env)
    assert_one_error_line(done, 2, *phrases)
    assert fingerprint(repo) == before
    assert not (tmp_path / "agent-home" / "ledger.sqlite").exists()


def test_error_message_keeps_its_square_brackets(tmp_path):
    """The advice names the config section `[issue] max_kb`: printed as text, not read as rich markup."""
    issue = tmp_path / "big.md"
    issue.write_text("a" * 201 * 1024)
    done = run_agent(tmp_path, "plan", str(issue))
    assert_one_error_line(done, 2, "or raise [issue] max_kb")


# --- C: the test command is checked before any model call -----------------------------------
@pytest.mark.parametrize(
    ("extra", "phrases"),
    [
        (
            ["--test-cmd", "nosuchcmd -m pytest"],
            ["the test command was not found in the sandbox", "no model was called"],
        ),
        (
            ["--test-cmd", TEST_CMD, "--target", "tests/test_ops.py::test_nope"],
            ["--target tests/test_ops.py::test_nope is not a test the test command runs", "no model was called"],
        ),
        (
            ["--test-cmd", "python -m pytest -q tests/nope.py"],
            ["pytest could not start (usage error, exit 4", "no model was called"],
        ),
    ],
)
def test_unverifiable_test_command_fails_before_any_model_call(
    tmp_path, repo, issue_file, make_fake, fake_env, extra, phrases
):
    fake = make_fake(ESCALATE)
    args = ["fix", str(issue_file), "--repo", str(repo), "--ladder", "claude-opus-4-7@high", "--sandbox", "local"]
    before = fingerprint(repo)
    done = run_agent(tmp_path, *args, *extra, env=fake_env(fake))
    assert_one_error_line(done, 2, *phrases)
    assert fake.requests == []
    assert fingerprint(repo) == before
    ledger = ledger_of(tmp_path)
    [run] = ledger.runs()
    [issue] = ledger.issues(run.id)
    assert (issue.status, issue.error_kind) == ("error", "environment")
    assert ledger.attempts(run.id) == []


def test_a_test_command_that_is_not_pytest_is_refused_before_the_ledger_is_written(
    tmp_path, repo, issue_file, make_fake, fake_env
):
    fake = make_fake(ESCALATE)
    args = ["fix", str(issue_file), "--repo", str(repo), "--sandbox", "local", "--test-cmd", "nosuchcmd"]
    done = run_agent(tmp_path, *args, env=fake_env(fake))
    assert_one_error_line(done, 2, "--test-cmd 'nosuchcmd' does not run pytest", "no model was called")
    assert fake.requests == []
    assert ledger_of(tmp_path).runs() == []


# --- D: oracle and null need a gold patch ---------------------------------------------------
@pytest.mark.parametrize("model", ["oracle", "null"])
def test_oracle_and_null_on_an_issue_exit_2_before_the_baseline(tmp_path, repo, issue_file, model):
    before = fingerprint(repo)
    started = time.monotonic()
    done = run_agent(tmp_path, *fix_args(repo, issue_file, "--model", model, "--sandbox", "local"))
    assert_one_error_line(done, 2, "has no gold patch", f"the {model} model only checks the harness")
    assert time.monotonic() - started < 10
    assert fingerprint(repo) == before
    ledger_path = tmp_path / "agent-home" / "ledger.sqlite"
    if ledger_path.exists():  # a run may be recorded, but never an issue nor a baseline
        ledger = Ledger(ledger_path)
        assert all(ledger.issues(run.id) == [] for run in ledger.runs())


# --- E: an unreachable provider is an infrastructure failure --------------------------------
def test_unreachable_provider_exits_3(tmp_path, repo, issue_file, free_port):
    env = {"ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{free_port}"}
    args = ["fix", str(issue_file), "--repo", str(repo), "--test-cmd", TEST_CMD, "--no-tui"]
    before = fingerprint(repo)
    done = run_agent(tmp_path, *args, "--ladder", "claude-opus-4-7@high", "--sandbox", "local", env=env)
    assert_one_error_line(done, 3, f"cannot reach anthropic at http://127.0.0.1:{free_port}")
    assert fingerprint(repo) == before
    ledger = ledger_of(tmp_path)
    [run] = ledger.runs()
    assert [(issue.status, issue.error_kind) for issue in ledger.issues(run.id)] == [("error", "provider")]


# --- F: terminals, version, aborted review --------------------------------------------------
def test_tui_without_a_terminal_exits_2(tmp_path):
    started = time.monotonic()
    done = run_agent(tmp_path, "tui", stdin="")  # stdin and stdout are no terminal
    assert time.monotonic() - started < 10
    assert_one_error_line(done, 2, "agent tui needs a terminal")


def test_version_prints_the_package_version(tmp_path):
    done = run_agent(tmp_path, "--version")
    assert (done.returncode, done.stdout, done.stderr) == (0, "agent 0.1.0\n", "")


def test_review_at_end_of_input_exits_130_and_records_nothing(tmp_path, repo, issue_file):
    script = tmp_path / "fix.json"
    script.write_text(json.dumps({"rules": [{"turns": [plan_turn(), edit_turn(RIGHT_FIX), {"text": "Fixed."}]}]}))
    solved = run_agent(
        tmp_path, *fix_args(repo, issue_file, "--ladder", f"scripted:{script}@medium", "--sandbox", "local")
    )
    assert solved.returncode == 0, solved.stderr
    run_id = json.loads(solved.stdout)["run_id"]
    done = run_agent(tmp_path, "review", run_id, stdin="")
    assert done.returncode == 130, (done.stdout, done.stderr)
    assert [line for line in done.stderr.splitlines() if line.strip()] == ["aborted"]
    assert "Traceback" not in done.stdout + done.stderr
    ledger = ledger_of(tmp_path)
    [attempt] = ledger.attempts(run_id)
    assert attempt.tests_passed and ledger.reviews(attempt.id) == []


# --- H: Ctrl-C in the live view -------------------------------------------------------------
def start_slow_fix_in_tmux(tmp_path: Path, repo: Path, fake_url_env: dict[str, str]) -> Tmux:
    issue = tmp_path / "issue.md"
    issue.write_text(ISSUE)
    args = ["fix", str(issue), "--repo", str(repo), "--test-cmd", TEST_CMD]
    args += ["--ladder", "claude-opus-4-7@high", "--sandbox", "docker"]
    tmux = Tmux()
    tmux.start_agent(tmp_path, args, fake_url_env)
    return tmux


def wait_for_running_attempt(tmp_path: Path, tmux: Tmux) -> str:
    """The live view shows the ladder and the ledger has the attempt running; returns the run id."""
    tmux.wait_for("claude-opus-4-7@high")
    ledger_path = tmp_path / "agent-home" / "ledger.sqlite"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if ledger_path.exists():
            ledger = Ledger(ledger_path)
            runs = ledger.runs(limit=1)
            if runs and [a.state for a in ledger.attempts(runs[0].id)] == ["running"]:
                time.sleep(1)
                return runs[0].id
        time.sleep(0.2)
    raise AssertionError(f"no attempt started; the screen shows:\n{tmux.screen()}")


def slow_plan(delay_s: float) -> dict:
    return {"rules": [{"turns": [{**plan_turn(), "delay_s": delay_s}, edit_turn(RIGHT_FIX), {"text": "Fixed."}]}]}


def containers_of(run_id: str) -> list[str]:
    found = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=agent.run={run_id}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return found.stdout.split()


needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


@needs_tmux
@pytest.mark.docker
def test_second_ctrl_c_in_the_live_view_exits_130_at_once_and_removes_the_sandbox(tmp_path, repo, make_fake, fake_env):
    fake = make_fake(slow_plan(20))
    tmux = start_slow_fix_in_tmux(tmp_path, repo, fake_env(fake))
    try:
        run_id = wait_for_running_attempt(tmp_path, tmux)
        assert containers_of(run_id) != []
        tmux.run("send-keys", "-t", "t", "C-c")
        tmux.wait_for("Stop and quit?", seconds=5)
        time.sleep(1)
        assert "EXIT=" not in tmux.screen()  # the first Ctrl-C only asks: the run goes on
        assert [a.state for a in ledger_of(tmp_path).attempts(run_id)] == ["running"]
        pressed = time.monotonic()
        tmux.run("send-keys", "-t", "t", "C-c")
        tmux.wait_for("EXIT=130", seconds=5)
        assert time.monotonic() - pressed < 5
        assert containers_of(run_id) == []
    finally:
        tmux.kill()


@needs_tmux
@pytest.mark.docker
def test_ctrl_c_then_y_stops_after_the_current_turn_and_exits_1(tmp_path, repo, make_fake, fake_env):
    delay = 8
    fake = make_fake(slow_plan(delay))
    tmux = start_slow_fix_in_tmux(tmp_path, repo, fake_env(fake))
    try:
        run_id = wait_for_running_attempt(tmp_path, tmux)
        tmux.run("send-keys", "-t", "t", "C-c")
        tmux.wait_for("Stop and quit?", seconds=5)
        tmux.run("send-keys", "-t", "t", "y")
        tmux.wait_for("stopping after the current turn", seconds=5)
        tmux.wait_for("EXIT=1", seconds=delay + 60)
        [attempt] = ledger_of(tmp_path).attempts(run_id)
        assert (attempt.state, attempt.outcome, attempt.turns, attempt.tests_passed) == (
            "finished",
            "stopped",
            1,
            False,
        )
        assert len(fake.requests) == 1  # the turn in flight was finished, no other one was asked for
        assert containers_of(run_id) == []
    finally:
        tmux.kill()
