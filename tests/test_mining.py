"""`agent tasks mine`: candidates from a real git history, validated in real Docker sandboxes, written as
a task file that `agent bench` runs unchanged (the oracle resolves all of it, null none of it).

The history (oldest first): the calculator's initial commit; a fix of add() with its test (kept); a
source-only and a test-only commit (not candidates); a fix of mul() whose new test file also holds a
flaky test and a test that passes throughout (kept); a refactor whose new test passes before and
after (no FAIL_TO_PASS); a fix of neg() that adds a pytest.ini pytest cannot start with (its tests
cannot run).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agent.bench.mining import NO_FAIL_TO_PASS, MineSettings, MiningResult, check_candidate, judge, mine
from agent.core.config import AgentConfig, load_config
from agent.engine.planner import classify_by_rules
from agent.wiring import sandbox_factory
from tasks.history import (
    Candidate,
    Merges,
    candidates,
    difficulty,
    is_source_file,
    issue_lookup,
    open_repo,
    problem_statement,
    range_commits,
)
from tasks.loaders import load_tasks
from tasks.models import Task
from tasks.test_files import DEFAULT_LAYOUT
from tests.cli_helpers import run_agent
from tests.mining_helpers import commit, merge
from tests.repo_helpers import fingerprint, git

OPS = (
    '"""Operations."""\n\n\ndef add(a, b):\n    return {add}\n\n\n'
    "def mul(a, b):\n    return {mul}\n\n\ndef neg(x):\n    return {neg}\n"
)
BUGGY = {"add": "a - b", "mul": "a + b", "neg": "x"}
FLAKY = (
    "\n\ndef test_flaky():\n"
    "    counter = pathlib.Path('/tmp/mine-flaky-count')\n"
    "    count = int(counter.read_text()) if counter.exists() else 0\n"
    "    counter.write_text(str(count + 1))\n"
    "    assert count % 2 == 0\n"
)
ADD_TESTS = "from calc.ops import add\n\n\ndef test_add_zero():\n    assert add(0, 0) == 0\n"
MUL_TESTS = (
    "import pathlib\n\nfrom calc.ops import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n\n\n"
    "def test_mul_zero():\n    assert mul(0, 0) == 0\n" + FLAKY
)
NEG_TESTS = "from calc.ops import neg\n\n\ndef test_neg_zero():\n    assert neg(0) == 0\n"
HISTORY: list[tuple[str, dict[str, str]]] = [
    (
        "initial",
        {
            "calc/__init__.py": "",
            "calc/ops.py": OPS.format(**BUGGY),
            "tests/__init__.py": "",
            "tests/test_ops.py": ADD_TESTS,
        },
    ),
    (
        "Fix add() returning the difference\n\nadd(2, 3) returned -1.\n\nFixes #7",
        {
            "calc/ops.py": OPS.format(**{**BUGGY, "add": "a + b"}),
            "tests/test_ops.py": ADD_TESTS + "\n\ndef test_add():\n    assert add(2, 3) == 5\n",
        },
    ),
    ("Document the operations", {"calc/ops.py": "# Arithmetic.\n" + OPS.format(**{**BUGGY, "add": "a + b"})}),
    ("Test neg() of zero", {"tests/test_neg.py": NEG_TESTS}),
    (
        "Fix mul() adding instead of multiplying",
        {
            "calc/ops.py": "# Arithmetic.\n" + OPS.format(add="a + b", mul="a * b", neg="x"),
            "tests/test_mul.py": MUL_TESTS,
        },
    ),
    (
        "Simplify add()",
        {
            "calc/ops.py": "# Arithmetic.\n" + OPS.format(add="sum((a, b))", mul="a * b", neg="x"),
            "tests/test_ops.py": ADD_TESTS + "\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
            "def test_add_negative():\n    assert add(-1, -2) == -3\n",
        },
    ),
    (
        "Add double(), with a fixture",
        {
            "calc/extra.py": "def double(x):\n    return 2 * x\n",
            "tests/conftest.py": "import pytest\n\nfrom calc.extra import double\n\n\n"
            "@pytest.fixture\ndef two():\n    return double(1)\n",
            "tests/test_extra.py": "def test_double(two):\n    assert two == 2\n",
        },
    ),
    (
        "Fix neg() and run pytest strictly",
        {
            "calc/ops.py": "# Arithmetic.\n" + OPS.format(add="sum((a, b))", mul="a * b", neg="-x"),
            "pytest.ini": "[pytest]\naddopts = --no-such-option\n",
            "tests/test_neg.py": NEG_TESTS + "\n\ndef test_neg_four():\n    assert neg(4) == -4\n",
        },
    ),
]


def make_history(root: Path, history: list[tuple[str, dict[str, str]]] = HISTORY) -> list[str]:
    """Commit `history` into a new repository at `root`, one day apart from 2024-05-01; the shas, oldest first."""
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    return [commit(root, message, dict(files), day) for day, (message, files) in enumerate(history, start=1)]


def refs(repo: Path) -> tuple[str, str, str]:
    return git(repo, "for-each-ref"), git(repo, "symbolic-ref", "HEAD"), git(repo, "status", "--porcelain")


def config_in(home: Path, **overrides: str) -> AgentConfig:
    return load_config(overrides=overrides, env={"AGENT_HOME": str(home), "AGENT_CONFIG": os.devnull})


def by_rules(task: Task, labels: list[str]) -> str:
    return classify_by_rules(task.problem_statement, labels).task_type


# --- the pure-git part ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "is_test"),
    [
        ("tests/helpers.py", True),
        ("src/pkg/testing/fixtures.json", True),
        ("test/data.txt", True),
        ("test_ops.py", True),
        ("pkg/ops_test.py", True),
        ("conftest.py", True),
        ("test.py", True),
        ("pkg/tests.py", True),
        ("pkg/ops.py", False),
        ("pkg/contest.py", False),
        ("latest/ops.py", False),
        ("pkg/test_data.json", False),
    ],
)
def test_the_test_file_rule(path, is_test):
    assert DEFAULT_LAYOUT.is_test_file(path) is is_test


@pytest.mark.parametrize(
    ("path", "is_source"),
    [("pkg/ops.py", True), ("setup.cfg", True), ("README.md", False), ("docs/api.py", False), ("tests/x.py", False)],
)
def test_documentation_does_not_make_a_candidate(path, is_source):
    assert is_source_file(path) is is_source


@pytest.mark.parametrize(
    ("files", "lines", "expected"),
    [
        (1, 1, "easy"),
        (1, 20, "easy"),
        (1, 21, "medium"),
        (2, 5, "medium"),
        (3, 100, "medium"),
        (3, 101, "hard"),
        (4, 4, "hard"),
    ],
)
def test_difficulty_from_the_size_of_the_gold_patch(files, lines, expected):
    assert difficulty(files, lines) == expected


def test_candidates_are_the_commits_changing_source_and_tests_split_into_patch_and_test_patch(tmp_path):
    shas = make_history(tmp_path / "calc")
    for key, value in (("diff.noprefix", "true"), ("color.ui", "always"), ("diff.renames", "copies")):
        git(tmp_path / "calc", "config", key, value)  # the user's settings change nothing in the patches
    found = list(candidates(tmp_path / "calc", range_commits(tmp_path / "calc", "HEAD")))
    assert [(c.sha, c.parent) for c in found] == [(shas[i], shas[i - 1]) for i in (7, 6, 5, 4, 1)]
    fix_add = found[-1]
    assert (fix_add.subject, fix_add.body, fix_add.created_at) == (
        "Fix add() returning the difference",
        "add(2, 3) returned -1.\n\nFixes #7",
        "2024-05-02T12:00:00+00:00",
    )
    assert (fix_add.files, fix_add.lines, fix_add.test_files) == (["calc/ops.py"], 2, ["tests/test_ops.py"])
    assert fix_add.patch.startswith("diff --git a/calc/ops.py b/calc/ops.py\n")
    assert "-    return a - b\n+    return a + b\n" in fix_add.patch and fix_add.patch.endswith("\n")
    assert fix_add.test_patch.startswith("diff --git a/tests/test_ops.py b/tests/test_ops.py\n")
    assert "+def test_add():" in fix_add.test_patch and "tests/" not in fix_add.patch
    assert (found[0].files, found[0].test_files) == (["calc/ops.py", "pytest.ini"], ["tests/test_neg.py"])
    assert (found[1].files, found[1].test_files) == (["calc/extra.py"], ["tests/test_extra.py"])  # not conftest.py
    assert [c.sha for c in candidates(tmp_path / "calc", range_commits(tmp_path / "calc", "HEAD~4"))] == [shas[1]]


class _Issues(BaseHTTPRequestHandler):
    """GitHub's issues endpoint for acme/calc#7; every other issue is missing."""

    def do_GET(self) -> None:
        found = self.path == "/repos/acme/calc/issues/7" and self.headers["Authorization"] == "Bearer t0ken"
        body = json.dumps({"title": "add() is wrong", "body": "add(2, 3) should be 5."}).encode()
        self.send_response(200 if found else 404)
        self.end_headers()
        self.wfile.write(body if found else b"{}")

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def github() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Issues)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


