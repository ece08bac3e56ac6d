"""The history walk behind `agent tasks mine`, with git only: what a test file is at each commit (the
repository's pytest settings, tox and CI commands, common names), merges that hide the fix commits,
the problem statement from the merge that brought a commit, and the planner typing each kept task
(a classifier model's calls billed and recorded like `agent fix`'s)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from agent.bench.mining_setup import MINED, PlannerClassifier
from agent.engine.planner import classify_by_rules
from agent.ledger import Ledger
from tasks.history import Merges, candidates, open_repo, problem_statement, range_commits
from tasks.test_files import TestLayout, layout_from
from tests.mining_helpers import commit, merge
from tests.repo_helpers import git
from tests.task_file_helpers import mined_task

OPS = "def add(a, b):\n    return {}\n"
TEST = "from ops import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


@pytest.mark.parametrize(
    ("files", "layout"),
    [
        ({}, TestLayout()),
        (
            {"pytest.ini": "[pytest]\ntestpaths = checks\n    more/\npython_files = check_*.py\n"},
            TestLayout(testpaths=("checks", "more"), patterns=("test_*.py", "*_test.py", "check_*.py")),
        ),
        (
            {"pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["spec"]\npython_files = "*_spec.py"\n'},
            TestLayout(testpaths=("spec",), patterns=("test_*.py", "*_test.py", "*_spec.py")),
        ),
        (
            {"setup.cfg": "[metadata]\nname = x\n\n[tool:pytest]\npython_files = tst_*.py test_*.py\n"},
            TestLayout(patterns=("test_*.py", "*_test.py", "tst_*.py")),
        ),
        (
            {"tox.ini": "[pytest]\ntestpaths = itest\n\n[testenv]\ncommands =\n    python slug_tests.py\n"},
            TestLayout(testpaths=("itest",), named=frozenset({"slug_tests.py"})),
        ),
        (
            {".github/workflows/ci.yml": "steps:\n  - run: python ./checks/slugtest.py runtests.py\n"},
            TestLayout(named=frozenset({"checks/slugtest.py"})),
        ),
        ({"pyproject.toml": "[tool.pytest.ini_options\n", "tox.ini": "[pytest\n"}, TestLayout()),  # unreadable
    ],
    ids=["defaults", "pytest.ini", "pyproject", "setup.cfg", "tox", "ci-workflow", "unparsable"],
)
def test_the_layout_comes_from_every_file_pytest_and_the_test_commands_read(files, layout):
    assert layout_from(files) == layout


@pytest.mark.parametrize(
    ("path", "is_test", "is_module"),
    [
        ("test.py", True, True),
        ("pkg/tests.py", True, True),
        ("checks/helpers.py", True, False),
        ("checks/check_ops.py", True, True),
        ("check_ops.py", True, True),
        ("slug_tests.py", False, False),
        ("tox_tests.py", True, True),
        ("pkg/ops.py", False, False),
        ("src/pkg/markers.py", False, False),  # dep-logic: testpaths = ["src/", "tests/"] for its doctests
        ("src/pkg/check_markers.py", True, True),
    ],
)
def test_a_layout_says_which_files_are_tests_and_which_hold_tests_to_run(path, is_test, is_module):
    layout = TestLayout(testpaths=("checks", "src"), patterns=("check_*.py",), named=frozenset({"tox_tests.py"}))
    assert (layout.is_test_file(path), layout.is_test_module(path)) == (is_test, is_module)


def test_a_root_test_py_and_the_commits_own_testpaths_make_candidates(tmp_path):
    repo = tmp_path / "slug"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    base = commit(repo, "initial", {"ops.py": OPS.format("a - b"), "test.py": TEST}, 1)
    root_test = commit(repo, "Fix add()", {"ops.py": OPS.format("a + b"), "test.py": TEST + "\n# more\n"}, 2)
    unconfigured = commit(
        repo, "Check sub()", {"ops.py": OPS.format("a + b") + "# sub\n", "checks/ops_check.py": ""}, 3
    )
    config = {"pytest.ini": "[pytest]\ntestpaths = checks\npython_files = *_check.py\n"}
    configured = commit(repo, "Check mul()", {**config, "ops.py": "# mul\n", "checks/ops_check.py": "# mul\n"}, 4)
    found = list(candidates(repo, range_commits(repo, "HEAD")))
    assert [(c.sha, c.files, c.test_files) for c in found] == [
        (configured, ["ops.py", "pytest.ini"], ["checks/ops_check.py"]),
        (root_test, ["ops.py"], ["test.py"]),
    ]
    assert unconfigured not in [c.sha for c in found]  # no pytest.ini yet: checks/ops_check.py is source
    assert found[-1].parent == base


def _pull_request_history(repo: Path) -> dict[str, str]:
    """main: initial, an unrelated change, then the merge of a branch holding the fix (a pull request)."""
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    shas = {"initial": commit(repo, "initial", {"ops.py": OPS.format("a - b"), "tests/test_ops.py": ""}, 1)}
    git(repo, "checkout", "-q", "-b", "fix-add")
    shas["fix"] = commit(repo, "Fix add()", {"ops.py": OPS.format("a + b"), "tests/test_ops.py": TEST}, 2)
    git(repo, "checkout", "-q", "main")
    shas["docs"] = commit(repo, "Document add()", {"README.md": "add\n"}, 3)
    message = "Merge pull request #12 from acme/fix-add\n\nadd() returned the difference of its arguments"
    shas["merge"] = merge(repo, "fix-add", message, 4)
    return shas


def test_a_merge_hides_no_fix_and_the_fix_is_counted_once(tmp_path):
    repo = tmp_path / "calc"
    shas = _pull_request_history(repo)
    assert range_commits(repo, "HEAD") == [shas["merge"], shas["docs"], shas["fix"], shas["initial"]]
    [found] = candidates(repo, range_commits(repo, "HEAD"))
    assert (found.sha, found.parent, found.files, found.test_files) == (
        shas["fix"],
        shas["initial"],
        ["ops.py"],
        ["tests/test_ops.py"],
    )
    assert [c.sha for c in candidates(repo, range_commits(repo, f"{shas['docs']}..HEAD"))] == [shas["fix"]]


def test_the_statement_is_the_pull_requests_merge_message_then_the_commits(tmp_path):
    repo = tmp_path / "calc"
    shas = _pull_request_history(repo)
    [found] = candidates(repo, range_commits(repo, "HEAD"))
    merged_by = Merges(repo, "HEAD").message_for(found.sha)
    statement = problem_statement(found, None, merged_by)
    assert statement.text == (
        "Merge pull request #12 from acme/fix-add\n\nadd() returned the difference of its arguments\n\nFix add()"
    )
    assert Merges(repo, f"{shas['initial']}..{shas['docs']}").message_for(shas["docs"]) is None  # no merge


def test_a_merge_is_the_candidate_when_its_branch_splits_tests_and_fix(tmp_path):
    repo = tmp_path / "calc"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    initial = commit(repo, "initial", {"ops.py": OPS.format("a - b"), "tests/test_ops.py": ""}, 1)
    git(repo, "checkout", "-q", "-b", "fix-add")
    commit(repo, "Test add()", {"tests/test_ops.py": TEST}, 2)
    commit(repo, "Fix add()", {"ops.py": OPS.format("a + b")}, 3)
    git(repo, "checkout", "-q", "main")
    merged = merge(repo, "fix-add", "Merge branch 'fix-add'", 4)
    [found] = candidates(repo, range_commits(repo, "HEAD"))
    assert (found.sha, found.parent, found.files, found.test_files) == (
        merged,
        initial,
        ["ops.py"],
        ["tests/test_ops.py"],
    )
    assert Merges(repo, "HEAD").message_for(merged) is None  # a merge brings itself nowhere


@pytest.mark.parametrize(
    ("message", "labels", "task_type"),
    [
        ("feat(slug): an allow_unicode flag", ["feature"], "feature"),
        ("fix: stopwords keep their capitals", ["bug"], "bug_fix"),
        ("refactor!: one regex module", ["refactor"], "multi_file_refactor"),
        ("Release 6.1.0\n\n- Add `allow_unicode` flag", [], "bug_fix"),
    ],
)
def test_a_conventional_commit_type_is_a_label_the_planner_reads(tmp_path, message, labels, task_type):
    repo = tmp_path / "calc"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "initial", {"ops.py": OPS.format("a - b"), "test_ops.py": ""}, 1)
    commit(repo, message, {"ops.py": OPS.format("a + b"), "test_ops.py": TEST}, 2)
    [found] = candidates(repo, range_commits(repo, "HEAD"))
    statement = problem_statement(found, None)
    assert (statement.labels, classify_by_rules(statement.text, statement.labels).task_type) == (labels, task_type)


def test_a_classifier_models_calls_are_priced_charged_and_recorded_under_a_mine_run(
    tmp_path, make_fake, fake_env, make_config
):
    fake = make_fake({"rules": [{"model": "claude-haiku-*", "turns": [{"text": "complex_bug"}]}]})
    config = make_config(planner__classifier_model="claude-haiku-4-5")
    classifier = PlannerClassifier(config, fake_env(fake), open_repo(_repo(tmp_path)))
    assert [classifier(mined_task(name), []) for name in ("calc__1", "calc__2")] == ["complex_bug", "complex_bug"]
    classifier.close()
    ledger = Ledger(config.ledger_path)
    [run] = ledger.runs()
    assert (run.kind, run.status) == ("mine", "finished")
    issues = ledger.issues(run.id)
    assert [(i.key, i.status, i.task_type, i.decided_by, i.error) for i in issues] == [
        ("calc__1", "skipped", "complex_bug", "model", MINED),
        ("calc__2", "skipped", "complex_bug", "model", MINED),
    ]
    calls = [call for issue in issues for call in ledger.issue_calls(issue.id)]
    assert [(call.purpose, call.model) for call in calls] == [("classify", "claude-haiku-4-5")] * 2
    billed = [
        request.usage["input_tokens"] * Decimal(1) + request.usage["output_tokens"] * 5 for request in fake.requests
    ]
    assert [call.cost_usd for call in calls] == [usd / 1_000_000 for usd in billed]
    assert ledger.spent(run.id) == sum(billed) / 1_000_000


def test_without_a_classifier_model_the_rules_decide_and_nothing_is_recorded(tmp_path, make_config):
    config = make_config()
    classifier = PlannerClassifier(config, {}, open_repo(_repo(tmp_path)))
    assert classifier(mined_task("calc__1"), ["enhancement"]) == "feature"
    classifier.close()
    assert not config.ledger_path.exists() or Ledger(config.ledger_path).runs() == []


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "calc"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "initial", {"ops.py": OPS.format("a - b")}, 1)
    return repo