MESSAGE = "Fix add() returning the difference\n\nadd(2, 3) returned -1.\n\nFixes #7"


@pytest.mark.parametrize(
    ("origin", "token", "statement"),
    [
        (
            "https://github.com/acme/calc.git",
            "t0ken",
            MESSAGE + "\n\nIssue #7: add() is wrong\n\nadd(2, 3) should be 5.",
        ),
        ("git@github.com:acme/calc.git", "t0ken", MESSAGE + "\n\nIssue #7: add() is wrong\n\nadd(2, 3) should be 5."),
        ("https://github.com/acme/calc.git", "", MESSAGE),  # no token: GitHub is not asked
        ("https://gitlab.com/acme/calc.git", "t0ken", MESSAGE),  # not GitHub
        ("https://github.com/acme/other.git", "t0ken", MESSAGE),  # GitHub has no such issue: the message alone
    ],
)
def test_the_problem_statement_is_the_message_and_the_referenced_issue(tmp_path, github, origin, token, statement):
    repo = tmp_path / "calc"
    make_history(repo, HISTORY[:2])
    git(repo, "remote", "add", "origin", origin)
    info = open_repo(repo)
    lookup = issue_lookup(info, {"GITHUB_TOKEN": token, "GITHUB_API_URL": github})
    [candidate] = candidates(repo, range_commits(repo, "HEAD"))
    assert problem_statement(candidate, lookup).text == statement
    assert "diff --git" not in problem_statement(candidate, lookup).text


def test_the_pull_request_that_merged_a_fix_is_read_like_an_issue(tmp_path, github):
    repo = tmp_path / "calc"
    make_history(repo, HISTORY[:1])
    git(repo, "checkout", "-q", "-b", "fix-add")
    fix = commit(repo, "Fix add()", HISTORY[1][1], 2)
    git(repo, "checkout", "-q", "main")
    merge(repo, "fix-add", "Merge pull request #7 from acme/fix-add\n\nadd() returns the difference", 3)
    git(repo, "remote", "add", "origin", "https://github.com/acme/calc.git")
    lookup = issue_lookup(open_repo(repo), {"GITHUB_TOKEN": "t0ken", "GITHUB_API_URL": github})
    [candidate] = candidates(repo, range_commits(repo, "HEAD"))
    statement = problem_statement(candidate, lookup, Merges(repo, "HEAD").message_for(candidate.sha))
    assert (candidate.sha, statement.text) == (
        fix,
        "Merge pull request #7 from acme/fix-add\n\nadd() returns the difference\n\nFix add()\n\n"
        "Issue #7: add() is wrong\n\nadd(2, 3) should be 5.",
    )


def test_the_repository_label_is_its_github_name_or_local(tmp_path):
    repo = tmp_path / "calc"
    make_history(repo, HISTORY[:1])
    assert (open_repo(repo / "calc").label, open_repo(repo).path) == ("local/calc", repo.resolve())
    git(repo, "remote", "add", "origin", "ssh://git@github.com/acme/calc")
    assert open_repo(repo).label == "acme/calc"


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        # fails (or is missing) in every run before, passes in every run after: FAIL_TO_PASS
        ([{"t::a": "failed"}] * 3, [{"t::a": "passed"}] * 3, (["t::a"], [], [])),
        ([{}, {}, {}], [{"t::a": "passed"}] * 3, (["t::a"], [], [])),
        # passes in all six: PASS_TO_PASS; flips on one side: flaky, in neither list
        (
            [{"t::a": "error", "t::b": "passed", "t::c": "passed"}] * 2 + [{"t::a": "failed", "t::b": "passed"}],
            [{"t::a": "passed", "t::b": "passed", "t::c": "passed"}] * 3,
            (["t::a"], ["t::b"], ["t::c"]),
        ),
        ([{"t::a": "failed"}] * 3, [{"t::a": "passed"}, {"t::a": "failed"}, {"t::a": "passed"}], ([], [], ["t::a"])),
        ([{"t::a": "passed"}] * 3, [{"t::a": "failed"}] * 3, ([], [], [])),  # broken by the change: neither
        ([{"t::a": "skipped"}] * 3, [{"t::a": "skipped"}] * 3, ([], [], [])),
    ],
)
def test_judge_sorts_tests_into_fail_to_pass_pass_to_pass_and_flaky(before, after, expected):
    verdict = judge(before, after)
    assert (verdict.fail_to_pass, verdict.pass_to_pass, verdict.flaky) == expected
    assert verdict.skip == (None if expected[0] else "no_fail_to_pass")


def test_pass_to_pass_is_capped_by_name():
    runs = [{"t::new": "failed", **{f"t::p{i:02d}": "passed" for i in range(60)}}]
    verdict = judge(runs, [{**runs[0], "t::new": "passed"}], p2p_cap=50)
    assert verdict.pass_to_pass == [f"t::p{i:02d}" for i in range(50)]


# --- validation in Docker sandboxes -------------------------------------------------------------
@pytest.fixture(scope="module")
def mined(tmp_path_factory) -> tuple[Path, list[str], MiningResult, dict, tuple]:
    """The whole history mined once (newest first), with the repository's state before."""
    root = tmp_path_factory.mktemp("mined")
    repo = root / "calc"
    shas = make_history(repo)
    before = (fingerprint(repo), refs(repo))
    settings = MineSettings(repo=open_repo(repo), timeout_s=60)
    result = mine(
        candidates(repo, range_commits(repo, "HEAD")),
        settings,
        sandbox_factory(config_in(root / "home"), "test-mine"),
        describe=lambda candidate: problem_statement(candidate, None),
        classify=by_rules,
    )
    return repo, shas, result, before[0], before[1]


@pytest.mark.docker
def test_mining_keeps_the_fixes_with_their_exact_fail_to_pass_and_pass_to_pass(mined):
    repo, shas, result, _, _ = mined
    assert [(task.instance_id, task.base_commit, task.FAIL_TO_PASS, task.PASS_TO_PASS) for task in result.tasks] == [
        (f"calc__{shas[6][:10]}", shas[5], ["tests/test_extra.py::test_double"], []),
        (f"calc__{shas[4][:10]}", shas[3], ["tests/test_mul.py::test_mul"], ["tests/test_mul.py::test_mul_zero"]),
        (f"calc__{shas[1][:10]}", shas[0], ["tests/test_ops.py::test_add"], ["tests/test_ops.py::test_add_zero"]),
    ]
    fix_add = result.tasks[2]
    assert fix_add.model_dump(include={"repo", "repo_path", "problem_statement", "title", "test_cmd"}) == {
        "repo": "local/calc",
        "repo_path": str(repo.resolve()),
        "problem_statement": MESSAGE,
        "title": "Fix add() returning the difference",
        "test_cmd": "python -m pytest -q",
    }
    assert (fix_add.task_type, fix_add.difficulty, fix_add.created_at) == (
        "bug_fix",
        "easy",
        "2024-05-02T12:00:00+00:00",
    )
    assert "+def test_add():" in fix_add.test_patch and "+    return a + b" in fix_add.patch


@pytest.mark.docker
def test_mining_skips_the_others_and_says_why(mined):
    _, shas, result, _, _ = mined
    assert result.skipped() == {
        "does_not_apply": 0,
        "environment_error": 0,
        "tests_cannot_run": 1,
        "no_fail_to_pass": 1,
    }
    assert result.causes() == {"pytest_cannot_start": 1, "no_fail_to_pass": 1}
    assert [(skip.commit, skip.reason) for skip in result.skips] == [
        (shas[7], "tests_cannot_run"),
        (shas[5], "no_fail_to_pass"),
    ]
    assert result.skips[0].detail.startswith("with the change: pytest could not start (usage error, exit 4")
    assert result.skips[1].detail == NO_FAIL_TO_PASS


@pytest.mark.docker
def test_a_test_whose_runs_disagree_is_flaky_and_in_neither_list(mined):
    repo, shas, _, _, _ = mined
    fix_mul = next(c for c in candidates(repo, [shas[4]]))
    verdict = check_candidate(
        fix_mul, MineSettings(repo=open_repo(repo), timeout_s=60), sandbox_factory(config_in(repo.parent / "home"), "t")
    )
    assert (verdict.skip, verdict.fail_to_pass, verdict.pass_to_pass, verdict.flaky) == (
        None,
        ["tests/test_mul.py::test_mul"],
        ["tests/test_mul.py::test_mul_zero"],
        ["tests/test_mul.py::test_flaky"],
    )


@pytest.mark.docker
def test_mining_leaves_the_working_tree_branches_and_head_untouched(mined):
    repo, _, _, files, state = mined
    assert (fingerprint(repo), refs(repo)) == (files, state)
    assert state[1:] == ("refs/heads/main\n", "")


def _changes(path: str, old: str) -> str:
    return f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n-{old}\n+# changed\n"


def _adds(path: str) -> str:
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
        "@@ -0,0 +1,2 @@\n+def test_new():\n+    assert True\n"
    )


def _bad_candidate(parent: str, bad: str) -> Candidate:
    """A hand-made candidate at `parent` whose `bad` part changes a line the parent does not have."""
    if bad == "patch":
        patch, test_patch, test_file = (
            _changes("calc/ops.py", "no such line"),
            _adds("tests/test_new.py"),
            "tests/test_new.py",
        )
    else:
        patch, test_patch, test_file = (
            _adds("calc/extra.py"),
            _changes("tests/test_ops.py", "no such line"),
            "tests/test_ops.py",
        )
    return Candidate(
        sha="f" * 40,
        parent=parent,
        subject="Hand-made",
        body="",
        created_at="2024-06-01T00:00:00+00:00",
        patch=patch,
        test_patch=test_patch,
        files=["calc/ops.py"],
        lines=2,
        test_files=[test_file],
    )


@pytest.mark.docker
@pytest.mark.parametrize(
    ("bad", "detail"),
    [
        ("patch", "the patch does not apply at the parent (git apply failed)"),
        ("test_patch", "the test patch does not apply at the parent (git apply failed)"),
    ],
)
def test_a_candidate_whose_patch_does_not_apply_is_skipped(tmp_path, bad, detail):
    repo = tmp_path / "calc"
    shas = make_history(repo, HISTORY[:1])
    result = mine(
        [_bad_candidate(shas[0], bad)],
        MineSettings(repo=open_repo(repo), timeout_s=60),
        sandbox_factory(config_in(tmp_path / "home"), "test-mine"),
        describe=lambda candidate: problem_statement(candidate, None),
        classify=lambda task, labels: "bug_fix",
    )
    assert (result.tasks, [(skip.reason, skip.detail) for skip in result.skips]) == ([], [("does_not_apply", detail)])


@pytest.mark.docker
def test_a_sandbox_that_cannot_be_made_is_an_environment_error(tmp_path):
    repo = tmp_path / "calc"
    shas = make_history(repo, HISTORY[:2])
    config = config_in(tmp_path / "home", **{"sandbox.image": "agent-no-such-image:missing"})
    result = mine(
        candidates(repo, shas[::-1]),
        MineSettings(repo=open_repo(repo)),
        sandbox_factory(config, "test-mine"),
        describe=lambda candidate: problem_statement(candidate, None),
        classify=lambda task, labels: "bug_fix",
    )
    assert (result.tasks, result.skipped()["environment_error"]) == ([], 1)
    assert "agent-no-such-image:missing" in result.skips[0].detail


# --- the command, end to end ----------------------------------------------------------------------
@pytest.mark.docker
def test_agent_tasks_mine_writes_a_suite_the_oracle_resolves_and_null_does_not(tmp_path):
    repo = tmp_path / "calc"
    shas = make_history(repo, HISTORY[:5])
    before = (fingerprint(repo), refs(repo))
    out = tmp_path / "mined.jsonl"
    done = run_agent(tmp_path, "tasks", "mine", str(repo), "--range", f"{shas[0]}..HEAD", "--out", str(out), "--json")
    assert done.code == 0, done.stderr
    ids = [f"calc__{shas[4][:10]}", f"calc__{shas[1][:10]}"]
    summary = json.loads(done.stdout)
    assert {key: summary[key] for key in ("kept", "skipped", "out", "tasks", "commits", "candidates")} == {
        "kept": 2,
        "skipped": {"does_not_apply": 0, "environment_error": 0, "tests_cannot_run": 0, "no_fail_to_pass": 0},
        "out": str(out),
        "tasks": ids,
        "commits": 4,
        "candidates": 2,
    }
    assert [task.instance_id for task in load_tasks(str(out), tmp_path)] == ids
    line = json.loads(out.read_text().splitlines()[1])
    assert {key: line[key] for key in ("repo", "repo_path", "base_commit", "FAIL_TO_PASS", "PASS_TO_PASS")} == {
        "repo": "local/calc",
        "repo_path": str(repo.resolve()),
        "base_commit": shas[0],
        "FAIL_TO_PASS": ["tests/test_ops.py::test_add"],
        "PASS_TO_PASS": ["tests/test_ops.py::test_add_zero"],
    }
    for model, resolved in (("oracle", ids), ("null", [])):
        bench = run_agent(tmp_path, "bench", str(out), "--model", model, "--effort", "max", "--json")
        assert bench.code == 0, bench.stderr
        result = json.loads(bench.stdout)
        assert (sorted(result["resolved_ids"]), result["error_ids"]) == (sorted(resolved), [])
    assert (fingerprint(repo), refs(repo)) == before


@pytest.mark.docker
def test_agent_tasks_mine_prints_a_summary_table_and_writes_next_to_the_caller(tmp_path):
    repo = tmp_path / "calc"
    shas = make_history(repo, HISTORY[:6])
    here = tmp_path / "here"
    here.mkdir()
    done = run_agent(tmp_path, "tasks", "mine", str(repo), "--limit", "2", cwd=here)
    assert done.returncode == 0, done.stderr
    written = here / "calc-mined.jsonl"
    assert [json.loads(line)["instance_id"] for line in written.read_text().splitlines()] == [f"calc__{shas[4][:10]}"]
    assert f"wrote 1 task(s) to {written}: run them with `agent bench {written}`" in " ".join(done.stdout.split())
    rows = [" ".join(line.strip("│ ").split()) for line in done.stdout.splitlines() if "│" in line]
    assert rows == [
        "kept │ 1",
        "skipped: patch does not apply │ 0",
        "skipped: environment │ 0",
        "skipped: tests cannot run │ 0",
        "skipped: no FAIL_TO_PASS test │ 1 │ no test goes from failing to passing 1; "
        f"first {shas[5][:10]} Simplify add(): {NO_FAIL_TO_PASS}",
    ]
    progress = [line for line in done.stderr.splitlines() if line.startswith("[")]
    assert (
        progress
        == [  # piped: one line per candidate, as it is checked
            f"[1/2] {shas[5][:10]} Simplify add() -> skipped: no FAIL_TO_PASS test "
            "(no test goes from failing to passing)",
            f"[2/2] {shas[4][:10]} Fix mul() adding instead of multiplying -> kept (1 FAIL_TO_PASS, bug_fix)",
        ]
    )


# --- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{tmp}"], "error: {tmp} is not a git repository: pass the path of one (a clone with its history)"),
        (
            ["{repo}", "--range", "nope..HEAD"],
            "error: bad --range 'nope..HEAD' (fatal: bad revision 'nope..HEAD'): "
            "give a revision range such as HEAD~50..HEAD or v1.0..main",
        ),
        (["{repo}", "--limit", "0"], "error: --limit 0: give a number of candidate commits of 1 or more"),
        (["{repo}", "--max-tasks", "0"], "error: --max-tasks 0: give a number of tasks of 1 or more"),
        (
            ["{repo}", "--sandbox", "local", "--setup", "pip install x"],
            "error: --setup and --image build a Docker environment: leave them out with --sandbox local",
        ),
    ],
    ids=["not-a-repository", "bad-range", "limit-0", "max-tasks-0", "setup-without-docker"],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    repo = tmp_path / "calc"
    make_history(repo, HISTORY[:1])
    (tmp_path / "plain").mkdir()
    fill = {"tmp": str(tmp_path / "plain"), "repo": str(repo)}
    done = run_agent(tmp_path, "tasks", "mine", *[arg.format(**fill) for arg in args])
    assert (done.code, done.stderr.strip(), done.stdout) == (2, message.format(**fill), "")


def test_no_candidate_is_not_an_error(tmp_path):
    repo = tmp_path / "calc"
    make_history(repo, [HISTORY[0], HISTORY[2], HISTORY[3]])
    done = run_agent(tmp_path, "tasks", "mine", str(repo), "--sandbox", "local", "--json")
    assert (done.code, done.stdout) == (0, "")  # --json without --out: the tasks (none) on stdout
    summary = json.loads(done.stderr.strip().splitlines()[-1])
    assert (summary["kept"], summary["out"], summary["commits"], summary["candidates"]) == (0, "-", 3, 0)
    plain = run_agent(tmp_path, "tasks", "mine", str(repo), "--sandbox", "local")
    assert plain.code == 0
    assert "no candidate in HEAD: none of its 3 commit(s) changes source and tests" in plain.stdout
